//! What a short-lived program pays at exit when its backend fails, with the
//! spool and without, over the same program with telemetry off, on both OTLP
//! transports; and what a down → up sequence loses.
//!
//! `cargo bench -p zen-tests --bench exit_delay`
//!
//! Target (issue 16): with the spool, at most 0.25 s over telemetry off for
//! refused, blackholed, always-`UNAVAILABLE` and slow receivers, over gRPC
//! and over HTTP; the healthy case unchanged; 0 spans lost across down → up.
//! Printed, not asserted.

use std::time::Duration;

use zen_tests::TempDir;
use zen_tests::collector::FakeCollector;
use zen_tests::failing::{FailingReceiver, Mode};
use zen_tests::probe;
use zen_tests::receiver::Protocol;

const PROBE: &str = env!("CARGO_BIN_EXE_zen-probe");
/// 10 roots of 2 spans: the size of `zen`'s demo run.
const ROOTS: &str = "10";
const RUNS: usize = 5;

fn wall(env: &[(&str, &str)]) -> Duration {
    let run = probe::run_watched(PROBE, &["spans", ROOTS], env);
    assert!(run.status.success(), "{}\n{}", run.status, run.stderr);
    run.until_report + run.exit
}

fn run_against(protocol: Protocol, mode: Mode, spool: bool) -> Duration {
    let receiver = FailingReceiver::speaking(protocol, mode);
    let endpoint = receiver.endpoint();
    let state = TempDir::new("exit-delay");
    let state_dir = state.path().display().to_string();
    wall(&[
        ("ZEN_TELEMETRY_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.name()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
        ("ZEN_TELEMETRY_SPOOL", if spool { "on" } else { "off" }),
        ("XDG_STATE_HOME", &state_dir),
    ])
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Spans lost when run A meets a refused backend and run B a healthy one at
/// the same endpoint.
fn lost_across_down_then_up() -> i64 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let endpoint = format!("http://{addr}");
    let state = TempDir::new("exit-delay-down-up");
    let state_dir = state.path().display().to_string();
    let env = [
        ("ZEN_TELEMETRY_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
        ("ZEN_TELEMETRY_SPOOL", "on"),
        ("XDG_STATE_HOME", state_dir.as_str()),
    ];
    wall(&env);
    let collector = FakeCollector::start_on(addr);
    wall(&env);
    let sent = 2 * 2 * 10;
    let received = collector.wait_for_spans(sent, Duration::from_secs(5)).len();
    sent as i64 - received as i64
}

fn main() {
    let modes: Vec<Mode> = std::iter::once(Mode::Healthy).chain(Mode::FAILING).collect();
    let rows: Vec<(Protocol, Mode)> = Protocol::BOTH
        .into_iter()
        .flat_map(|protocol| modes.iter().map(move |mode| (protocol, *mode)))
        .collect();
    let mut off = Vec::new();
    let mut with_spool: Vec<Vec<Duration>> = rows.iter().map(|_| Vec::new()).collect();
    let mut without: Vec<Vec<Duration>> = rows.iter().map(|_| Vec::new()).collect();
    // Interleaved so drift in machine load spreads over every row.
    for _ in 0..RUNS {
        off.push(wall(&[("ZEN_TELEMETRY_DISABLED", "1")]));
        for (i, (protocol, mode)) in rows.iter().enumerate() {
            with_spool[i].push(run_against(*protocol, *mode, true));
            without[i].push(run_against(*protocol, *mode, false));
        }
    }
    let off = median(off);
    println!(
        "{ROOTS} traced roots (2 spans each), 100% sampled, OTLP, default shutdown timeout (3000 ms) and spool budget (200 ms); median of {RUNS} runs"
    );
    println!("telemetry off: {:.0} ms per run", millis(off));
    println!();
    println!("| transport | receiver | exit delay, spool on | target ≤ 250 ms | exit delay, spool off |");
    println!("|---|---|---:|---|---:|");
    for (i, (protocol, mode)) in rows.iter().enumerate() {
        let on = median(with_spool[i].clone()).saturating_sub(off);
        let plain = median(without[i].clone()).saturating_sub(off);
        println!(
            "| {} | {} | {:.0} ms | {} | {:.0} ms |",
            protocol.name(),
            mode.name(),
            millis(on),
            if on <= Duration::from_millis(250) {
                "met"
            } else {
                "missed"
            },
            millis(plain)
        );
    }
    println!();
    println!("spans lost across refused → healthy: {}", lost_across_down_then_up());
}
