//! Whole-process behaviour through the `zen-probe` binary: opt-out costs
//! nothing, exporters deliver, the exit flush works and is bounded.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use zen_tests::collector::{Blackhole, FakeCollector};
use zen_tests::{TempDir, probe};

const PROBE: &str = env!("CARGO_BIN_EXE_zen-probe");

// The probe counts its threads and descriptors in /proc.
#[cfg(target_os = "linux")]
#[test]
fn opt_out_through_each_switch_costs_no_thread_file_socket_or_span() {
    let collector = FakeCollector::start();
    let endpoint = collector.endpoint();
    let switches: &[(&str, &[(&str, &str)])] = &[
        ("ZEN_TELEMETRY_DISABLED=1", &[("ZEN_TELEMETRY_DISABLED", "1")]),
        ("ZEN_TELEMETRY_DISABLED=true", &[("ZEN_TELEMETRY_DISABLED", "true")]),
        ("ZEN_TELEMETRY_DISABLED=junk", &[("ZEN_TELEMETRY_DISABLED", "junk")]),
        ("OTEL_SDK_DISABLED=true", &[("OTEL_SDK_DISABLED", "true")]),
        ("ZEN_TELEMETRY_EXPORTER=none", &[("ZEN_TELEMETRY_EXPORTER", "none")]),
    ];
    for (label, switch) in switches {
        for exporter in ["file", "otlp"] {
            let dir = TempDir::new(&format!("optout-{exporter}"));
            let file = dir.path().join("traces.jsonl");
            let file_str = file.display().to_string();
            let mut env: Vec<(&str, &str)> = vec![
                ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
                ("ZEN_TELEMETRY_FILE", &file_str),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
                ("ZEN_TELEMETRY_EXPORTER", exporter),
            ];
            // The switch comes last so it overrides the exporter choice.
            env.extend_from_slice(switch);
            let (output, _) = probe::run(PROBE, &["calls", "1000"], &env);
            assert!(output.status.success(), "{label}: {output:?}");
            let report = probe::json(&output);
            assert_eq!(report["enabled"], false, "{label}/{exporter}");
            assert_eq!(
                report["threads_before"], 1,
                "{label}/{exporter}: a thread existed at main"
            );
            assert_eq!(report["threads_after"], 1, "{label}/{exporter}: a thread was started");
            assert_eq!(
                report["fds_before"], report["fds_after"],
                "{label}/{exporter}: a file or socket was opened"
            );
            assert_eq!(report["recorded"], 0, "{label}/{exporter}");
            assert!(!file.exists(), "{label}/{exporter}: the trace file was created");
            let metrics_file = dir.path().join("traces.metrics.jsonl");
            assert!(
                !metrics_file.exists(),
                "{label}/{exporter}: the metrics file was created"
            );
        }
    }
    assert!(collector.metric_requests().is_empty(), "no metric point left");
    // No exporter configured at all behaves exactly like disabled.
    let (output, _) = probe::run(PROBE, &["calls", "1000"], &[("ZEN_TELEMETRY_SAMPLE_RATE", "1")]);
    let report = probe::json(&output);
    assert_eq!(report["enabled"], false);
    assert_eq!(report["threads_after"], 1);
    assert_eq!(report["fds_before"], report["fds_after"]);
    assert_eq!(report["recorded"], 0);
    // A run that is on, after all of those: once its spans arrive, anything
    // the earlier runs sent (each waited for its answers before it exited)
    // would have arrived before them.
    let (output, _) = probe::run(
        PROBE,
        &["calls", "1"],
        &[
            ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
            ("ZEN_TELEMETRY_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("ZEN_TELEMETRY_METRICS", "false"),
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let spans = collector.wait_for_spans(2, Duration::from_secs(10));
    assert_eq!(
        spans.len(),
        2,
        "only the enabled run's root and child reach the collector"
    );
}

#[test]
fn invalid_values_warn_once_each_and_never_panic() {
    // The invalid file falls back to the default `zen-traces.jsonl`, relative
    // to the working directory: run in a temp dir, not the package dir.
    let cwd = TempDir::new("invalid-values");
    let output = probe::command(
        PROBE,
        &["calls", "1000"],
        &[
            ("ZEN_TELEMETRY_SAMPLE_RATE", "NaN"),
            ("OTEL_BSP_SCHEDULE_DELAY", "soon"),
            ("ZEN_TELEMETRY_EXPORTER", "file"),
            ("ZEN_TELEMETRY_FILE", "/nonexistent-dir/x.jsonl"),
            ("ZEN_TELEMETRY_SHUTDOWN_TIMEOUT_MS", "500"),
        ],
    )
    .current_dir(cwd.path())
    .output()
    .expect("run the probe");
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for var in [
        "ZEN_TELEMETRY_SAMPLE_RATE",
        "OTEL_BSP_SCHEDULE_DELAY",
        "ZEN_TELEMETRY_FILE",
    ] {
        let count = stderr.lines().filter(|l| l.contains(var)).count();
        assert_eq!(count, 1, "{var} must be warned about once; stderr:\n{stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn read_jsonl(path: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

#[test]
fn file_exporter_writes_one_json_line_per_span_with_consistent_ids() {
    let dir = TempDir::new("file-exporter");
    let file = dir.path().join("traces.jsonl");
    let file_str = file.display().to_string();
    let (output, _) = probe::run(
        PROBE,
        &["spans", "5"],
        &[
            ("ZEN_TELEMETRY_EXPORTER", "file"),
            ("ZEN_TELEMETRY_FILE", &file_str),
            ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let spans = read_jsonl(&file);
    assert_eq!(spans.len(), 10, "5 roots + 5 children: {spans:#?}");
    let roots: Vec<_> = spans.iter().filter(|s| s["name"] == "probe.root").collect();
    let children: Vec<_> = spans.iter().filter(|s| s["name"] == "probe.child").collect();
    assert_eq!((roots.len(), children.len()), (5, 5));
    let root_ids: HashMap<String, String> = roots
        .iter()
        .map(|r| {
            (
                r["span_id"].as_str().unwrap().to_owned(),
                r["trace_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for span in &spans {
        for field in [
            "name",
            "trace_id",
            "span_id",
            "parent_span_id",
            "kind",
            "start_unix_nano",
            "end_unix_nano",
            "duration_ns",
            "status",
            "attributes",
            "events",
        ] {
            assert!(span.get(field).is_some(), "missing {field} in {span}");
        }
        assert_eq!(span["kind"], "internal");
        assert_eq!(span["status"], "ok");
        assert_eq!(span["trace_id"].as_str().unwrap().len(), 32);
        assert_eq!(span["span_id"].as_str().unwrap().len(), 16);
        let (start, end) = (
            span["start_unix_nano"].as_u64().unwrap(),
            span["end_unix_nano"].as_u64().unwrap(),
        );
        assert!(end >= start && start > 1_600_000_000_000_000_000);
        assert_eq!(span["duration_ns"].as_u64().unwrap(), end - start);
    }
    for root in &roots {
        assert!(root["parent_span_id"].is_null());
        assert_eq!(root["attributes"]["probe.kind"], "root");
    }
    let mut indexes = BTreeSet::new();
    for child in &children {
        let parent = child["parent_span_id"].as_str().expect("child has a parent");
        let trace = root_ids.get(parent).expect("the parent is one of the roots");
        assert_eq!(
            child["trace_id"].as_str().unwrap(),
            trace,
            "child shares its parent's trace"
        );
        indexes.insert(child["attributes"]["probe.index"].as_i64().unwrap());
    }
    assert_eq!(indexes, (0..5).collect());
}

/// The `probe.fail` spans of a `zen-probe fail 2` run with `env` added.
fn failed_spans(tag: &str, env: &[(&str, &str)]) -> (Vec<serde_json::Value>, String) {
    let dir = TempDir::new(tag);
    let file = dir.path().join("traces.jsonl");
    let file_str = file.display().to_string();
    let mut all_env = vec![
        ("ZEN_TELEMETRY_EXPORTER", "file"),
        ("ZEN_TELEMETRY_FILE", file_str.as_str()),
        ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
    ];
    all_env.extend_from_slice(env);
    let (output, _) = probe::run(PROBE, &["fail", "2"], &all_env);
    assert!(output.status.success(), "{output:?}");
    let raw = std::fs::read_to_string(&file).unwrap_or_default();
    let spans: Vec<_> = read_jsonl_text(&raw)
        .into_iter()
        .filter(|s| s["name"] == "probe.fail")
        .collect();
    assert_eq!(spans.len(), 2, "{raw}");
    (spans, raw)
}

fn read_jsonl_text(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

#[test]
fn exported_error_messages_are_scrubbed_and_can_be_turned_off_from_the_environment() {
    let (spans, raw) = failed_spans("errors-on", &[]);
    for span in &spans {
        assert_eq!(span["status"], "error");
        assert_eq!(span["status_message"], "login failed: password=[REDACTED] [EMAIL]");
        let event = &span["events"][0];
        assert_eq!(event["name"], "exception");
        assert_eq!(event["attributes"]["exception.message"], span["status_message"]);
    }
    assert!(!raw.contains("hunter2") && !raw.contains("user@example.com"), "{raw}");

    for value in ["false", "0", "off"] {
        let (spans, raw) = failed_spans("errors-off", &[("ZEN_TELEMETRY_ERROR_MESSAGES", value)]);
        for span in &spans {
            assert_eq!(span["status"], "error", "still marked as failed");
            assert_eq!(span["status_message"], "", "{value}: no text in the status");
            let attributes = span["events"][0]["attributes"].as_object().unwrap();
            let keys: Vec<&str> = attributes.keys().map(String::as_str).collect();
            assert_eq!(keys, ["exception.type"], "{value}: the type only");
            assert_eq!(attributes["exception.type"], "alloc::string::String");
        }
        assert!(!raw.contains("login failed"), "{value}: {raw}");
    }
}

/// The first column of the `### Resource` table of docs/telemetry-data.md:
/// the only resource keys that may leave the process.
fn documented_resource_keys() -> BTreeSet<String> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/telemetry-data.md"))
        .expect("docs/telemetry-data.md");
    let section = doc
        .split_once("\n### Resource\n")
        .map(|(_, rest)| rest.split("\n#").next().unwrap_or(rest))
        .expect("a ### Resource section in docs/telemetry-data.md");
    let keys: BTreeSet<String> = section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`').map(|(key, _)| key.to_owned()))
        .collect();
    assert!(keys.contains("service.name"), "resource table parsed: {keys:?}");
    keys
}

fn assert_delivered_with_resource(mode: &str) {
    let collector = FakeCollector::start();
    let endpoint = collector.endpoint();
    let (output, _) = probe::run(
        PROBE,
        &[mode, "3"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
            ("ZEN_SERVICE_NAME", "probe-svc"),
            ("ZEN_SERVICE_VERSION", "1.2.3"),
        ],
    );
    assert!(output.status.success(), "{output:?}");
    // The probe never calls shutdown(): the exit hook delivered these.
    let spans = collector.wait_for_spans(6, Duration::from_secs(5));
    assert_eq!(
        spans.len(),
        6,
        "{mode}: 3 roots + 3 children; stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let names: BTreeSet<_> = spans.iter().map(|s| s.span.name.clone()).collect();
    assert_eq!(
        names,
        BTreeSet::from(["probe.child".to_owned(), "probe.root".to_owned()])
    );
    let allowed_resource_keys = documented_resource_keys();
    for span in &spans {
        let resource = &span.resource;
        assert_eq!(resource.get("service.name").map(String::as_str), Some("probe-svc"));
        assert_eq!(resource.get("service.version").map(String::as_str), Some("1.2.3"));
        assert_eq!(resource.get("telemetry.sdk.language").map(String::as_str), Some("rust"));
        assert_eq!(
            resource.get("telemetry.sdk.name").map(String::as_str),
            Some("opentelemetry")
        );
        assert!(resource.contains_key("telemetry.sdk.version"));
        for key in resource.keys() {
            assert!(
                allowed_resource_keys.contains(key),
                "resource key {key} is not in docs/telemetry-data.md (and may identify the host or user)"
            );
        }
    }
}

#[test]
fn otlp_exporter_delivers_at_exit_when_main_returns() {
    assert_delivered_with_resource("spans");
}

// On Windows `std::process::exit` is `ExitProcess`, which ends every other
// thread (the exporters) before any hook runs: the README says to call
// `zen_telemetry::shutdown()` first there. Returning from `main` flushes.
#[cfg(not(windows))]
#[test]
fn otlp_exporter_delivers_at_exit_on_process_exit() {
    assert_delivered_with_resource("exit");
}

#[test]
fn exit_is_bounded_by_the_shutdown_timeout_when_the_collector_never_answers() {
    let blackhole = Blackhole::start();
    let endpoint = blackhole.endpoint();
    let (output, elapsed) = probe::run(
        PROBE,
        &["spans", "100"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
            ("ZEN_TELEMETRY_SHUTDOWN_TIMEOUT_MS", "1000"),
        ],
    );
    assert!(output.status.success(), "{output:?}");
    assert!(
        elapsed < Duration::from_millis(2000),
        "exit took {elapsed:?}, more than timeout + 1 s"
    );
}

#[test]
fn a_full_queue_drops_and_counts_instead_of_blocking() {
    let blackhole = Blackhole::start();
    let endpoint = blackhole.endpoint();
    let (output, _) = probe::run(
        PROBE,
        &["calls", "10000"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "100"),
            ("ZEN_TELEMETRY_SHUTDOWN_TIMEOUT_MS", "200"),
            ("ZEN_TELEMETRY_DEBUG", "1"),
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let report = probe::json(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(report["recorded"], 20_000, "10000 roots + 10000 children");
    assert_eq!(report["exported"], 0, "a blackhole accepts nothing");
    // The collector never answers, so two batches (at most 100 spans each)
    // hang in flight, the export thread holds the next one it took, and the
    // queue (100) fills: everything else must be dropped.
    let dropped = report["dropped"].as_u64().expect("dropped is a number");
    assert!(
        (20_000 - 400..=20_000).contains(&dropped),
        "dropped {dropped} of 20000; stderr:\n{stderr}"
    );
    let summary = format!("zen-telemetry: 20000 spans recorded, 0 exported, {dropped} dropped (queue full), ");
    assert!(
        stderr.lines().any(|l| l.starts_with(&summary)),
        "no loss summary at exit; stderr:\n{stderr}"
    );
}

/// Under `TRACEPARENT`, every root joins the parent process's trace as a
/// child of its span, whichever API made it: `#[traced]`, the
/// `opentelemetry` API (`tracer_provider()`) and `tracing` (`tracing_layer()`);
/// and a parent that was not sampled keeps all three unrecorded.
#[test]
fn roots_of_every_api_join_the_traceparent_trace() {
    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const PARENT: &str = "00f067aa0ba902b7";
    for (flags, sampled) in [("01", true), ("00", false)] {
        let dir = TempDir::new("traceparent");
        let file = dir.path().join("traces.jsonl");
        let file_str = file.display().to_string();
        let traceparent = format!("00-{TRACE}-{PARENT}-{flags}");
        let (output, _) = probe::run(
            PROBE,
            &["mixed", "3"],
            &[
                ("ZEN_TELEMETRY_EXPORTER", "file"),
                ("ZEN_TELEMETRY_FILE", &file_str),
                ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
                ("TRACEPARENT", &traceparent),
                ("TRACESTATE", "vendor=kept"),
            ],
        );
        assert!(output.status.success(), "{output:?}");
        let spans = read_jsonl(&file);
        if !sampled {
            assert!(
                spans.is_empty(),
                "an unsampled parent keeps its children unrecorded: {spans:?}"
            );
            continue;
        }
        for name in ["probe.root", "probe.api", "probe.tracing"] {
            let roots: Vec<_> = spans.iter().filter(|s| s["name"] == name).collect();
            assert_eq!(roots.len(), 3, "{name}: {spans:?}");
            for root in roots {
                assert_eq!(root["trace_id"], TRACE, "{name} started its own trace: {root}");
                assert_eq!(
                    root["parent_span_id"], PARENT,
                    "{name} is not the parent's child: {root}"
                );
            }
        }
        // Children of the traced roots stay inside their root.
        for child in spans.iter().filter(|s| s["name"] == "probe.child") {
            assert_eq!(child["trace_id"], TRACE);
            assert_ne!(child["parent_span_id"], PARENT);
        }
    }
}

/// Every recorded span is accounted for exactly once, whichever API made it:
/// `recorded = exported + dropped + failed + spooled` once `shutdown()` has
/// delivered or spooled everything.
#[test]
fn recorded_spans_of_every_api_are_exported_dropped_failed_or_spooled_exactly() {
    const ROOTS: u64 = 50;
    // Each round: ROOTS traced roots with a child each, ROOTS OTel-API spans
    // and ROOTS tracing spans.
    const SPANS: u64 = 4 * ROOTS;
    let count = |report: &serde_json::Value, key: &str| report[key].as_u64().unwrap_or(u64::MAX);
    let accounted = |report: &serde_json::Value| {
        count(report, "exported") + count(report, "dropped") + count(report, "failed") + count(report, "spans_spooled")
    };

    let run_mixed = |endpoint: &str, extra: &[(&str, &str)]| {
        let mut env = vec![
            ("ZEN_TELEMETRY_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
        ];
        env.extend_from_slice(extra);
        let (output, _) = probe::run(PROBE, &["mixed", &ROOTS.to_string()], &env);
        assert!(output.status.success(), "{output:?}");
        probe::json(&output)
    };

    let collector = FakeCollector::start();
    let report = run_mixed(&collector.endpoint(), &[]);
    assert_eq!(count(&report, "recorded"), SPANS, "{report}");
    assert_eq!(count(&report, "exported"), SPANS, "{report}");
    assert_eq!(accounted(&report), SPANS, "{report}");
    assert_eq!(
        collector.spans().len() as u64,
        SPANS,
        "exported means the collector has them"
    );

    // Nothing listens: every batch fails and, with the spool on, is spooled.
    let refused = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", refused.local_addr().expect("addr"));
    drop(refused);
    let state = TempDir::new("counted-spool");
    let state_str = state.path().display().to_string();
    let report = run_mixed(
        &endpoint,
        &[("ZEN_TELEMETRY_SPOOL", "on"), ("XDG_STATE_HOME", &state_str)],
    );
    assert_eq!(count(&report, "recorded"), SPANS, "{report}");
    assert_eq!(count(&report, "exported"), 0, "{report}");
    assert_eq!(count(&report, "spans_spooled"), SPANS, "spooled, not failed: {report}");
    assert_eq!(accounted(&report), SPANS, "{report}");
}
