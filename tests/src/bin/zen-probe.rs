//! A small program that links zen-telemetry, for tests that need a real
//! process: start-up, opt-out, exporters and the flush at exit.
//!
//! Usage: `zen-probe calls N` | `zen-probe spans N` | `zen-probe exit N` |
//! `zen-probe paced N MS` (N roots, MS milliseconds apart) |
//! `zen-probe errors N` (N roots, then one `probe.fail` with a 70 KB attribute) |
//! `zen-probe fail N` (each root also calls `probe.fail`, which returns an
//! error whose text holds secrets) |
//! `zen-probe meters N` (N roots, and a counter of our own through
//! `meter_provider()` with 300 series, `probe.orders` by `shard`) |
//! `zen-probe flushed N` (N roots, then `shutdown()` before the report, so
//! its counts include the exit flush and the spool) |
//! `zen-probe mixed N` (N roots, and N spans each through the
//! `opentelemetry` API and `tracing`, then `shutdown()` before the report) |
//! `zen-probe rare N P` (N calls of `probe.maybe`, of which P in every 100 fail) |
//! `zen-probe timed N US` (N calls of `probe.timed`, each taking US
//! microseconds, against a 1 ms latency objective) |
//! `zen-probe rounds N RxP,…` (one long-running process: R rounds of N calls
//! of `probe.maybe`, P in every 100 failing, each round followed by a
//! metric export; then the next `RxP`) |
//! `zen-probe try-enable N` (first every call that could turn telemetry on:
//! `init`, `init_with` a configuration that is not disabled, the bench
//! switches, a testing capture; then N roots)

use zen_telemetry::traced;

#[traced("probe.child", attrs(probe.index = index))]
fn child(index: u64) -> u64 {
    index.wrapping_mul(3)
}

#[traced("probe.root", attrs(probe.kind = "root"))]
fn root(index: u64) -> u64 {
    child(index) + 1
}

/// The message carries what the scrubber must remove.
const FAIL_MESSAGE: &str = "login failed: password=hunter2 user@example.com";

/// Declares objectives, so its metric points carry the objective labels.
#[traced("probe.fail", objective(success = 99.9, latency_ms = 250))]
fn fail(long_attribute: bool) -> Result<(), String> {
    if long_attribute {
        // Multibyte text longer than the 64 KiB value limit, to test truncation.
        zen_telemetry::span_attributes!(probe.long = "é".repeat(35_000));
    }
    Err(FAIL_MESSAGE.to_owned())
}

/// Fails when `index % 100` is below `percent`.
#[traced("probe.maybe")]
fn maybe(index: u64, percent: u64) -> Result<(), String> {
    if index % 100 < percent {
        return Err("a planned failure".to_owned());
    }
    Ok(())
}

#[traced("probe.timed", objective(latency_ms = 1))]
fn timed(micros: u64) {
    std::thread::sleep(std::time::Duration::from_micros(micros));
}

/// `RxP,…` as (rounds, percent) pairs; what does not parse is left out.
fn schedule(text: &str) -> Vec<(u64, u64)> {
    text.split(',')
        .filter_map(|part| {
            let (rounds, percent) = part.split_once('x')?;
            Some((rounds.parse().ok()?, percent.parse().ok()?))
        })
        .collect()
}

/// Waits until the metric thread has exported points since `before`, at
/// most 10 s.
fn wait_for_metric_export(before: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while zen_telemetry::stats().metric_points_exported <= before && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// `calls` calls a round, by `schedule`; the next round starts after an
/// export that ended after this round's calls.
fn rounds(calls: u64, schedule: &[(u64, u64)]) {
    for &(rounds, percent) in schedule {
        for _ in 0..rounds {
            for i in 0..calls {
                drop(maybe(i, percent));
            }
            wait_for_metric_export(zen_telemetry::stats().metric_points_exported);
        }
    }
}

fn dir_entries(path: &str) -> Vec<String> {
    let mut entries: Vec<String> = std::fs::read_dir(path)
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| {
                    std::fs::read_link(e.path())
                        .ok()
                        .map(|t| t.display().to_string())
                        .or_else(|| Some(e.file_name().to_string_lossy().into_owned()))
                })
                .collect()
        })
        .unwrap_or_default();
    entries.sort();
    entries
}

/// Peak resident set size in KiB (`VmHWM`), 0 where /proc is unavailable.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Everything that could turn telemetry on, for a process that was disabled.
fn try_to_enable() {
    use zen_telemetry::{Config, ExporterKind};
    zen_telemetry::init();
    let file =
        std::env::var_os("PROBE_TRY_FILE").map_or_else(|| "zen-probe-try.jsonl".into(), std::path::PathBuf::from);
    let config = Config::default()
        .to_builder()
        .disabled(false)
        .exporter(ExporterKind::File)
        .file_path(file)
        .sample_rate(1.0)
        .build();
    let _ = zen_telemetry::init_with(config);
    zen_telemetry::bench::set_on(Some(true));
    zen_telemetry::bench::set_sample_rate(1.0);
    zen_telemetry::bench::set_metrics(true);
    {
        let capture = zen_telemetry::testing::capture();
        root(0);
        // Recorded in memory, and only there.
        assert_eq!(capture.spans().len(), 2, "the capture records in memory");
        capture.set_on(true);
    }
    zen_telemetry::bench::set_on(Some(true));
    if let Some(provider) = zen_telemetry::tracer_provider() {
        use zen_telemetry::opentelemetry::trace::{Tracer, TracerProvider};
        drop(provider.tracer("probe").start("probe.api"));
    }
}

/// `count` spans through the `opentelemetry` API and `count` through `tracing`.
fn other_apis(count: u64) {
    use tracing_subscriber::layer::SubscriberExt;
    use zen_telemetry::opentelemetry::trace::{Span, Tracer, TracerProvider};
    if let Some(provider) = zen_telemetry::tracer_provider() {
        let tracer = provider.tracer("probe");
        for _ in 0..count {
            tracer.start("probe.api").end();
        }
    }
    let subscriber = tracing_subscriber::registry().with(zen_telemetry::tracing_layer());
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..count {
            drop(tracing::info_span!("probe.tracing").entered());
        }
    });
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "calls".to_owned());
    let count: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);

    let threads_before = dir_entries("/proc/self/task").len();
    let fds_before = dir_entries("/proc/self/fd");
    let third_text = args.next().unwrap_or_default();
    let third: u64 = third_text.parse().unwrap_or(0);
    let pause = std::time::Duration::from_millis(third);
    let started = std::time::Instant::now();
    if mode == "try-enable" {
        try_to_enable();
    }
    let mut sum = 0u64;
    if mode == "rare" || mode == "timed" {
        for i in 0..count {
            match mode.as_str() {
                "rare" => drop(maybe(i, third)),
                _ => timed(third),
            }
        }
    }
    if mode == "rounds" {
        rounds(count, &schedule(&third_text));
    }
    let roots = if matches!(mode.as_str(), "rare" | "timed" | "rounds") {
        0
    } else {
        count
    };
    for i in 0..roots {
        sum = sum.wrapping_add(root(i));
        if mode == "paced" {
            std::thread::sleep(pause);
        }
        if mode == "fail" {
            let _ = fail(false);
        }
    }
    if mode == "errors" {
        let _ = fail(true);
    }
    if mode == "meters" {
        use zen_telemetry::opentelemetry::KeyValue;
        use zen_telemetry::opentelemetry::metrics::MeterProvider;
        if let Some(provider) = zen_telemetry::meter_provider() {
            let orders = provider.meter("probe").u64_counter("probe.orders").build();
            for shard in 0..300_i64 {
                orders.add(2, &[KeyValue::new("shard", shard)]);
            }
        }
    }
    if mode == "mixed" {
        other_apis(count);
    }
    if mode == "flushed" || mode == "mixed" {
        zen_telemetry::shutdown();
    }
    let threads_after = dir_entries("/proc/self/task").len();
    let fds_after = dir_entries("/proc/self/fd");
    let calls_ms = started.elapsed().as_secs_f64() * 1000.0;
    let stats = zen_telemetry::stats();
    let report = serde_json::json!({
        "mode": mode,
        "sum": sum,
        "enabled": zen_telemetry::is_on(),
        "threads_before": threads_before,
        "threads_after": threads_after,
        // read_dir itself holds one fd while listing; both lists include it.
        "fds_before": fds_before,
        "fds_after": fds_after,
        "recorded": stats.spans_recorded,
        // Counts at the time of printing; the exit flush changes them later.
        "exported": stats.spans_exported,
        "dropped": stats.spans_dropped,
        "failed": stats.spans_failed,
        "spans_rejected": stats.spans_rejected,
        "metric_points_rejected": stats.metric_points_rejected,
        "metric_points_exported": stats.metric_points_exported,
        "spans_spooled": stats.spans_spooled,
        "spans_resent": stats.spans_resent,
        "spans_spool_dropped": stats.spans_spool_dropped,
        "metric_points_spooled": stats.metric_points_spooled,
        "metric_points_resent": stats.metric_points_resent,
        "metric_points_spool_dropped": stats.metric_points_spool_dropped,
        "calls_ms": calls_ms,
        "peak_rss_kib": peak_rss_kib(),
    });
    println!("{report}");
    if mode == "exit" {
        std::process::exit(0);
    }
}
