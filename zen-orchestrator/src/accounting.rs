//! Token, cost and tool accounting from Claude Code's `--output-format stream-json`.
//!
//! Usage is taken per assistant message and deduplicated by message id (Claude
//! Code repeats a message's usage on every content block). The `result`
//! event's `total_cost_usd` is used when present, else the cost is estimated
//! from a per-model price table. Malformed lines are counted and skipped.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

/// Token counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// `input_tokens`.
    pub input: u64,
    /// `output_tokens`.
    pub output: u64,
    /// `cache_read_input_tokens`.
    pub cache_read: u64,
    /// `cache_creation_input_tokens`.
    pub cache_creation: u64,
}

impl Usage {
    /// Every token processed (what token budgets count).
    pub fn total(&self) -> u64 {
        self.input
            .saturating_add(self.output)
            .saturating_add(self.cache_read)
            .saturating_add(self.cache_creation)
    }

    fn from_json(usage: &Value) -> Usage {
        let field = |name: &str| usage.get(name).and_then(Value::as_u64).unwrap_or(0);
        Usage {
            input: field("input_tokens"),
            output: field("output_tokens"),
            cache_read: field("cache_read_input_tokens"),
            cache_creation: field("cache_creation_input_tokens"),
        }
    }

    fn max(self, other: Usage) -> Usage {
        Usage {
            input: self.input.max(other.input),
            output: self.output.max(other.output),
            cache_read: self.cache_read.max(other.cache_read),
            cache_creation: self.cache_creation.max(other.cache_creation),
        }
    }

    fn add(self, other: Usage) -> Usage {
        Usage {
            input: self.input.saturating_add(other.input),
            output: self.output.saturating_add(other.output),
            cache_read: self.cache_read.saturating_add(other.cache_read),
            cache_creation: self.cache_creation.saturating_add(other.cache_creation),
        }
    }
}

/// Where a cost figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostSource {
    /// The `result` event's `total_cost_usd`.
    Reported,
    /// Estimated from the price table.
    Estimated,
    /// No usage seen.
    None,
}

impl CostSource {
    /// `reported`, `estimated` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            CostSource::Reported => "reported",
            CostSource::Estimated => "estimated",
            CostSource::None => "none",
        }
    }
}

/// Everything learnt from one instance's stream.
#[derive(Debug, Clone, Default)]
pub struct Accounting {
    per_message: HashMap<String, Usage>,
    anonymous: Usage,
    result_usage: Option<Usage>,
    seen_tool_ids: HashSet<String>,
    /// The model named by the stream (last seen).
    pub model: Option<String>,
    /// `tool_use` blocks per tool name.
    pub tools: BTreeMap<String, u64>,
    /// `total_cost_usd` of the `result` event.
    pub reported_cost: Option<f64>,
    /// Lines that were not JSON objects.
    pub malformed_lines: u64,
    /// JSON lines read.
    pub events: u64,
    /// The `result` event's `is_error`.
    pub result_is_error: Option<bool>,
    /// Tool results in which Claude Code was refused a permission, as it said it.
    pub permission_errors: Vec<String>,
    /// The tools each assistant message (by id) asked for.
    message_tools: HashMap<String, BTreeMap<String, u64>>,
}

/// What one tool cost an instance: its uses, and the tokens and cost of the
/// assistant messages that asked for it (shared evenly among a message's tools).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ToolUse {
    /// `tool_use` blocks.
    pub uses: u64,
    /// Tokens of the messages that used it, its share.
    pub tokens: u64,
    /// Their estimated cost in USD, its share.
    pub cost: f64,
}

/// What Claude Code says when it was not allowed a tool (Python Zen's list).
const PERMISSION_PHRASES: [&str; 4] = [
    "requires approval",
    "permission denied",
    "haven't granted it yet",
    "claude requested permissions",
];
/// The most of one refusal that is kept.
const PERMISSION_MESSAGE_CHARS: usize = 200;

impl Accounting {
    /// Reads one line of output. Returns true when the totals may have changed.
    pub fn ingest_line(&mut self, line: &str) -> bool {
        let line = line.trim();
        if line.is_empty() {
            return false;
        }
        let event: Value = match serde_json::from_str(line) {
            Ok(value @ Value::Object(_)) => value,
            _ => {
                self.malformed_lines += 1;
                return false;
            }
        };
        self.events += 1;
        if let Some(model) = event.get("model").and_then(Value::as_str) {
            self.model = Some(model.to_owned());
        }
        match event.get("type").and_then(Value::as_str) {
            Some("assistant") => {
                let Some(message) = event.get("message") else {
                    return false;
                };
                if let Some(model) = message.get("model").and_then(Value::as_str) {
                    self.model = Some(model.to_owned());
                }
                self.count_tools(message);
                if let Some(usage) = message.get("usage") {
                    let usage = Usage::from_json(usage);
                    match message.get("id").and_then(Value::as_str) {
                        Some(id) => {
                            let entry = self.per_message.entry(id.to_owned()).or_default();
                            *entry = entry.max(usage);
                        }
                        None => self.anonymous = self.anonymous.add(usage),
                    }
                }
                true
            }
            Some("user") => {
                self.find_permission_errors(&event);
                false
            }
            Some("result") => {
                if let Some(cost) = event.get("total_cost_usd").and_then(Value::as_f64)
                    && cost.is_finite()
                    && cost >= 0.0
                {
                    self.reported_cost = Some(cost);
                }
                if let Some(usage) = event.get("usage") {
                    self.result_usage = Some(Usage::from_json(usage));
                }
                self.result_is_error = event.get("is_error").and_then(Value::as_bool);
                true
            }
            _ => false,
        }
    }

    fn find_permission_errors(&mut self, event: &Value) {
        let blocks = event
            .pointer("/message/content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        for block in blocks {
            if block.get("type").and_then(Value::as_str) != Some("tool_result")
                || block.get("is_error").and_then(Value::as_bool) != Some(true)
            {
                continue;
            }
            let text = match block.get("content") {
                Some(Value::String(text)) => text.clone(),
                Some(Value::Array(parts)) => parts
                    .iter()
                    .filter_map(|part| part.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => continue,
            };
            let lower = text.to_lowercase();
            if PERMISSION_PHRASES.iter().any(|phrase| lower.contains(phrase)) {
                self.permission_errors
                    .push(text.chars().take(PERMISSION_MESSAGE_CHARS).collect());
            }
        }
    }

    fn count_tools(&mut self, message: &Value) {
        let Some(content) = message.get("content").and_then(Value::as_array) else {
            return;
        };
        for block in content {
            if block.get("type").and_then(Value::as_str) != Some("tool_use") {
                continue;
            }
            if let Some(id) = block.get("id").and_then(Value::as_str)
                && !self.seen_tool_ids.insert(id.to_owned())
            {
                continue;
            }
            let name = block.get("name").and_then(Value::as_str).unwrap_or("unknown");
            *self.tools.entry(name.to_owned()).or_default() += 1;
            if let Some(message_id) = message.get("id").and_then(Value::as_str) {
                *self
                    .message_tools
                    .entry(message_id.to_owned())
                    .or_default()
                    .entry(name.to_owned())
                    .or_default() += 1;
            }
        }
    }

    /// Token totals. When the stream had no assistant usage (e.g. `--output-format json`),
    /// the `result` event's usage is used.
    pub fn usage(&self) -> Usage {
        let summed = self.per_message.values().fold(self.anonymous, |acc, u| acc.add(*u));
        match self.result_usage {
            Some(result) if summed == Usage::default() => result,
            _ => summed,
        }
    }

    /// Number of `tool_use` blocks.
    pub fn tool_calls(&self) -> u64 {
        self.tools.values().sum()
    }

    /// Each tool's uses, and its share of the tokens and cost of the messages that used it.
    pub fn tool_usage(&self) -> BTreeMap<String, ToolUse> {
        let mut usage: BTreeMap<String, ToolUse> = self
            .tools
            .iter()
            .map(|(name, uses)| {
                (
                    name.clone(),
                    ToolUse {
                        uses: *uses,
                        ..ToolUse::default()
                    },
                )
            })
            .collect();
        for (message, tools) in &self.message_tools {
            let Some(tokens) = self.per_message.get(message) else {
                continue;
            };
            let share = tools.values().sum::<u64>() as f64;
            let cost = estimate_cost(self.model.as_deref(), *tokens);
            for (name, uses) in tools {
                let part = *uses as f64 / share;
                let entry = usage.entry(name.clone()).or_default();
                entry.tokens += (tokens.total() as f64 * part).round() as u64;
                entry.cost += cost * part;
            }
        }
        usage
    }

    /// The cost in USD and where it comes from.
    pub fn cost(&self) -> (f64, CostSource) {
        if let Some(cost) = self.reported_cost {
            return (cost, CostSource::Reported);
        }
        let usage = self.usage();
        if usage == Usage::default() {
            return (0.0, CostSource::None);
        }
        (estimate_cost(self.model.as_deref(), usage), CostSource::Estimated)
    }
}

/// A short human line for one stream-json event, for the live echo: the
/// assistant's text, tool calls, the result. `None` for events not worth a
/// line (tool results, unknown events); malformed lines are shown as they are.
pub fn describe_line(line: &str) -> Option<String> {
    let Ok(event) = serde_json::from_str::<Value>(line) else {
        return (!line.trim().is_empty()).then(|| line.to_owned());
    };
    let truncate = |text: &str| {
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if flat.chars().count() > 300 {
            format!("{}…", flat.chars().take(299).collect::<String>())
        } else {
            flat
        }
    };
    match event.get("type").and_then(Value::as_str) {
        Some("system") if event.get("subtype").and_then(Value::as_str) == Some("init") => {
            let model = event.get("model").and_then(Value::as_str).unwrap_or("unknown model");
            Some(format!("session started ({model})"))
        }
        Some("assistant") => {
            let content = event.pointer("/message/content").and_then(Value::as_array)?;
            let parts: Vec<String> = content
                .iter()
                .filter_map(|block| match block.get("type").and_then(Value::as_str) {
                    Some("text") => block.get("text").and_then(Value::as_str).map(truncate),
                    Some("tool_use") => Some(format!(
                        "-> {}",
                        block.get("name").and_then(Value::as_str).unwrap_or("tool")
                    )),
                    _ => None,
                })
                .filter(|part| !part.is_empty())
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        }
        Some("result") => {
            let subtype = event.get("subtype").and_then(Value::as_str).unwrap_or("done");
            let mut text = format!("result: {subtype}");
            if let Some(turns) = event.get("num_turns").and_then(Value::as_u64) {
                text.push_str(&format!(", {turns} turns"));
            }
            if let Some(cost) = event.get("total_cost_usd").and_then(Value::as_f64) {
                text.push_str(&format!(", ${cost:.4}"));
            }
            Some(text)
        }
        _ => None,
    }
}

/// USD per million tokens: (input, output). Cache reads cost 0.1× input, cache writes 1.25× input.
pub fn model_prices(model: Option<&str>) -> (f64, f64) {
    let model = model.unwrap_or("").to_ascii_lowercase();
    let newer_opus = ["opus-4-5", "opus-4-6", "opus-4-7", "opus-5"]
        .iter()
        .any(|m| model.contains(m));
    if model.contains("opus") {
        if newer_opus { (5.0, 25.0) } else { (15.0, 75.0) }
    } else if model.contains("haiku") {
        if model.contains("haiku-4") {
            (1.0, 5.0)
        } else if model.contains("3-5-haiku") || model.contains("haiku-3-5") {
            (0.8, 4.0)
        } else {
            (0.25, 1.25)
        }
    } else {
        // Sonnet, and the default for unknown models.
        (3.0, 15.0)
    }
}

/// Cache read price as a fraction of the input price.
pub const CACHE_READ_MULTIPLIER: f64 = 0.1;
/// Cache write price as a fraction of the input price.
pub const CACHE_WRITE_MULTIPLIER: f64 = 1.25;

/// Estimated USD cost of `usage` with `model`'s prices.
pub fn estimate_cost(model: Option<&str>, usage: Usage) -> f64 {
    let (input, output) = model_prices(model);
    let per_token = |price: f64| price / 1_000_000.0;
    usage.input as f64 * per_token(input)
        + usage.output as f64 * per_token(output)
        + usage.cache_read as f64 * per_token(input * CACHE_READ_MULTIPLIER)
        + usage.cache_creation as f64 * per_token(input * CACHE_WRITE_MULTIPLIER)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay(text: &str) -> Accounting {
        let mut accounting = Accounting::default();
        for line in text.lines() {
            accounting.ingest_line(line);
        }
        accounting
    }

    #[test]
    fn tools_get_the_tokens_of_the_messages_that_used_them() {
        let tools = replay(include_str!("../tests/fixtures/session.jsonl")).tool_usage();
        // msg_01 (13 500 tokens) used Read; msg_02 (5 650) used Read and Bash.
        assert_eq!(tools["Read"].uses, 2);
        assert_eq!(tools["Read"].tokens, 13_500 + 2_825);
        assert_eq!(tools["Bash"].uses, 1);
        assert_eq!(tools["Bash"].tokens, 2_825);
        assert!(tools["Bash"].cost > 0.0 && tools["Read"].cost > tools["Bash"].cost);
    }

    #[test]
    fn refused_tools_are_found_and_other_tool_errors_are_not() {
        let refused = replay(include_str!("../tests/fixtures/permission.jsonl"));
        assert_eq!(
            refused.permission_errors,
            ["Claude requested permissions to use Bash, but you haven't granted it yet."]
        );
        assert!(
            replay(include_str!("../tests/fixtures/session.jsonl"))
                .permission_errors
                .is_empty()
        );
        let other_error = r#"{"type":"user","message":{"content":[{"type":"tool_result","is_error":true,"content":[{"type":"text","text":"No such file"}]}]}}"#;
        assert!(replay(other_error).permission_errors.is_empty());
        let not_an_error = r#"{"type":"user","message":{"content":[{"type":"tool_result","content":"the docs say: permission denied means..."}]}}"#;
        assert!(
            replay(not_an_error).permission_errors.is_empty(),
            "only is_error results count"
        );
    }

    #[test]
    fn counts_tokens_tools_and_reported_cost() {
        let accounting = replay(include_str!("../tests/fixtures/session.jsonl"));
        assert_eq!(
            accounting.usage(),
            Usage {
                input: 1200,
                output: 350,
                cache_read: 20000,
                cache_creation: 3000
            }
        );
        assert_eq!(accounting.model.as_deref(), Some("claude-sonnet-4-5-20250929"));
        assert_eq!(accounting.tools.get("Read"), Some(&2));
        assert_eq!(accounting.tools.get("Bash"), Some(&1));
        assert_eq!(accounting.tool_calls(), 3);
        assert_eq!(accounting.cost(), (0.0421, CostSource::Reported));
        assert_eq!(accounting.malformed_lines, 0);
        assert_eq!(accounting.result_is_error, Some(false));
    }

    #[test]
    fn repeated_message_ids_are_counted_once() {
        let line = r#"{"type":"assistant","message":{"id":"m1","model":"claude-sonnet-4","content":[],"usage":{"input_tokens":10,"output_tokens":5}}}"#;
        let accounting = replay(&format!("{line}\n{line}\n{line}\n"));
        assert_eq!(accounting.usage().input, 10);
        assert_eq!(accounting.usage().output, 5);
    }

    #[test]
    fn malformed_lines_are_counted_and_skipped() {
        let accounting = replay(include_str!("../tests/fixtures/malformed.jsonl"));
        assert_eq!(accounting.malformed_lines, 3);
        assert_eq!(
            accounting.usage(),
            Usage {
                input: 100,
                output: 50,
                cache_read: 0,
                cache_creation: 0
            }
        );
    }

    #[test]
    fn cost_is_estimated_without_a_result_event() {
        let accounting = replay(include_str!("../tests/fixtures/no-result.jsonl"));
        let usage = accounting.usage();
        assert_eq!(
            usage,
            Usage {
                input: 1_000_000,
                output: 100_000,
                cache_read: 1_000_000,
                cache_creation: 100_000
            }
        );
        let (cost, source) = accounting.cost();
        assert_eq!(source, CostSource::Estimated);
        // opus 4.1: $15 in, $75 out; cache read 1.5, cache write 18.75 per million.
        let expected = 15.0 + 7.5 + 1.5 + 1.875;
        assert!((cost - expected).abs() < 1e-9, "{cost} != {expected}");
    }

    #[test]
    fn describes_events_for_the_echo() {
        let lines: Vec<Option<String>> = include_str!("../tests/fixtures/session.jsonl")
            .lines()
            .map(describe_line)
            .collect();
        assert_eq!(
            lines[0].as_deref(),
            Some("session started (claude-sonnet-4-5-20250929)")
        );
        assert_eq!(lines[1].as_deref(), Some("Let me look at the code."));
        assert_eq!(lines[2].as_deref(), Some("-> Read"));
        assert_eq!(lines[3], None);
        assert_eq!(lines[8].as_deref(), Some("result: success, 3 turns, $0.0421"));
        assert_eq!(describe_line("not json").as_deref(), Some("not json"));
    }

    #[test]
    fn price_table() {
        assert_eq!(model_prices(Some("claude-opus-4-1-20250805")), (15.0, 75.0));
        assert_eq!(model_prices(Some("claude-opus-4-5")), (5.0, 25.0));
        assert_eq!(model_prices(Some("claude-3-5-haiku-20241022")), (0.8, 4.0));
        assert_eq!(model_prices(Some("claude-haiku-4-5")), (1.0, 5.0));
        assert_eq!(model_prices(None), (3.0, 15.0));
    }
}
