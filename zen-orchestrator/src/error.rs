//! Errors that stop `zen` before or instead of a run (exit code 2).
//!
//! `Display` is deliberately terse and free of paths, keys and values: it is
//! what a failed span records. People get [`ZenError::message`].

use std::fmt;
use std::path::PathBuf;

/// Why `zen` could not run.
#[derive(Debug)]
pub enum ZenError {
    /// The configuration file is missing or wrong.
    Config(ConfigError),
    /// The command line or the environment does not allow a run.
    Usage(String),
}

impl ZenError {
    /// The full message for the terminal (may name files, keys and values).
    pub fn message(&self) -> String {
        match self {
            ZenError::Config(e) => e.to_string(),
            ZenError::Usage(message) => message.clone(),
        }
    }
}

impl fmt::Display for ZenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZenError::Config(e) => write!(f, "configuration error: {}", e.kind.as_str()),
            ZenError::Usage(_) => f.write_str("usage error"),
        }
    }
}

impl std::error::Error for ZenError {}

impl From<ConfigError> for ZenError {
    fn from(e: ConfigError) -> Self {
        ZenError::Config(e)
    }
}

/// A configuration problem, located in its file when possible.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// The configuration file.
    pub file: PathBuf,
    /// 1-based line and column, when known.
    pub location: Option<(usize, usize)>,
    /// What kind of problem (safe to record in telemetry).
    pub kind: ErrorKind,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Some((line, column)) => write!(f, "{}:{line}:{column}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Kinds of configuration problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file cannot be read.
    Unreadable,
    /// The file is not valid JSON.
    InvalidJson,
    /// A key that is neither known nor a `//` comment.
    UnknownKey,
    /// A value of the wrong type or out of range, or a missing required key.
    InvalidValue,
}

impl ErrorKind {
    /// `unreadable`, `invalid_json`, `unknown_key` or `invalid_value`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Unreadable => "unreadable",
            ErrorKind::InvalidJson => "invalid_json",
            ErrorKind::UnknownKey => "unknown_key",
            ErrorKind::InvalidValue => "invalid_value",
        }
    }
}
