//! zen's own spans, read back from `--trace-file`: names, parenting (zen.run →
//! zen.instance → a span of the child process, joined through TRACEPARENT), and
//! every attribute key — zen's and those zen-telemetry adds — within the
//! allow-list of docs/telemetry-data.md, for a crafted run and for every
//! shipped example.
//!
//! These need the real `#[traced]` macro (zen-telemetry-macros).

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{Value, json};

fn read_spans(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// Every key in the first column of the span tables of docs/telemetry-data.md
/// (those before its `## Metrics` section).
fn documented_keys() -> BTreeSet<String> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/telemetry-data.md"))
        .expect("docs/telemetry-data.md");
    let spans = doc.split("\n## Metrics\n").next().unwrap_or(&doc);
    spans
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`').map(|(key, _)| key.to_owned()))
        .collect()
}

/// Each attribute key (span or event) of `spans` missing from `allowed`, with
/// the span that carried it.
fn undocumented_keys(spans: &[Value], allowed: &BTreeSet<String>) -> Vec<String> {
    let mut missing = Vec::new();
    for span in spans {
        let keys = span["attributes"].as_object().into_iter().flat_map(|a| a.keys());
        let event_keys = span["events"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|e| e["attributes"].as_object().into_iter().flat_map(|a| a.keys()));
        for key in keys.chain(event_keys) {
            if !allowed.contains(key) {
                missing.push(format!("{key} (on {})", span["name"]));
            }
        }
    }
    missing
}

#[test]
fn the_key_check_reports_an_undocumented_key() {
    let allowed = documented_keys();
    for key in [
        "zen.instance.name",
        "exception.type",
        "exception.message",
        "zen.cancelled",
    ] {
        assert!(allowed.contains(key), "{key} not parsed from the doc: {allowed:?}");
    }
    let spans = [json!({
        "name": "zen.instance",
        "attributes": {"zen.instance.name": "a", "zen.prompt.text": "x"},
        "events": [{"name": "exception", "attributes": {"exception.type": "E", "exception.stack": "s"}}],
    })];
    assert_eq!(
        undocumented_keys(&spans, &allowed),
        [
            "zen.prompt.text (on \"zen.instance\")",
            "exception.stack (on \"zen.instance\")"
        ]
    );
}

#[test]
fn every_example_emits_only_documented_keys() {
    let examples_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut examples: Vec<_> = std::fs::read_dir(&examples_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    examples.sort();
    assert!(examples.len() >= 2, "examples found: {examples:?}");
    let allowed = documented_keys();
    for example in &examples {
        let instances = read_json(example)["instances"].as_array().map_or(0, Vec::len);
        let dir = TempDir::new("example");
        let trace_file = dir.path("trace.jsonl");
        // Claude instances run the fake agent, which replays a real session.
        let out = run_command(example)
            .env_remove("ZEN_TELEMETRY_DISABLED")
            .env("FAKE_AGENT_FIXTURE", fixture("session.jsonl"))
            .current_dir(&dir.0)
            .arg("--trace-file")
            .arg(&trace_file)
            .output()
            .unwrap();
        assert_ne!(
            out.status.code(),
            Some(2),
            "{}: {}",
            example.display(),
            text(&out.stderr)
        );
        let spans = read_spans(&trace_file);
        let count = |name: &str| spans.iter().filter(|s| s["name"] == name).count();
        assert_eq!(count("zen.run"), 1, "{}: {spans:?}", example.display());
        assert_eq!(count("zen.instance"), instances, "{}", example.display());
        let missing = undocumented_keys(&spans, &allowed);
        assert!(
            missing.is_empty(),
            "{}: keys not in docs/telemetry-data.md: {missing:?}",
            example.display()
        );
    }
}

#[test]
fn spans_are_named_parented_and_carry_only_allow_listed_attributes() {
    let dir = TempDir::new("spans");
    let trace_file = dir.path("trace.jsonl");
    let child_trace = dir.path("child.jsonl");
    let child_env = |extra: &[(&str, &str)]| {
        let mut env = json!({
            "FAKE_AGENT_FIXTURE": fixture("session.jsonl"),
            "ZEN_TELEMETRY_EXPORTER": "file",
            "ZEN_TELEMETRY_FILE": child_trace.to_str().unwrap(),
            "ZEN_TELEMETRY_DISABLED": "0",
        });
        for (k, v) in extra {
            env[*k] = json!(v);
        }
        env
    };
    let config = dir.config(&json!({"instances": [
        {"name": "reviewer", "command": "/review secret-argument-xyz", "session_id": "session-secret-123",
         "env": child_env(&[("FAKE_AGENT_ENV_FILE", dir.path("traceparent").to_str().unwrap())])},
        {"name": "failing", "prompt": "a private prompt text", "env": child_env(&[("FAKE_AGENT_EXIT", "2")])},
    ], "budget": {"overall_budget": 1000000}}));
    let out = run_command(&config)
        .env_remove("ZEN_TELEMETRY_DISABLED")
        .arg("--trace-file")
        .arg(&trace_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));

    let spans = read_spans(&trace_file);
    assert!(
        !spans.is_empty(),
        "no spans in {}: is #[traced] (zen-telemetry-macros) still a placeholder?",
        trace_file.display()
    );
    let named = |name: &str| spans.iter().filter(|s| s["name"] == name).collect::<Vec<_>>();
    let run = named("zen.run");
    assert_eq!(run.len(), 1, "one zen.run span");
    let run = run[0];
    assert_eq!(run["parent_span_id"], Value::Null);
    let trace_id = &run["trace_id"];
    assert!(spans.iter().all(|s| &s["trace_id"] == trace_id), "one trace");
    for name in ["zen.config.load", "zen.command", "zen.budget.check", "zen.instance"] {
        let found = named(name);
        assert!(!found.is_empty(), "no {name} span");
        for span in found {
            assert_eq!(span["parent_span_id"], run["span_id"], "{name} is a child of zen.run");
        }
    }
    let instances = named("zen.instance");
    assert_eq!(instances.len(), 2);
    let reviewer = instances
        .iter()
        .find(|s| s["attributes"]["zen.instance.name"] == "reviewer")
        .unwrap();
    assert_eq!(reviewer["status"], "ok");
    assert_eq!(reviewer["attributes"]["zen.command.name"], "/review");
    assert_eq!(reviewer["attributes"]["zen.tokens.input"], 1200);
    assert_eq!(reviewer["attributes"]["zen.tools.calls"], 3);
    assert_eq!(reviewer["attributes"]["zen.instance.exit_code"], 0);
    assert_eq!(
        reviewer["attributes"]["zen.session.hash"].as_str().map(str::len),
        Some(12)
    );
    let failing = instances
        .iter()
        .find(|s| s["attributes"]["zen.instance.name"] == "failing")
        .unwrap();
    assert_eq!(failing["status"], "error");
    assert_eq!(failing["attributes"]["zen.instance.exit_code"], 2);

    // The child continued the trace through TRACEPARENT, under its zen.instance span.
    let traceparent = std::fs::read_to_string(dir.path("traceparent")).unwrap_or_default();
    let reviewer_span = reviewer["span_id"].as_str().unwrap();
    assert_eq!(
        traceparent,
        format!("00-{}-{reviewer_span}-01", trace_id.as_str().unwrap())
    );
    let child_spans = read_spans(&child_trace);
    let instance_ids: BTreeSet<&str> = instances.iter().filter_map(|s| s["span_id"].as_str()).collect();
    let replays: Vec<&Value> = child_spans
        .iter()
        .filter(|s| s["name"] == "fake_agent.replay")
        .collect();
    assert_eq!(replays.len(), 2, "one span per child: {child_spans:?}");
    for replay in replays {
        assert_eq!(&replay["trace_id"], trace_id);
        assert!(
            instance_ids.contains(replay["parent_span_id"].as_str().unwrap()),
            "{replay}"
        );
    }

    // Only allow-listed keys; never the prompt, its arguments, paths or env values.
    let allowed = documented_keys();
    assert!(allowed.contains("zen.instance.name"), "allow-list parsed: {allowed:?}");
    let missing = undocumented_keys(&spans, &allowed);
    assert!(missing.is_empty(), "keys not in docs/telemetry-data.md: {missing:?}");
    let raw = std::fs::read_to_string(&trace_file).unwrap();
    for secret in [
        "secret-argument-xyz",
        "session-secret-123",
        "private prompt",
        dir.0.to_str().unwrap(),
        "zen.json",
    ] {
        assert!(!raw.contains(secret), "{secret:?} leaked into the trace");
    }
}

#[test]
fn no_telemetry_records_nothing_and_passes_no_traceparent() {
    let dir = TempDir::new("notel");
    let env_file = dir.path("traceparent");
    let config = dir.config(&json!({"instances": [
        {"name": "a", "program": FAKE_AGENT, "args": ["--env-file", env_file.to_str().unwrap()],
         "env": {"ZEN_TELEMETRY_DISABLED": "1"}}
    ]}));
    let out = run_command(&config)
        .env_remove("ZEN_TELEMETRY_DISABLED")
        .env("ZEN_TELEMETRY_EXPORTER", "file")
        .env("ZEN_TELEMETRY_FILE", dir.path("should-not-exist.jsonl"))
        .env("TRACEPARENT", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        .arg("--no-telemetry")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!dir.path("should-not-exist.jsonl").exists());
    assert_eq!(
        std::fs::read_to_string(&env_file).unwrap(),
        "",
        "no TRACEPARENT reaches the child"
    );
}

/// The `### Metrics` tables of docs/telemetry-data.md: each metric name, and
/// each attribute key, in its first column.
#[cfg(unix)]
fn documented_metric_keys() -> BTreeSet<String> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/telemetry-data.md"))
        .expect("docs/telemetry-data.md");
    let section = doc
        .split_once("\n## Metrics\n")
        .map(|(_, rest)| rest.split("\n## ").next().unwrap_or(rest))
        .expect("a ## Metrics section in docs/telemetry-data.md");
    section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`').map(|(key, _)| key.to_owned()))
        .collect()
}

// The demo's programs are `sh` (Windows runs demo-windows.json in tests/run.rs).
#[cfg(unix)]
#[test]
fn the_demo_exports_usage_metrics_with_documented_names_and_keys_only() {
    let demo = common::example("demo.json");
    let dir = TempDir::new("usage-metrics");
    let trace_file = dir.path("demo-trace.jsonl");
    let out = run_command(&demo)
        .env_remove("ZEN_TELEMETRY_DISABLED")
        .current_dir(&dir.0)
        .arg("--trace-file")
        .arg(&trace_file)
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let metrics_file = dir.path("demo-trace.metrics.jsonl");
    let points: Vec<Value> = std::fs::read_to_string(&metrics_file)
        .unwrap_or_else(|e| panic!("{}: {e}; {}", metrics_file.display(), text(&out.stderr)))
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let value = |metric: &str, key: &str, want: &str| -> f64 {
        points
            .iter()
            .filter(|p| p["metric"] == metric && p["attributes"][key] == want)
            .map(|p| p["value"].as_f64().unwrap_or(0.0))
            .sum()
    };
    assert_eq!(
        value("zen.runs", "outcome", "failed"),
        1.0,
        "the demo has a failing instance"
    );
    let instances = read_json(&demo)["instances"].as_array().map_or(0, Vec::len);
    let ended: f64 = points
        .iter()
        .filter(|p| p["metric"] == "zen.instances")
        .map(|p| p["value"].as_f64().unwrap_or(0.0))
        .sum();
    assert_eq!(ended, instances as f64);
    assert_eq!(value("zen.instances", "status", "failed"), 1.0);
    assert_eq!(value("zen.tokens", "kind", "input"), 1800.0);
    assert_eq!(value("zen.tokens", "kind", "output"), 240.0);
    assert_eq!(value("zen.tokens", "kind", "cache_read"), 12000.0);
    assert_eq!(value("zen.tokens", "kind", "cache_write"), 900.0);
    let cost: f64 = points
        .iter()
        .filter(|p| p["metric"] == "zen.cost")
        .map(|p| p["value"].as_f64().unwrap_or(0.0))
        .sum();
    assert!((cost - 0.0128).abs() < 1e-9, "cost {cost}");
    let run = points
        .iter()
        .find(|p| p["metric"] == "function.calls" && p["attributes"]["function"] == "zen.run")
        .expect("zen's own traced functions are counted too");
    assert_eq!(run["attributes"]["module"], "zen_orchestrator::app");

    let allowed = documented_metric_keys();
    let instance_names: Vec<String> = read_json(&demo)["instances"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["name"].as_str().map(str::to_owned))
        .collect();
    for point in &points {
        let metric = point["metric"].as_str().unwrap_or_default();
        assert!(
            allowed.contains(metric),
            "metric {metric} is not in docs/telemetry-data.md"
        );
        for (key, value) in point["attributes"].as_object().into_iter().flatten() {
            assert!(
                allowed.contains(key),
                "{metric}: attribute {key} is not in docs/telemetry-data.md"
            );
            let value = value.as_str().unwrap_or_default();
            assert!(
                !instance_names.iter().any(|n| n == value),
                "{metric}: an instance name as {key}"
            );
        }
    }
}
