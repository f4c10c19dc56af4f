//! Values a span attribute can take.

use std::borrow::Cow;

use opentelemetry::Value;

/// A value that can be a span attribute: what `attrs(...)` and
/// [`span_attributes!`](crate::span_attributes) accept.
///
/// Strings, bools, integers and floats (and references to them) are built in.
/// Implement it for a type of your own to record it without converting at
/// every call site; keep the value free of user text you would not export.
///
/// ```
/// use zen_telemetry::{AttrValue, traced};
/// use zen_telemetry::opentelemetry::Value;
///
/// #[derive(Clone, Copy)]
/// struct Tier(u8);
///
/// impl AttrValue for Tier {
///     fn into_value(self) -> Value {
///         Value::from(if self.0 > 1 { "premium" } else { "basic" })
///     }
/// }
///
/// #[traced(attrs(tier = tier))]
/// fn charge(tier: Tier) -> u32 {
///     u32::from(tier.0) * 10
/// }
/// # assert_eq!(charge(Tier(2)), 20);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a span attribute value",
    label = "not a string, bool, integer or float",
    note = "span attributes take &str, String, bool, integers and floats: convert with `.to_string()`, `as i64` or `as f64`"
)]
pub trait AttrValue {
    /// The OpenTelemetry value.
    fn into_value(self) -> Value;
}

impl AttrValue for &str {
    fn into_value(self) -> Value {
        Value::from(self.to_owned())
    }
}
impl AttrValue for String {
    fn into_value(self) -> Value {
        Value::from(self)
    }
}
impl AttrValue for &String {
    fn into_value(self) -> Value {
        Value::from(self.clone())
    }
}
impl AttrValue for Cow<'static, str> {
    fn into_value(self) -> Value {
        Value::from(self)
    }
}
impl AttrValue for bool {
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}
impl AttrValue for &bool {
    fn into_value(self) -> Value {
        Value::Bool(*self)
    }
}

macro_rules! small_ints {
    ($($t:ty),*) => {$(
        impl AttrValue for $t {
            fn into_value(self) -> Value { Value::I64(i64::from(self)) }
        }
        impl AttrValue for &$t {
            fn into_value(self) -> Value { Value::I64(i64::from(*self)) }
        }
    )*};
}
small_ints!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! wide_ints {
    ($($t:ty),*) => {$(
        impl AttrValue for $t {
            fn into_value(self) -> Value {
                // Values beyond i64 keep their exact digits as text.
                i64::try_from(self).map(Value::I64).unwrap_or_else(|_| Value::from(self.to_string()))
            }
        }
        impl AttrValue for &$t {
            fn into_value(self) -> Value { (*self).into_value() }
        }
    )*};
}
wide_ints!(u64, usize, isize, i128, u128);

impl AttrValue for f64 {
    fn into_value(self) -> Value {
        Value::F64(self)
    }
}
impl AttrValue for &f64 {
    fn into_value(self) -> Value {
        Value::F64(*self)
    }
}
impl AttrValue for f32 {
    fn into_value(self) -> Value {
        Value::F64(f64::from(self))
    }
}
impl AttrValue for &f32 {
    fn into_value(self) -> Value {
        Value::F64(f64::from(*self))
    }
}
