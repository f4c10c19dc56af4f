//! How a traced call ended, found from its return type by autoref
//! specialisation, so any `Result` (aliases included) is seen without the
//! macro knowing the type.

use std::fmt::{Debug, Display};

// `(&&&Wrap(&value)).__zen_outcome()` picks the most specific impl: method
// lookup tries the receiver with the fewest derefs first.

/// How a traced call ended. The error is borrowed, and its text is only
/// formatted when the call's span is recorded: an unsampled call that
/// fails costs its metrics no allocation.
#[derive(Debug)]
pub enum Outcome<'a> {
    /// Returned normally (or `Ok`).
    Ok,
    /// Returned `Err`.
    Err {
        /// The error's type name.
        type_name: &'static str,
        /// The error, to format when the span is recorded.
        error: ErrorText<'a>,
    },
}

/// How to write a returned error's text.
pub enum ErrorText<'a> {
    /// With `Display`.
    Display(&'a dyn Display),
    /// With `Debug` (the error type has no `Display`).
    Debug(&'a dyn Debug),
    /// The error type has neither.
    Opaque,
}

impl Debug for ErrorText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ErrorText::Display(_) => "ErrorText::Display",
            ErrorText::Debug(_) => "ErrorText::Debug",
            ErrorText::Opaque => "ErrorText::Opaque",
        })
    }
}

impl ErrorText<'_> {
    /// The error's text, if its type can write one.
    pub(crate) fn format(&self) -> Option<String> {
        match self {
            ErrorText::Display(error) => Some(error.to_string()),
            ErrorText::Debug(error) => Some(format!("{error:?}")),
            ErrorText::Opaque => None,
        }
    }
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
pub trait ErrDisplay<'a> {
    /// The outcome.
    fn __zen_outcome(self) -> Outcome<'a>;
}
/// `Result<T, E>` with `E: Debug`.
pub trait ErrDebug<'a> {
    /// The outcome.
    fn __zen_outcome(self) -> Outcome<'a>;
}
/// Any other `Result<T, E>`.
pub trait ErrOpaque<'a> {
    /// The outcome.
    fn __zen_outcome(self) -> Outcome<'a>;
}
/// Anything that is not a `Result`.
pub trait NotResult<'a> {
    /// The outcome.
    fn __zen_outcome(self) -> Outcome<'a>;
}

impl<'a, T, E: Display> ErrDisplay<'a> for &&&Wrap<'a, Result<T, E>> {
    fn __zen_outcome(self) -> Outcome<'a> {
        match self.0 {
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::Err {
                type_name: std::any::type_name::<E>(),
                error: ErrorText::Display(e),
            },
        }
    }
}
impl<'a, T, E: Debug> ErrDebug<'a> for &&Wrap<'a, Result<T, E>> {
    fn __zen_outcome(self) -> Outcome<'a> {
        match self.0 {
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::Err {
                type_name: std::any::type_name::<E>(),
                error: ErrorText::Debug(e),
            },
        }
    }
}
impl<'a, T, E> ErrOpaque<'a> for &Wrap<'a, Result<T, E>> {
    fn __zen_outcome(self) -> Outcome<'a> {
        match self.0 {
            Ok(_) => Outcome::Ok,
            Err(_) => Outcome::Err {
                type_name: std::any::type_name::<E>(),
                error: ErrorText::Opaque,
            },
        }
    }
}
impl<'a, T: ?Sized> NotResult<'a> for Wrap<'a, T> {
    fn __zen_outcome(self) -> Outcome<'a> {
        Outcome::Ok
    }
}
