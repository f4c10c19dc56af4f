//! What a failing collector may cost a traced program: nothing but the spans.
//! A million traced calls at 100% sampling against each failing receiver must
//! exit cleanly, with memory close to a healthy run, and with every span
//! accounted for (the exit's duration is the exit-delay bench's).

use std::sync::{Mutex, OnceLock};

use zen_tests::failing::{FailingReceiver, Mode};
use zen_tests::probe::{self, LossSummary, WatchedRun};

const PROBE: &str = env!("CARGO_BIN_EXE_zen-probe");
const CALLS: &str = "1000000";
/// Each call records a root and a child span.
const SPANS: u64 = 2_000_000;
const SHUTDOWN_TIMEOUT_MS: &str = "1000";
const RSS_MARGIN_KIB: u64 = 64 * 1024;

/// One probe at a time: each is a million calls, and on a loaded 2-core
/// machine parallel runs would measure the scheduler rather than the exit.
static SERIAL: Mutex<()> = Mutex::new(());

fn run_against(receiver: &FailingReceiver) -> WatchedRun {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let endpoint = receiver.endpoint();
    probe::run_watched(
        PROBE,
        &["calls", CALLS],
        &[
            ("ZEN_TELEMETRY_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
            ("ZEN_TELEMETRY_SHUTDOWN_TIMEOUT_MS", SHUTDOWN_TIMEOUT_MS),
            ("ZEN_TELEMETRY_DEBUG", "1"),
        ],
    )
}

fn peak_rss_kib(run: &WatchedRun) -> u64 {
    run.report["peak_rss_kib"].as_u64().unwrap_or(0)
}

fn assert_exits_cleanly_and_promptly(label: &str, run: &WatchedRun) {
    assert!(run.status.success(), "{label}: {}; stderr:\n{}", run.status, run.stderr);
    assert!(!run.stderr.contains("panicked"), "{label}: stderr:\n{}", run.stderr);
    assert_eq!(run.report["recorded"], SPANS, "{label}: every call recorded its spans");
    // How long the exit takes is a timing target: the exit-delay bench
    // (`cargo bench -p zen-tests --bench exit_delay`) measures it.
}

/// The healthy run every failing run is compared with, made once.
fn healthy() -> &'static WatchedRun {
    static BASELINE: OnceLock<WatchedRun> = OnceLock::new();
    BASELINE.get_or_init(|| {
        let receiver = FailingReceiver::start(Mode::Healthy);
        let run = run_against(&receiver);
        assert_exits_cleanly_and_promptly("healthy", &run);
        assert!(
            receiver.spans_accepted() > 0,
            "the healthy receiver got no spans; stderr:\n{}",
            run.stderr
        );
        assert!(peak_rss_kib(&run) > 0, "the probe reported no peak RSS");
        eprintln!(
            "healthy: {:?}; calls {:?}, exit {:?}; peak RSS {} KiB",
            LossSummary::find(&run.stderr),
            run.until_report,
            run.exit,
            peak_rss_kib(&run)
        );
        run
    })
}

fn assert_failure_costs_only_spans(mode: Mode) {
    // Before taking the probe lock, which the baseline needs too.
    let baseline = healthy();
    let receiver = FailingReceiver::start(mode);
    let run = run_against(&receiver);
    let label = mode.name();
    assert_exits_cleanly_and_promptly(label, &run);

    let (rss, base) = (peak_rss_kib(&run), peak_rss_kib(baseline));
    assert!(
        rss > 0 && rss <= base + RSS_MARGIN_KIB,
        "{label}: peak RSS {rss} KiB against {base} KiB healthy"
    );

    let summary = LossSummary::find(&run.stderr)
        .unwrap_or_else(|| panic!("{label}: no loss summary at exit; stderr:\n{}", run.stderr));
    assert_eq!(summary.recorded, SPANS, "{label}: {summary:?}");
    assert!(
        summary.dropped + summary.failed > 0,
        "{label}: spans were lost but none counted: {summary:?}"
    );
    // Nothing counts as exported that the receiver did not accept. (Not
    // equality: a slow receiver may accept a request after the probe left.)
    assert!(
        summary.exported <= receiver.spans_accepted(),
        "{label}: {summary:?} but the receiver accepted {}",
        receiver.spans_accepted()
    );
    eprintln!(
        "{label}: {summary:?}; calls {:?}, exit {:?}; peak RSS {rss} KiB (healthy {base} KiB)",
        run.until_report, run.exit
    );

    // The failure was really exercised, not some other one.
    if mode == Mode::ConnectionRefused {
        assert!(
            run.stderr.contains("Connection refused"),
            "{label}: no connection was refused; stderr:\n{}",
            run.stderr
        );
    } else {
        assert!(receiver.contacts() > 0, "{label}: the receiver was never reached");
    }
}

#[test]
fn connection_refused() {
    assert_failure_costs_only_spans(Mode::ConnectionRefused);
}

#[test]
fn blackhole() {
    assert_failure_costs_only_spans(Mode::Blackhole);
}

#[test]
fn always_unavailable() {
    assert_failure_costs_only_spans(Mode::Unavailable);
}

#[test]
fn resource_exhausted_with_retry_info() {
    assert_failure_costs_only_spans(Mode::ResourceExhausted);
}

#[test]
fn two_seconds_per_request() {
    assert_failure_costs_only_spans(Mode::Slow);
}

#[test]
fn connection_closed_mid_request() {
    assert_failure_costs_only_spans(Mode::ClosedMidRequest);
}
