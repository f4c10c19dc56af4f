//! Reading variables: one warning per bad value, never an error.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem found in the environment. Printed once, never fatal.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigWarning {
    /// The variable.
    pub variable: &'static str,
    /// The value found.
    pub value: String,
    /// What would have been accepted, and what is used instead.
    pub expected: String,
    /// The file the value was read from, and its field, when it came from a
    /// file (`variable` then says how the file was found).
    pub file: Option<(PathBuf, &'static str)>,
}

impl ConfigWarning {
    pub(crate) fn new(variable: &'static str, value: String, expected: String) -> ConfigWarning {
        ConfigWarning {
            variable,
            value,
            expected,
            file: None,
        }
    }

    /// The value was `field` of `file`.
    pub(crate) fn in_file(mut self, file: &Path, field: &'static str) -> ConfigWarning {
        self.file = Some((file.to_path_buf(), field));
        self
    }
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some((file, field)) => write!(
                f,
                "zen-telemetry: warning: {} (found by {}): field \"{field}\" = {:?} is not valid: expected {}",
                file.display(),
                self.variable,
                self.value,
                self.expected
            ),
            None => write!(
                f,
                "zen-telemetry: warning: {}={:?} is not valid: expected {}",
                self.variable, self.value, self.expected
            ),
        }
    }
}

/// Reads variables through a lookup function and collects the warnings.
pub(crate) struct EnvReader<'a> {
    pub(crate) lookup: &'a dyn Fn(&str) -> Option<String>,
    pub(crate) warnings: Vec<ConfigWarning>,
}

impl EnvReader<'_> {
    pub(crate) fn raw(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }

    pub(crate) fn non_empty(&self, name: &str) -> Option<String> {
        self.raw(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    pub(crate) fn warn(&mut self, variable: &'static str, value: String, expected: &str) {
        self.warnings
            .push(ConfigWarning::new(variable, value, expected.to_owned()));
    }

    /// `Some(true)`/`Some(false)` for a recognised flag, `None` when unset,
    /// empty or invalid (the caller keeps `default`, which the warning names).
    pub(crate) fn flag(&mut self, name: &'static str, default: bool) -> Option<bool> {
        let raw = self.non_empty(name)?;
        match parse_flag(&raw) {
            Some(value) => Some(value),
            None => {
                let using = if default { "on" } else { "off" };
                self.warn(name, raw, &format!("1/true/yes/on or 0/false/no/off; using {using}"));
                None
            }
        }
    }

    pub(crate) fn number<T: std::str::FromStr + Copy>(
        &mut self,
        name: &'static str,
        expected: &str,
        valid: impl Fn(T) -> bool,
    ) -> Option<T> {
        let raw = self.non_empty(name)?;
        match raw.parse::<T>() {
            Ok(value) if valid(value) => Some(value),
            _ => {
                self.warn(name, raw, &format!("{expected}; using the default"));
                None
            }
        }
    }
}

/// `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off` (any case, empty is off).
pub(crate) fn parse_flag(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

/// The `name=value,…` pairs of `variable` (names and values
/// percent-encoded, as the OTel specification writes headers and resource
/// attributes), each passed through `check`; `None` when unset. Bad pairs
/// are dropped with one warning naming each by position and why, never
/// echoing a value: a header's may be a secret.
pub(crate) fn decoded_pairs<T>(
    reader: &mut EnvReader<'_>,
    variable: &'static str,
    check: impl Fn(String, String) -> Result<T, &'static str>,
) -> Option<Vec<T>> {
    let raw = reader.non_empty(variable)?;
    let mut pairs = Vec::new();
    let mut problems = Vec::new();
    for (index, pair) in raw.split(',').enumerate() {
        match decoded_pair(pair).and_then(|(name, value)| check(name, value)) {
            Ok(pair) => pairs.push(pair),
            Err(problem) => problems.push(format!("pair {} {problem}", index + 1)),
        }
    }
    if !problems.is_empty() {
        reader.warn(
            variable,
            format!("({} pairs; values not shown)", raw.split(',').count()),
            &format!(
                "name=value pairs separated by commas, percent-encoded; dropped {}",
                problems.join(", ")
            ),
        );
    }
    Some(pairs)
}

fn decoded_pair(pair: &str) -> Result<(String, String), &'static str> {
    let pair = pair.trim();
    if pair.is_empty() {
        return Err("is empty");
    }
    let (name, value) = pair.split_once('=').ok_or("has no '='")?;
    let name = percent_decoded(name.trim()).ok_or("has a malformed percent-escape")?;
    let value = percent_decoded(value.trim()).ok_or("has a malformed percent-escape")?;
    Ok((name, value))
}

/// `text` with its `%XX` escapes decoded; `None` when an escape is
/// malformed (the decoder would pass it through as text) or the result is
/// not UTF-8.
fn percent_decoded(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let escapes_whole = bytes.iter().enumerate().filter(|(_, b)| **b == b'%').all(|(at, _)| {
        bytes
            .get(at + 1..at + 3)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !escapes_whole {
        return None;
    }
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}
