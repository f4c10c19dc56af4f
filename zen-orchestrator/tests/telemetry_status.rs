//! `zen telemetry status`: one test per state, each in a clean environment.

mod common;

use std::process::Command;

use common::{TempDir, ZEN};
use serde_json::Value;

/// A metadata host nothing listens on, so no state can reach a real Google host.
const NO_METADATA: (&str, &str) = ("GCE_METADATA_HOST", "127.0.0.1:9");

fn status(env: &[(&str, &str)], json: bool) -> (String, Option<Value>) {
    let mut command = Command::new(ZEN);
    command
        .env_clear()
        .args(["telemetry", "status"])
        .env(NO_METADATA.0, NO_METADATA.1);
    if json {
        command.arg("--json");
    }
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("run zen");
    assert!(output.status.success(), "exit status {:?}", output.status);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let parsed = json.then(|| serde_json::from_str(&stdout).expect("status JSON"));
    (stdout, parsed)
}

fn json(env: &[(&str, &str)]) -> Value {
    status(env, true).1.expect("json")
}

fn text(env: &[(&str, &str)]) -> String {
    status(env, false).0
}

#[test]
fn disabled_by_each_switch() {
    for (var, value, named) in [
        ("ZEN_TELEMETRY_DISABLED", "1", "ZEN_TELEMETRY_DISABLED"),
        ("OTEL_SDK_DISABLED", "true", "OTEL_SDK_DISABLED"),
    ] {
        let status = json(&[(var, value)]);
        assert_eq!(status["enabled"], false);
        assert_eq!(status["will_record"], false);
        assert!(
            status["disabled_by"].as_str().unwrap_or_default().contains(named),
            "{status}"
        );
        assert!(text(&[(var, value)]).starts_with(&format!("telemetry: disabled by {named}")));
    }
}

#[test]
fn enabled_without_a_destination() {
    let env = [("NO_GCE_CHECK", "true")];
    let status = json(&env);
    assert_eq!(
        (status["enabled"].clone(), status["will_record"].clone()),
        (true.into(), false.into())
    );
    assert_eq!(status["destination"]["kind"], "none");
    assert!(text(&env).contains("records nothing"));
}

#[test]
fn google_cloud_with_a_known_project_names_the_credentials_file_never_its_secret() {
    let dir = TempDir::new("status-gcp");
    let file = dir.path("sa.json");
    let mut credentials = serde_json::json!({
        "type": "service_account",
        "client_email": "zen@example-project.iam.gserviceaccount.com",
        "token_uri": "http://127.0.0.1:9/token",
    });
    credentials[["private", "key"].join("_")] = "SECRET-KEY-MATERIAL".into();
    std::fs::write(&file, credentials.to_string()).expect("write credentials");
    let env = [
        ("GOOGLE_CLOUD_PROJECT", "status-project-1"),
        ("GOOGLE_APPLICATION_CREDENTIALS", file.to_str().expect("utf-8")),
    ];
    let (raw, status) = status(&env, true);
    let status = status.expect("json");
    let destination = &status["destination"];
    assert_eq!(status["resolved_exporter"], "gcp");
    assert_eq!(destination["project_id"], "status-project-1");
    assert_eq!(destination["project_source"], "GOOGLE_CLOUD_PROJECT");
    assert_eq!(destination["endpoint"], "https://telemetry.googleapis.com");
    assert_eq!(destination["credentials"], "file");
    let source = destination["credentials_source"].as_str().unwrap_or_default();
    assert!(
        source.contains("sa.json") && source.contains("GOOGLE_APPLICATION_CREDENTIALS"),
        "{source}"
    );
    let text = text(&env);
    assert!(!raw.contains("SECRET-KEY-MATERIAL") && !text.contains("SECRET-KEY-MATERIAL"));
    assert!(
        text.contains("google cloud project: status-project-1 (from GOOGLE_CLOUD_PROJECT)"),
        "{text}"
    );
}

#[test]
fn google_cloud_waiting_for_the_metadata_server() {
    let status = json(&[]);
    let destination = &status["destination"];
    assert_eq!(status["resolved_exporter"], "gcp");
    assert_eq!(destination["project_id"], Value::Null);
    assert!(
        destination["project_source"]
            .as_str()
            .unwrap_or_default()
            .contains("metadata server (127.0.0.1:9)"),
        "{destination}"
    );
    assert_eq!(destination["credentials"], "metadata_server");
    assert_eq!(destination["metadata_server"], "127.0.0.1:9");
}

#[test]
fn otlp_shows_its_endpoint() {
    let env = [
        ("NO_GCE_CHECK", "true"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
    ];
    let status = json(&env);
    assert_eq!(
        status["destination"],
        serde_json::json!({"kind": "otlp", "endpoint": "http://127.0.0.1:4317", "endpoint_set": true,
                           "endpoint_rejected": null, "headers": []})
    );
    assert!(text(&env).contains("endpoint: http://127.0.0.1:4317"));
}

#[test]
fn file_and_stdout_exporters() {
    let status = json(&[
        ("ZEN_TELEMETRY_EXPORTER", "file"),
        ("ZEN_TELEMETRY_FILE", "/tmp/zen-status.jsonl"),
    ]);
    assert_eq!(
        status["destination"],
        serde_json::json!({"kind": "file", "path": "/tmp/zen-status.jsonl"})
    );
    let status = json(&[("ZEN_TELEMETRY_EXPORTER", "stdout")]);
    assert_eq!(status["destination"]["kind"], "stdout");
}

#[test]
fn traceparent_presence_sample_rate_service_and_data_list() {
    let env = [
        ("NO_GCE_CHECK", "true"),
        ("TRACEPARENT", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        ("ZEN_TELEMETRY_SAMPLE_RATE", "0.25"),
    ];
    let status = json(&env);
    assert_eq!(status["traceparent_present"], true);
    assert_eq!(status["sample_rate"], 0.25);
    assert_eq!(status["service_name"], "zen");
    assert!(status["data"].as_array().is_some_and(|items| !items.is_empty()));
    assert_eq!(json(&[("NO_GCE_CHECK", "true")])["traceparent_present"], false);
    assert_eq!(status["error_messages"], true);
    assert_eq!(
        json(&[("ZEN_TELEMETRY_ERROR_MESSAGES", "false")])["error_messages"],
        false
    );
    let text = text(&env);
    assert!(text.contains("TRACEPARENT: present"), "{text}");
    assert!(
        text.contains("data collected:") && text.contains("docs/telemetry-data.md"),
        "{text}"
    );
}

#[test]
fn metrics_destination_and_interval() {
    let dir = TempDir::new("status-metrics");
    let traces = dir.path("run.jsonl");
    let env = [
        ("ZEN_TELEMETRY_EXPORTER", "file"),
        ("ZEN_TELEMETRY_FILE", traces.to_str().unwrap()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "15000"),
    ];
    let status = json(&env);
    assert_eq!(status["metrics"]["interval_ms"], 15000);
    assert_eq!(status["metrics"]["destination"]["kind"], "file");
    let beside = dir.path("run.metrics.jsonl");
    assert_eq!(status["metrics"]["destination"]["path"], beside.to_str().unwrap());
    assert!(
        text(&env).contains(&format!("metrics: file {}, every 15 s", beside.display())),
        "{}",
        text(&env)
    );

    let otlp = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://127.0.0.1:4318"),
    ];
    let status = json(&otlp);
    assert_eq!(status["destination"]["endpoint"], "http://127.0.0.1:4317");
    assert_eq!(status["metrics"]["destination"]["endpoint"], "http://127.0.0.1:4318");
    assert_eq!(status["metrics"]["interval_ms"], 60000, "the default");

    let off = [env[0], env[1], ("ZEN_TELEMETRY_METRICS", "false")];
    assert_eq!(json(&off)["metrics"], Value::Null);
    assert!(text(&off).contains("metrics: off (ZEN_TELEMETRY_METRICS=false)"));
}

#[test]
fn spool_path_pending_batches_and_their_age() {
    let state = TempDir::new("status-spool");
    let state_dir = state.path("state");
    let env = [
        ("NO_GCE_CHECK", "true"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
        ("XDG_STATE_HOME", state_dir.to_str().unwrap()),
    ];
    let status = json(&env);
    assert_eq!(status["spool"]["enabled"], true);
    assert_eq!(status["spool"]["exit_budget_ms"], 200);
    assert_eq!(status["spool"]["max_bytes"], 16 * 1024 * 1024);
    let destinations = status["spool"]["destinations"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        destinations.len(),
        1,
        "traces and metrics share the endpoint: {destinations:?}"
    );
    let dir = std::path::PathBuf::from(destinations[0]["dir"].as_str().unwrap());
    assert!(
        dir.starts_with(state_dir.join("zen-telemetry/spool")),
        "{}",
        dir.display()
    );
    assert_eq!(destinations[0]["batches"], 0);
    assert!(!state_dir.exists(), "asking makes nothing");

    // A batch spooled 90 s ago (its name holds the time).
    std::fs::create_dir_all(&dir).unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        - 90_000_000_000;
    std::fs::write(dir.join(format!("{nanos:020}-1-0-12.traces.batch")), [0u8; 2000]).unwrap();
    let status = json(&env);
    let spool = &status["spool"]["destinations"][0];
    assert_eq!(
        (spool["batches"].as_u64(), spool["bytes"].as_u64()),
        (Some(1), Some(2000))
    );
    assert!(
        spool["oldest_s"].as_u64().is_some_and(|age| (90..100).contains(&age)),
        "{spool}"
    );
    let shown = text(&env);
    assert!(
        shown.contains(&format!("spool: {}: 1 batches, 2 KiB, the oldest 9", dir.display())),
        "{shown}"
    );

    let off = [env[0], env[1], env[2], ("ZEN_TELEMETRY_SPOOL", "off")];
    assert!(text(&off).contains("spool: off (ZEN_TELEMETRY_SPOOL=off)"));
}

/// `zen telemetry status` with `env`: what it printed on stdout (text) and
/// the warnings on stderr.
fn status_and_warnings(env: &[(&str, &str)]) -> (String, String) {
    let mut command = Command::new(ZEN);
    command
        .env_clear()
        .args(["telemetry", "status"])
        .env(NO_METADATA.0, NO_METADATA.1)
        .env("NO_GCE_CHECK", "true");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("run zen");
    assert!(output.status.success(), "exit status {:?}", output.status);
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn an_endpoint_that_is_not_a_url_is_warned_about_and_not_set() {
    let env = [
        ("ZEN_TELEMETRY_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "notaurl"),
    ];
    let (text, warnings) = status_and_warnings(&env);
    assert_eq!(warnings.matches("warning").count(), 1, "{warnings}");
    assert!(
        warnings.contains(
            "OTEL_EXPORTER_OTLP_ENDPOINT=\"notaurl\" is not valid: expected an absolute http:// or https:// URL"
        ),
        "{warnings}"
    );
    assert!(
        text.contains(
            "endpoint: not set (OTEL_EXPORTER_OTLP_ENDPOINT is not a URL); the default http://localhost:4317 is used"
        ),
        "{text}"
    );
    assert!(!text.contains("notaurl"), "{text}");
    let status = json(&[env[0], env[1], ("NO_GCE_CHECK", "true")]);
    assert_eq!(status["destination"]["endpoint_set"], false, "{status}");
    assert_eq!(
        status["destination"]["endpoint_rejected"],
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    );

    // With `auto`, a bad endpoint is no destination at all.
    let (text, _) = status_and_warnings(&env[1..]);
    assert!(text.contains("exporter: auto (resolves to none)"), "{text}");
    assert!(
        text.contains("otlp endpoint: not set (OTEL_EXPORTER_OTLP_ENDPOINT is not a URL)"),
        "{text}"
    );
}

#[test]
fn bad_header_pairs_are_dropped_with_one_warning_that_never_shows_a_value() {
    let env = [
        ("ZEN_TELEMETRY_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "a=secret-b,,=c,%zz=1"),
    ];
    let (_, warnings) = status_and_warnings(&env);
    assert_eq!(warnings.matches("warning").count(), 1, "{warnings}");
    assert!(warnings.contains("OTEL_EXPORTER_OTLP_HEADERS"), "{warnings}");
    for said in [
        "pair 2 is empty",
        "pair 3 has an empty name",
        "pair 4 has a malformed percent-escape",
    ] {
        assert!(warnings.contains(said), "{said}: {warnings}");
    }
    assert!(!warnings.contains("secret-b"), "a header value was echoed: {warnings}");
    let status = json(&[env[0], env[1], ("NO_GCE_CHECK", "true")]);
    assert_eq!(status["destination"]["headers"], serde_json::json!(["a"]), "{status}");
}

#[test]
fn an_invalid_traceparent_is_warned_about_and_reported_as_ignored() {
    let env = [("ZEN_TELEMETRY_EXPORTER", "stdout"), ("TRACEPARENT", "00-zzzz-xx-01")];
    let (text, warnings) = status_and_warnings(&env);
    assert_eq!(warnings.matches("warning").count(), 1, "{warnings}");
    assert!(
        warnings.contains("TRACEPARENT=\"00-zzzz-xx-01\" is not valid: expected W3C trace context"),
        "{warnings}"
    );
    assert!(text.contains("TRACEPARENT: invalid, ignored"), "{text}");
    let status = json(&[env[0], env[1], ("NO_GCE_CHECK", "true")]);
    assert_eq!(status["traceparent_present"], false);
    assert_eq!(status["traceparent_invalid"], true);
}

#[test]
fn a_service_name_over_the_bound_is_cut_with_a_warning() {
    let long = "n".repeat(100_000);
    let env = [
        ("ZEN_TELEMETRY_EXPORTER", "stdout"),
        ("ZEN_SERVICE_NAME", long.as_str()),
    ];
    let (text, warnings) = status_and_warnings(&env);
    assert_eq!(
        warnings.matches("warning").count(),
        1,
        "{}",
        &warnings[..200.min(warnings.len())]
    );
    assert!(warnings.contains("ZEN_SERVICE_NAME="), "no warning");
    assert!(warnings.contains("at most 256 characters; using the first 256"));
    let kept = "n".repeat(zen_telemetry::config::MAX_NAME_CHARS);
    assert!(
        text.contains(&format!("service: {kept} ")),
        "{}",
        &text[..300.min(text.len())]
    );
    assert!(!text.contains(&format!("{kept}n")));
}
