//! The JSON configuration file, compatible with the Python Zen's files.
//!
//! Keys beginning with `//` are comments, anywhere. Any other unknown key is an
//! error naming the key, the file, and its line and column (typo protection).
//! The `locate` submodule finds those positions.

#[cfg(test)]
mod fuzz;
mod locate;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ZenError;
pub use crate::error::{ConfigError, ErrorKind};
use locate::{Segment, locate, render_path};

/// One instance as written in the file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct InstanceConfig {
    /// Name shown in the status table (default `instance-N`).
    pub name: Option<String>,
    /// Slash command or prompt given to Claude Code.
    pub command: Option<String>,
    /// Prompt given to Claude Code (alternative to `command`).
    pub prompt: Option<String>,
    /// Free text, shown by `--dry-run`.
    pub description: Option<String>,
    /// `--allowedTools`.
    pub allowed_tools: Option<Vec<String>>,
    /// `--permission-mode` (default `bypassPermissions`).
    pub permission_mode: Option<String>,
    /// `--output-format` (default `stream-json`; for `program` instances, `stream-json` turns on accounting).
    pub output_format: Option<String>,
    /// `--session-id`.
    pub session_id: Option<String>,
    /// Start with `/clear`.
    pub clear_history: bool,
    /// Start with `/compact`.
    pub compact_history: bool,
    /// Commands sent before the main command.
    pub pre_commands: Vec<String>,
    /// Token budget of this instance.
    pub max_tokens_per_command: Option<u64>,
    /// Run this program instead of Claude Code.
    pub program: Option<String>,
    /// Arguments of `program`.
    pub args: Vec<String>,
    /// Kill the instance's process tree after this many seconds.
    pub timeout_secs: Option<f64>,
    /// Extra environment variables for the child.
    pub env: BTreeMap<String, String>,
}

/// The `budget` section.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BudgetConfig {
    /// Overall token budget.
    pub overall_budget: Option<u64>,
    /// Overall budget in USD.
    pub overall_cost_budget: Option<f64>,
    /// `tokens`, `cost` or `mixed`: which kinds of budget are enforced (unset: every budget that is set).
    pub budget_type: Option<String>,
    /// `warn` or `block`.
    pub enforcement_mode: Option<String>,
    /// Token budget per slash command (`"/review": 50000`).
    pub command_budgets: BTreeMap<String, u64>,
    /// USD budget per slash command.
    pub command_cost_budgets: BTreeMap<String, f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct TopLevel {
    instances: Vec<Value>,
    budget: Option<Value>,
    max_parallel: Option<usize>,
}

/// A loaded and validated configuration file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileConfig {
    /// The instances, in file order.
    pub instances: Vec<InstanceConfig>,
    /// The budget section.
    pub budget: BudgetConfig,
    /// Top-level `max_parallel`.
    pub max_parallel: Option<usize>,
}

/// Reads, parses and validates a configuration file.
#[zen_telemetry::traced("zen.config.load")]
pub fn load(path: &Path) -> Result<FileConfig, ZenError> {
    let source = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_owned(),
        location: None,
        kind: ErrorKind::Unreadable,
        message: format!("cannot read the configuration file: {e}"),
    })?;
    let config = parse(path, &source)?;
    zen_telemetry::span_attributes!(zen.config.instances = config.instances.len());
    Ok(config)
}

/// Parses configuration text; `path` is used in error messages.
pub fn parse(path: &Path, source: &str) -> Result<FileConfig, ConfigError> {
    let error = |location: Option<(usize, usize)>, message: String| ConfigError {
        file: path.to_owned(),
        location,
        kind: ErrorKind::InvalidValue,
        message,
    };
    let mut value: Value = serde_json::from_str(source).map_err(|e| {
        let message = strip_serde_position(&e.to_string());
        ConfigError {
            kind: ErrorKind::InvalidJson,
            // serde_json says column 0 for an error right after a newline; editors count from 1.
            ..error(
                Some((e.line().max(1), e.column().max(1))),
                format!("invalid JSON: {message}"),
            )
        }
    })?;
    strip_comments(&mut value);
    if !value.is_object() {
        return Err(error(
            Some((1, 1)),
            "the configuration must be a JSON object".to_owned(),
        ));
    }

    let top: TopLevel = deserialize_at(path, source, value, &[])?;
    let mut instances = Vec::with_capacity(top.instances.len());
    for (index, raw) in top.instances.into_iter().enumerate() {
        let at = [Segment::Key("instances".to_owned()), Segment::Index(index)];
        let instance: InstanceConfig = deserialize_at(path, source, raw, &at)?;
        validate_instance(&instance, index).map_err(|message| error(locate(source, &at), message))?;
        instances.push(instance);
    }
    if instances.is_empty() {
        return Err(error(
            None,
            "no instances: add at least one to \"instances\"".to_owned(),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (index, instance) in instances.iter().enumerate() {
        if let Some(name) = &instance.name
            && !seen.insert(name.clone())
        {
            let at = [Segment::Key("instances".to_owned()), Segment::Index(index)];
            return Err(error(locate(source, &at), format!("duplicate instance name {name:?}")));
        }
    }

    let budget: BudgetConfig = match top.budget {
        Some(raw) => deserialize_at(path, source, raw, &[Segment::Key("budget".to_owned())])?,
        None => BudgetConfig::default(),
    };
    if let Some(mode) = &budget.enforcement_mode
        && !matches!(mode.as_str(), "warn" | "block")
    {
        let at = [
            Segment::Key("budget".to_owned()),
            Segment::Key("enforcement_mode".to_owned()),
        ];
        return Err(error(
            locate(source, &at),
            format!("enforcement_mode must be \"warn\" or \"block\", not {mode:?}"),
        ));
    }
    if let Some(kind) = &budget.budget_type
        && !matches!(kind.as_str(), "tokens" | "cost" | "mixed")
    {
        let at = [
            Segment::Key("budget".to_owned()),
            Segment::Key("budget_type".to_owned()),
        ];
        return Err(error(
            locate(source, &at),
            format!("budget_type must be \"tokens\", \"cost\" or \"mixed\", not {kind:?}"),
        ));
    }
    if top.max_parallel == Some(0) {
        let at = [Segment::Key("max_parallel".to_owned())];
        return Err(error(locate(source, &at), "max_parallel must be at least 1".to_owned()));
    }
    Ok(FileConfig {
        instances,
        budget,
        max_parallel: top.max_parallel,
    })
}

fn validate_instance(instance: &InstanceConfig, index: usize) -> Result<(), String> {
    let label = match &instance.name {
        Some(name) => format!("instances[{index}] ({name:?})"),
        None => format!("instances[{index}]"),
    };
    if instance.command.is_some() && instance.prompt.is_some() {
        return Err(format!("{label}: set either \"command\" or \"prompt\", not both"));
    }
    if instance.program.is_none() && instance.command.is_none() && instance.prompt.is_none() {
        return Err(format!(
            "{label}: needs \"command\" or \"prompt\" (or \"program\" and \"args\" to run another CLI)"
        ));
    }
    if instance.program.as_deref().is_some_and(|p| p.trim().is_empty()) {
        return Err(format!("{label}: \"program\" is empty"));
    }
    if instance.program.is_none() && !instance.args.is_empty() {
        return Err(format!("{label}: \"args\" needs \"program\""));
    }
    if let Some(timeout) = instance.timeout_secs
        && !(timeout.is_finite() && timeout > 0.0)
    {
        return Err(format!("{label}: timeout_secs must be a positive number of seconds"));
    }
    if instance.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(format!("{label}: \"name\" is empty"));
    }
    Ok(())
}

/// Removes every object key that begins with `//`, at any depth.
fn strip_comments(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, _| !key.starts_with("//"));
            map.values_mut().for_each(strip_comments);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_comments),
        _ => {}
    }
}

/// serde_json appends " at line L column C"; we print the position ourselves.
fn strip_serde_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

fn deserialize_at<T: DeserializeOwned>(
    path: &Path,
    source: &str,
    value: Value,
    at: &[Segment],
) -> Result<T, ConfigError> {
    serde_json::from_value(value).map_err(|e| {
        let message = strip_serde_position(&e.to_string());
        let place = if at.is_empty() {
            "the top level".to_owned()
        } else {
            render_path(at)
        };
        if let Some(key) = unknown_field(&message) {
            let mut key_path = at.to_vec();
            key_path.push(Segment::Key(key.to_owned()));
            let expected = message.split_once(", expected ").map(|(_, rest)| rest).unwrap_or("");
            let hint = if expected.is_empty() {
                String::new()
            } else {
                format!("; expected {expected}")
            };
            ConfigError {
                file: path.to_owned(),
                location: locate(source, &key_path).or_else(|| locate(source, at)),
                kind: ErrorKind::UnknownKey,
                message: format!("unknown key {key:?} in {place}{hint} (keys beginning with // are comments)"),
            }
        } else {
            ConfigError {
                file: path.to_owned(),
                location: locate(source, at),
                kind: ErrorKind::InvalidValue,
                message: format!("in {place}: {message}"),
            }
        }
    })
}

fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split_once('`').map(|(key, _)| key)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn parse_str(source: &str) -> Result<FileConfig, ConfigError> {
        parse(Path::new("zen.json"), source)
    }

    #[test]
    fn comments_are_ignored_anywhere() {
        let config = parse_str(
            r#"{"// top": 1, "instances": [{"// why": "x", "name": "a", "command": "/go"}],
                "budget": {"// note": true, "overall_budget": 5}}"#,
        )
        .unwrap();
        assert_eq!(config.instances[0].command.as_deref(), Some("/go"));
        assert_eq!(config.budget.overall_budget, Some(5));
    }

    #[test]
    fn unknown_key_names_key_file_line_and_column() {
        let source =
            "{\n  \"instances\": [\n    {\"name\": \"a\", \"command\": \"/x\"},\n    {\"nmae\": \"b\"}\n  ]\n}";
        let err = parse_str(source).unwrap_err();
        assert_eq!(err.location, Some((4, 6)), "{err}");
        let text = err.to_string();
        assert!(
            text.starts_with("zen.json:4:6: unknown key \"nmae\" in instances[1]"),
            "{text}"
        );
    }

    #[test]
    fn unknown_top_level_and_budget_keys() {
        let err = parse_str("{\"instances\": [{\"command\": \"/x\"}], \"max_paralel\": 2}").unwrap_err();
        assert!(
            err.to_string().contains("unknown key \"max_paralel\" in the top level"),
            "{err}"
        );
        assert_eq!(err.location, Some((1, 36)));
        let err = parse_str("{\"instances\": [{\"command\": \"/x\"}],\n \"budget\": {\"overall\": 1}}").unwrap_err();
        assert!(err.to_string().contains("unknown key \"overall\" in budget"), "{err}");
        assert_eq!(err.location, Some((2, 13)));
    }

    #[test]
    fn invalid_json_reports_line_and_column() {
        let err = parse_str("{\n  \"instances\": [\n    {\"command\": \"/x\",}\n  ]\n}").unwrap_err();
        assert_eq!(err.location, Some((3, 22)), "{err}");
        assert!(err.message.starts_with("invalid JSON"), "{err}");
        // An error right after a newline still gets a 1-based column.
        let err = parse_str("\"\n").unwrap_err();
        assert_eq!(err.location.map(|(_, column)| column), Some(1), "{err}");
    }

    #[test]
    fn instance_needs_command_or_prompt() {
        let err = parse_str("{\"instances\": [{\"name\": \"lonely\"}]}").unwrap_err();
        assert!(err.message.contains("needs \"command\" or \"prompt\""), "{err}");
        assert_eq!(err.location, Some((1, 16)));
    }
}
