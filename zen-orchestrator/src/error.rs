//! Errors that stop `zen` before or instead of a run (exit code 2).
//!
//! `Display` is deliberately terse and free of paths, keys and values: it is
//! what a failed span records. People get [`ZenError::message`].

use std::fmt;

use crate::config::ConfigError;

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
