//! The JSON configuration file, compatible with the Python Zen's files.
//!
//! Keys beginning with `//` are comments, anywhere. Any other unknown key is an
//! error naming the key, the file, and its line and column (typo protection).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

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

/// One instance as written in the file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InstanceConfig {
    /// Name shown in the status table (default `instance-N`).
    #[serde(default)]
    pub name: Option<String>,
    /// Slash command or prompt given to Claude Code.
    #[serde(default)]
    pub command: Option<String>,
    /// Prompt given to Claude Code (alternative to `command`).
    #[serde(default)]
    pub prompt: Option<String>,
    /// Free text, shown by `--dry-run`.
    #[serde(default)]
    pub description: Option<String>,
    /// `--allowedTools`.
    #[serde(default)]
    pub allowed_tools: Option<Vec<String>>,
    /// `--permission-mode` (default `bypassPermissions`).
    #[serde(default)]
    pub permission_mode: Option<String>,
    /// `--output-format` (default `stream-json`; for `program` instances, `stream-json` turns on accounting).
    #[serde(default)]
    pub output_format: Option<String>,
    /// `--session-id`.
    #[serde(default)]
    pub session_id: Option<String>,
    /// Start with `/clear`.
    #[serde(default)]
    pub clear_history: bool,
    /// Start with `/compact`.
    #[serde(default)]
    pub compact_history: bool,
    /// Commands sent before the main command.
    #[serde(default)]
    pub pre_commands: Vec<String>,
    /// Token budget of this instance.
    #[serde(default)]
    pub max_tokens_per_command: Option<u64>,
    /// Run this program instead of Claude Code.
    #[serde(default)]
    pub program: Option<String>,
    /// Arguments of `program`.
    #[serde(default)]
    pub args: Vec<String>,
    /// Kill the instance's process group after this many seconds.
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// Extra environment variables for the child.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// The `budget` section.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    /// Overall token budget.
    #[serde(default)]
    pub overall_budget: Option<u64>,
    /// Overall budget in USD.
    #[serde(default)]
    pub overall_cost_budget: Option<f64>,
    /// `tokens`, `cost` or `mixed` (informational; every budget that is set is enforced).
    #[serde(default)]
    pub budget_type: Option<String>,
    /// `warn` or `block`.
    #[serde(default)]
    pub enforcement_mode: Option<String>,
    /// Token budget per slash command (`"/review": 50000`).
    #[serde(default)]
    pub command_budgets: BTreeMap<String, u64>,
    /// USD budget per slash command.
    #[serde(default)]
    pub command_cost_budgets: BTreeMap<String, f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopLevel {
    #[serde(default)]
    instances: Vec<Value>,
    #[serde(default)]
    budget: Option<Value>,
    #[serde(default)]
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
pub fn load(path: &Path) -> Result<FileConfig, crate::error::ZenError> {
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
pub fn strip_comments(value: &mut Value) {
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

/// One step of a path into a JSON document.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

fn render_path(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) if out.is_empty() => out.push_str(key),
            Segment::Key(key) => {
                out.push('.');
                out.push_str(key);
            }
            Segment::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

/// The 1-based line and column of `path` in JSON `source`: the key's opening
/// quote for a key, the value's first character for an array element.
pub fn locate(source: &str, path: &[Segment]) -> Option<(usize, usize)> {
    let mut scanner = Scanner {
        bytes: source.as_bytes(),
        pos: 0,
    };
    scanner.skip_ws();
    let offset = scanner.find(path)?;
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = source[line_start..offset].chars().count() + 1;
    Some((line, column))
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_ws();
        (self.peek()? == byte).then(|| self.pos += 1)
    }

    /// Reads a string token starting at the current `"`, returning it decoded.
    fn string(&mut self) -> Option<String> {
        let start = self.pos;
        if self.peek()? != b'"' {
            return None;
        }
        self.pos += 1;
        loop {
            match self.peek()? {
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    break;
                }
                _ => self.pos += 1,
            }
        }
        let raw = std::str::from_utf8(self.bytes.get(start..self.pos)?).ok()?;
        serde_json::from_str(raw).ok()
    }

    fn skip_value(&mut self) -> Option<()> {
        self.skip_ws();
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                self.pos += 1;
                loop {
                    self.skip_ws();
                    match self.peek()? {
                        b if b == close => {
                            self.pos += 1;
                            return Some(());
                        }
                        b',' | b':' => self.pos += 1,
                        _ => self.skip_value()?,
                    }
                }
            }
            _ => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
                {
                    self.pos += 1;
                }
                // A stray `}` or `]` is no value: consuming nothing and saying
                // `Some` made the callers' loops spin forever on `[}`.
                (self.pos > start).then_some(())
            }
        }
    }

    /// With the cursor at a value, finds `path` inside it.
    fn find(&mut self, path: &[Segment]) -> Option<usize> {
        self.skip_ws();
        let Some(first) = path.first() else {
            return Some(self.pos);
        };
        match (self.peek()?, first) {
            (b'{', Segment::Key(wanted)) => {
                self.pos += 1;
                let mut found = None;
                loop {
                    self.skip_ws();
                    match self.peek()? {
                        b'}' => return found,
                        b',' => self.pos += 1,
                        b'"' => {
                            let key_start = self.pos;
                            let key = self.string()?;
                            self.expect(b':')?;
                            if &key == wanted {
                                // The last duplicate wins, as in serde_json.
                                let mut probe = Scanner {
                                    bytes: self.bytes,
                                    pos: self.pos,
                                };
                                found = if path.len() == 1 {
                                    Some(key_start)
                                } else {
                                    probe.find(&path[1..])
                                };
                            }
                            self.skip_value()?;
                        }
                        _ => return found,
                    }
                }
            }
            (b'[', Segment::Index(wanted)) => {
                self.pos += 1;
                let mut index = 0;
                loop {
                    self.skip_ws();
                    match self.peek()? {
                        b']' => return None,
                        b',' => {
                            self.pos += 1;
                            index += 1;
                        }
                        _ if index == *wanted => return self.find(&path[1..]),
                        _ => self.skip_value()?,
                    }
                }
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn locate_gives_up_on_mismatched_brackets() {
        // These used to loop forever (found by the fuzz tests below).
        assert_eq!(locate("[}", &[Segment::Index(1)]), None);
        assert_eq!(
            locate("{\"a\": [}", &[Segment::Key("a".into()), Segment::Index(0)]),
            None
        );
        assert_eq!(locate("{\"a\": {]}", &[Segment::Key("b".into())]), None);
    }

    #[test]
    fn locate_handles_strings_with_braces() {
        let source = r#"{"a": "}{,[", "b": [1, {"c": "x\"y"}, {"d": 2}]}"#;
        let at = [Segment::Key("b".into()), Segment::Index(2), Segment::Key("d".into())];
        assert_eq!(locate(source, &at), Some((1, 40)));
    }
}

/// Property tests: whatever the file holds, parsing ends in a configuration or
/// a located error, never a panic. (zen is a binary, so they live here rather
/// than in an integration test that would have to start a process per case.)
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Map, Number};

    const INSTANCE_KEYS: &[&str] = &[
        "name",
        "command",
        "prompt",
        "description",
        "allowed_tools",
        "permission_mode",
        "output_format",
        "session_id",
        "clear_history",
        "compact_history",
        "pre_commands",
        "max_tokens_per_command",
        "program",
        "args",
        "timeout_secs",
        "env",
    ];
    const BUDGET_KEYS: &[&str] = &[
        "overall_budget",
        "overall_cost_budget",
        "budget_type",
        "enforcement_mode",
        "command_budgets",
        "command_cost_budgets",
    ];
    const TOP_KEYS: &[&str] = &["instances", "budget", "max_parallel"];

    /// Mostly keys the parser knows, so cases get past `deny_unknown_fields`.
    fn key(known: &'static [&'static str]) -> impl Strategy<Value = String> {
        prop_oneof![
            6 => prop::sample::select(known).prop_map(str::to_owned),
            1 => "//[ -~]{0,6}",
            1 => any::<String>(),
        ]
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            prop::sample::select(vec![0_i64, 1, 2, -1, 3600]).prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
            prop::sample::select(vec![
                "",
                " ",
                "/review",
                "sh",
                "warn",
                "block",
                "tokens",
                "cost",
                "mixed",
                "stream-json"
            ])
            .prop_map(Value::from),
            any::<String>().prop_map(Value::from),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((key(INSTANCE_KEYS), inner), 0..5).prop_map(object),
            ]
        })
    }

    fn object(entries: Vec<(String, Value)>) -> Value {
        Value::Object(entries.into_iter().collect::<Map<String, Value>>())
    }

    fn section(known: &'static [&'static str]) -> impl Strategy<Value = Value> {
        prop::collection::vec((key(known), value()), 0..7).prop_map(object)
    }

    /// Objects shaped like a configuration file, with arbitrary values.
    fn config_like() -> impl Strategy<Value = Value> {
        (
            prop::collection::vec(section(INSTANCE_KEYS), 0..4),
            section(BUDGET_KEYS),
            prop::collection::vec((key(TOP_KEYS), value()), 0..3),
            any::<bool>(),
        )
            .prop_map(|(instances, budget, extra, with_budget)| {
                let mut top = vec![("instances".to_owned(), Value::Array(instances))];
                if with_budget {
                    top.push(("budget".to_owned(), budget));
                }
                top.extend(extra);
                object(top)
            })
    }

    fn check(source: &str) -> Result<(), TestCaseError> {
        match parse(Path::new("zen.json"), source) {
            Ok(config) => {
                prop_assert!(!config.instances.is_empty());
                prop_assert_ne!(config.max_parallel, Some(0));
            }
            Err(error) => {
                prop_assert!(!error.message.is_empty());
                if let Some((line, column)) = error.location {
                    let lines = source.split('\n').count();
                    prop_assert!(line >= 1 && line <= lines + 1, "{error} in {} lines", lines);
                    prop_assert!(column >= 1, "{}", error);
                }
                // Displaying the error must not panic either.
                let _ = error.to_string();
            }
        }
        Ok(())
    }

    /// Replaces, inserts or deletes a character at a few places.
    fn mutate(source: &str, edits: &[(prop::sample::Index, u8, char)]) -> String {
        let mut chars: Vec<char> = source.chars().collect();
        for (at, op, ch) in edits {
            let i = at.index(chars.len() + 1);
            match op % 3 {
                0 if i < chars.len() => chars[i] = *ch,
                1 => chars.insert(i, *ch),
                _ if i < chars.len() => {
                    chars.remove(i);
                }
                _ => {}
            }
        }
        chars.into_iter().collect()
    }

    fn json_char() -> impl Strategy<Value = char> {
        prop_oneof![
            prop::sample::select(vec![
                '{', '}', '[', ']', '"', ',', ':', '\\', '/', '0', '-', 'e', ' ', '\n'
            ]),
            any::<char>(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn config_shaped_json_parses_or_fails_cleanly(value in config_like(), pretty in any::<bool>()) {
            let source = if pretty {
                serde_json::to_string_pretty(&value).unwrap()
            } else {
                value.to_string()
            };
            check(&source)?;
        }

        #[test]
        fn any_json_value_parses_or_fails_cleanly(value in value()) {
            check(&value.to_string())?;
        }

        #[test]
        fn arbitrary_text_parses_or_fails_cleanly(source in prop_oneof![any::<String>(), "[{}\\[\\]\":, 0-9a-z\\\\\n]{0,80}"]) {
            check(&source)?;
        }

        #[test]
        fn edited_examples_parse_or_fail_cleanly(
            example in prop::sample::select(vec![
                include_str!("../examples/demo.json"),
                include_str!("../examples/claude.json"),
            ]),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), json_char()), 1..4),
        ) {
            check(&mutate(example, &edits))?;
        }

        #[test]
        fn locate_never_panics(
            source in prop_oneof![any::<String>(), "[{}\\[\\]\":, 0-9a-z\\\\\n]{0,80}"],
            path in prop::collection::vec(
                prop_oneof![
                    key(INSTANCE_KEYS).prop_map(Segment::Key),
                    (0_usize..4).prop_map(Segment::Index),
                ],
                0..4,
            ),
        ) {
            if let Some((line, column)) = locate(&source, &path) {
                prop_assert!(line >= 1 && line <= source.split('\n').count());
                prop_assert!(column >= 1);
            }
        }
    }

    #[test]
    fn the_examples_parse() {
        for example in [
            include_str!("../examples/demo.json"),
            include_str!("../examples/claude.json"),
        ] {
            let config = parse(Path::new("example.json"), example).unwrap();
            assert!(!config.instances.is_empty());
        }
    }
}
