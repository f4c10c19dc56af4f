//! Property tests: whatever the file holds, parsing ends in a configuration or
//! a located error, never a panic.

use std::path::Path;

use proptest::prelude::*;
use serde_json::{Map, Number, Value};

use crate::config::locate::{Segment, locate};
use crate::config::parse;

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
            include_str!("../../examples/demo.json"),
            include_str!("../../examples/demo-windows.json"),
            include_str!("../../examples/claude.json"),
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
        include_str!("../../examples/demo.json"),
        include_str!("../../examples/demo-windows.json"),
        include_str!("../../examples/claude.json"),
    ] {
        let config = parse(Path::new("example.json"), example).unwrap();
        assert!(!config.instances.is_empty());
    }
}
