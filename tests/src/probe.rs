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
    "NO_GCE_CHECK",
    "CLOUDSDK_ACTIVE_CONFIG_NAME",
    "ZEN_TELEMETRY_GCP_ENDPOINT",
    "ZEN_TELEMETRY_METRICS",
    "ZEN_TELEMETRY_METRICS_FILE",
    "OTEL_METRIC_EXPORT_INTERVAL",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "ZEN_TELEMETRY_SPOOL",
    "ZEN_TELEMETRY_METRICS_ACROSS_RUNS",
    "ZEN_TELEMETRY_SPOOL_MAX_BYTES",
    "ZEN_TELEMETRY_SPOOL_EXIT_BUDGET_MS",
    "XDG_STATE_HOME",
];

/// A gcloud configuration directory that does not exist, so a developer's
/// own gcloud setup never leaks into a probe.
pub const NO_GCLOUD_DIR: &str = "/nonexistent/zen-tests/gcloud";

/// A state directory that does not exist, for probes run without a spool.
pub const NO_STATE_DIR: &str = "/nonexistent/zen-tests/state";

/// `exe` with all telemetry variables cleared and `env` set. Integration
/// tests pass `env!("CARGO_BIN_EXE_zen-probe")`.
///
/// The spool and the metric slots are off unless `env` turns them on (with
/// an `XDG_STATE_HOME` of the test's own): a test's undelivered spans and
/// series must never reach the developer's state directory, nor a later
/// test whose receiver got the same port.
pub fn command(exe: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(exe);
    command.args(args);
    for var in TELEMETRY_VARS {
        command.env_remove(var);
    }
    // And whatever else of OpenTelemetry's or ours the caller's shell has.
    for (var, _) in std::env::vars_os() {
        let name = var.to_string_lossy();
        if name.starts_with("OTEL_") || name.starts_with("ZEN_") {
            command.env_remove(&var);
        }
    }
    command.env("NO_GCE_CHECK", "true");
    command.env("CLOUDSDK_CONFIG", NO_GCLOUD_DIR);
    command.env("ZEN_TELEMETRY_SPOOL", "off");
    command.env("ZEN_TELEMETRY_METRICS_ACROSS_RUNS", "off");
    command.env("XDG_STATE_HOME", NO_STATE_DIR);
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

/// A probe run watched as it goes.
#[derive(Debug)]
pub struct WatchedRun {
    /// How the process ended.
    pub status: std::process::ExitStatus,
    /// The JSON report the probe printed.
    pub report: serde_json::Value,
    /// Everything written to stderr.
    pub stderr: String,
    /// From start to the JSON report arriving (the traced calls).
    pub until_report: Duration,
    /// From the JSON report arriving to the process ending: the exit flush.
    pub exit: Duration,
}

/// Runs the probe, noting when its JSON report arrives on stdout, so the
/// time spent exiting can be told apart from the time spent working.
pub fn run_watched(exe: &str, args: &[&str], env: &[(&str, &str)]) -> WatchedRun {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;

    let started = Instant::now();
    let mut child = command(exe, args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the probe");
    let mut stderr_pipe = child.stderr.take().expect("stderr is piped");
    // Drained on its own thread so a chatty stderr cannot stall the probe.
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    let mut report = None;
    let mut report_at = None;
    for line in BufReader::new(child.stdout.take().expect("stdout is piped"))
        .lines()
        .map_while(Result::ok)
    {
        if report.is_none() && line.starts_with('{') {
            report_at = Some(Instant::now());
            report = serde_json::from_str(&line).ok();
        }
    }
    let status = child.wait().expect("wait for the probe");
    let ended = Instant::now();
    let stderr = stderr_reader.join().unwrap_or_default();
    let (Some(report), Some(report_at)) = (report, report_at) else {
        panic!("no JSON from zen-probe ({status}); stderr:\n{stderr}");
    };
    WatchedRun {
        status,
        report,
        stderr,
        until_report: report_at - started,
        exit: ended - report_at,
    }
}

/// The counts in the loss summary printed at exit under `ZEN_TELEMETRY_DEBUG=1`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LossSummary {
    /// Spans recorded.
    pub recorded: u64,
    /// Spans exported.
    pub exported: u64,
    /// Spans dropped because the queue was full.
    pub dropped: u64,
    /// Spans in failed exports, lost.
    pub failed: u64,
    /// Spans of failed exports kept in the spool.
    pub spooled: u64,
    /// Spans neither exported, dropped, failed nor spooled when the shutdown timeout ran out.
    pub unsent: u64,
}

impl LossSummary {
    /// Finds and parses the summary line in `stderr`; `None` when there is none.
    pub fn find(stderr: &str) -> Option<LossSummary> {
        let line = stderr
            .lines()
            .find(|l| l.starts_with("zen-telemetry: ") && l.contains(" spans recorded, "))?;
        let mut summary = LossSummary::default();
        for part in line.trim_start_matches("zen-telemetry: ").split(", ") {
            let (number, what) = part.split_once(' ')?;
            let number: u64 = number.parse().ok()?;
            match what {
                "spans recorded" => summary.recorded = number,
                "exported" => summary.exported = number,
                "dropped (queue full)" => summary.dropped = number,
                "failed" => summary.failed = number,
                "spooled" => summary.spooled = number,
                "not sent by the shutdown timeout" => summary.unsent = number,
                _ => return None,
            }
        }
        Some(summary)
    }
}
