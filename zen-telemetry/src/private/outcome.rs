//! How a traced call ended, found from its return type by autoref
//! specialisation, so any `Result` (aliases included) is seen without the
//! macro knowing the type.

use std::fmt::{Debug, Display};

// `(&&&Wrap(&value)).__zen_outcome()` picks the most specific impl: method
// lookup tries the receiver with the fewest derefs first.

/// How a traced call ended.
#[derive(Debug)]
pub enum Outcome {
    /// Returned normally (or `Ok`).
    Ok,
    /// Returned `Err`.
    Err {
        /// The error's type name.
        type_name: &'static str,
        /// The error's `Display` (or `Debug`) text.
        message: Option<String>,
    },
}

/// Wraps a reference to a return value for outcome detection by type.
pub struct Wrap<'a, T: ?Sized>(pub &'a T);

// `Copy` so the by-value `NotResult` impl (the last autoderef step) can take
// `Wrap` out of the `&&&Wrap` receiver.
impl<T: ?Sized> Clone for Wrap<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: ?Sized> Copy for Wrap<'_, T> {}

/// `Result<T, E>` with `E: Display`.
pub trait ErrDisplay {
    /// The outcome.
    fn __zen_outcome(self) -> Outcome;
}
/// `Result<T, E>` with `E: Debug`.
pub trait ErrDebug {
    /// The outcome.
    fn __zen_outcome(self) -> Outcome;
}
/// Any other `Result<T, E>`.
pub trait ErrOpaque {
    /// The outcome.
    fn __zen_outcome(self) -> Outcome;
}
/// Anything that is not a `Result`.
pub trait NotResult {
    /// The outcome.
    fn __zen_outcome(self) -> Outcome;
}

impl<T, E: Display> ErrDisplay for &&&Wrap<'_, Result<T, E>> {
    fn __zen_outcome(self) -> Outcome {
        match self.0 {
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::Err {
                type_name: std::any::type_name::<E>(),
                message: Some(e.to_string()),
            },
        }
    }
}
impl<T, E: Debug> ErrDebug for &&Wrap<'_, Result<T, E>> {
    fn __zen_outcome(self) -> Outcome {
        match self.0 {
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::Err {
                type_name: std::any::type_name::<E>(),
                message: Some(format!("{e:?}")),
            },
        }
    }
}
impl<T, E> ErrOpaque for &Wrap<'_, Result<T, E>> {
    fn __zen_outcome(self) -> Outcome {
        match self.0 {
            Ok(_) => Outcome::Ok,
            Err(_) => Outcome::Err {
                type_name: std::any::type_name::<E>(),
                message: None,
            },
        }
    }
}
impl<T: ?Sized> NotResult for Wrap<'_, T> {
    fn __zen_outcome(self) -> Outcome {
        Outcome::Ok
    }
}
