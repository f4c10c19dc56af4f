//! Runs the `zen-probe` binary (a program that links zen-telemetry) with a
//! clean, controlled environment.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Every variable that could change telemetry behaviour; cleared for probes.
pub const TELEMETRY_VARS: &[&str] = &[
    "ZEN_TELEMETRY_DISABLED",
    "OTEL_SDK_DISABLED",
    "ZEN_TELEMETRY_SAMPLE_RATE",
    "ZEN_SERVICE_NAME",
    "OTEL_SERVICE_NAME",
    "ZEN_SERVICE_VERSION",
    "ZEN_TELEMETRY_EXPORTER",
    "ZEN_TELEMETRY_FILE",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_BSP_EXPORT_TIMEOUT",
    "ZEN_TELEMETRY_SHUTDOWN_TIMEOUT_MS",
    "ZEN_TELEMETRY_DEBUG",
    "ZEN_TELEMETRY_ERROR_MESSAGES",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_RESOURCE_ATTRIBUTES",
    "TRACEPARENT",
    "TRACESTATE",
    "GOOGLE_CLOUD_PROJECT",
    "GCP_PROJECT",
    "GCLOUD_PROJECT",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "CLOUDSDK_CONFIG",
    "CLOUDSDK_CORE_PROJECT",
    "GCE_METADATA_HOST",
];

/// `exe` with all telemetry variables cleared and `env` set. Integration
/// tests pass `env!("CARGO_BIN_EXE_zen-probe")`.
pub fn command(exe: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(exe);
    command.args(args);
    for var in TELEMETRY_VARS {
        command.env_remove(var);
    }
    command.env("NO_GCE_CHECK", "true");
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// Runs the probe to completion; returns its output and wall time.
pub fn run(exe: &str, args: &[&str], env: &[(&str, &str)]) -> (Output, Duration) {
    let started = Instant::now();
    let output = command(exe, args, env).output().expect("run the probe");
    (output, started.elapsed())
}

/// The probe's stdout parsed as JSON.
pub fn json(output: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap_or_else(|| {
        panic!(
            "no JSON from zen-probe; stdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    serde_json::from_str(line).expect("probe JSON")
}
