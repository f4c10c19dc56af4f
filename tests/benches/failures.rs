//! Throughput, memory and exit time of a traced program when the collector
//! fails, against the same program with a healthy collector.
//!
//! `cargo bench -p zen-tests --bench failures`
//!
//! Goal: a failing collector slows the traced calls by at most 1.5x, and the
//! exit by at most the shutdown timeout. (Printed, not asserted: timing is for
//! benchmarks.)

use std::time::Duration;

use zen_tests::failing::{FailingReceiver, Mode};
use zen_tests::probe::{self, LossSummary, WatchedRun};

const CALLS: &str = "1000000";
const RUNS: usize = 3;

fn run_once(mode: Mode) -> (WatchedRun, u64) {
    let receiver = FailingReceiver::start(mode);
    let endpoint = receiver.endpoint();
    let run = probe::run_watched(
        env!("CARGO_BIN_EXE_zen-probe"),
        &["calls", CALLS],
        &[
            ("ZEN_TELEMETRY_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
            ("ZEN_TELEMETRY_SHUTDOWN_TIMEOUT_MS", "1000"),
            // For the loss summary at exit; the same for every mode.
            ("ZEN_TELEMETRY_DEBUG", "1"),
        ],
    );
    assert!(run.status.success(), "{}: {}\n{}", mode.name(), run.status, run.stderr);
    (run, receiver.spans_accepted())
}

struct Figures {
    calls: Duration,
    wall: Duration,
    exit_max: Duration,
    rss_kib: u64,
    /// `None` when nothing was dropped or failed (no summary is printed then).
    summary: Option<LossSummary>,
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn measure(runs: Vec<(WatchedRun, u64)>) -> Figures {
    let calls = median(runs.iter().map(|(r, _)| r.until_report).collect());
    let wall = median(runs.iter().map(|(r, _)| r.until_report + r.exit).collect());
    let exit_max = runs.iter().map(|(r, _)| r.exit).max().unwrap_or_default();
    let rss_kib = runs
        .iter()
        .map(|(r, _)| r.report["peak_rss_kib"].as_u64().unwrap_or(0))
        .max()
        .unwrap_or(0);
    // The counts of the last run; they vary little between runs.
    let summary = runs.last().and_then(|(r, _)| LossSummary::find(&r.stderr));
    Figures {
        calls,
        wall,
        exit_max,
        rss_kib,
        summary,
    }
}

fn main() {
    let modes: Vec<Mode> = std::iter::once(Mode::Healthy).chain(Mode::FAILING).collect();
    // Interleaved so drift in machine load spreads over every mode.
    let mut runs: Vec<Vec<(WatchedRun, u64)>> = modes.iter().map(|_| Vec::new()).collect();
    for _ in 0..RUNS {
        for (i, mode) in modes.iter().enumerate() {
            runs[i].push(run_once(*mode));
        }
    }
    let figures: Vec<Figures> = runs.into_iter().map(measure).collect();
    let healthy = &figures[0];
    println!(
        "{CALLS} traced calls (2 spans each), 100% sampled, OTLP, shutdown timeout 1000 ms; median of {RUNS} runs"
    );
    println!();
    println!(
        "| receiver | calls | ratio | whole run | ratio | peak RSS | RSS delta | exit (max) | exported | dropped | failed | unsent at exit |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (mode, f) in modes.iter().zip(&figures) {
        let ratio = f.calls.as_secs_f64() / healthy.calls.as_secs_f64();
        let wall_ratio = f.wall.as_secs_f64() / healthy.wall.as_secs_f64();
        let delta = f.rss_kib as i64 - healthy.rss_kib as i64;
        let counts = match f.summary {
            Some(s) => format!("{} | {} | {} | {}", s.exported, s.dropped, s.failed, s.unsent),
            None => "not printed | 0 | 0 | not printed".to_owned(),
        };
        println!(
            "| {} | {:.0} ms | {ratio:.2}x{} | {:.0} ms | {wall_ratio:.2}x | {:.1} MiB | {:+.1} MiB | {:.0} ms | {counts} |",
            mode.name(),
            f.calls.as_secs_f64() * 1000.0,
            if ratio <= 1.5 { "" } else { " (goal missed)" },
            f.wall.as_secs_f64() * 1000.0,
            f.rss_kib as f64 / 1024.0,
            delta as f64 / 1024.0,
            f.exit_max.as_secs_f64() * 1000.0,
        );
    }
}
