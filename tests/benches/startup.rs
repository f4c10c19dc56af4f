//! Start-up cost of linking zen-telemetry: the same tiny program with and
//! without it, run many times, interleaved, in several environments.
//!
//! `cargo bench -p zen-tests --bench startup`
//!
//! Target: telemetry adds at most 1 ms to start-up whatever the network and
//! environment. (Printed, not asserted: timing is for benchmarks.)

use std::time::{Duration, Instant};

const RUNS: usize = 300;

fn run_once(exe: &str, env: &[(&str, &str)]) -> Duration {
    // The probes' clean environment: no developer gcloud setup, no real metadata server.
    let mut command = zen_tests::probe::command(exe, &[], env);
    let start = Instant::now();
    let status = command.status().expect("run start-up subject");
    let elapsed = start.elapsed();
    assert!(status.success());
    elapsed
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let traced = env!("CARGO_BIN_EXE_zen-startup-traced");
    let plain = env!("CARGO_BIN_EXE_zen-startup-plain");
    // A metadata server that accepts and never answers: `auto` off Google Cloud.
    let silent_metadata = zen_tests::collector::Blackhole::start();
    let metadata_host = silent_metadata.endpoint().trim_start_matches("http://").to_owned();
    let environments: &[(&str, &[(&str, &str)])] = &[
        ("no destination", &[]),
        (
            "auto, metadata server never answers, 100% sampled",
            &[
                ("NO_GCE_CHECK", "false"),
                ("GCE_METADATA_HOST", &metadata_host),
                ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
                ("ZEN_TELEMETRY_SHUTDOWN_TIMEOUT_MS", "0"),
            ],
        ),
        ("disabled", &[("ZEN_TELEMETRY_DISABLED", "1")]),
        // An unroutable collector: nothing may wait on the network at start-up.
        (
            "OTLP to an unroutable address, 100% sampled",
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://10.255.255.1:4317"),
                ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
                ("ZEN_TELEMETRY_SHUTDOWN_TIMEOUT_MS", "0"),
            ],
        ),
        (
            "file exporter, 100% sampled",
            &[
                ("ZEN_TELEMETRY_EXPORTER", "file"),
                ("ZEN_TELEMETRY_FILE", "/dev/null"),
                ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
            ],
        ),
    ];
    println!("| environment | plain (median) | with zen-telemetry (median) | added |");
    println!("|---|---:|---:|---:|");
    for (label, env) in environments {
        let mut plain_samples = Vec::with_capacity(RUNS);
        let mut traced_samples = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            plain_samples.push(run_once(plain, env));
            traced_samples.push(run_once(traced, env));
        }
        let (p, t) = (median(plain_samples), median(traced_samples));
        let added = t.as_secs_f64() * 1000.0 - p.as_secs_f64() * 1000.0;
        println!(
            "| {label} | {:.3} ms | {:.3} ms | {added:+.3} ms {} |",
            p.as_secs_f64() * 1000.0,
            t.as_secs_f64() * 1000.0,
            if added <= 1.0 {
                "(<= 1 ms: ok)"
            } else {
                "(> 1 ms: target missed)"
            }
        );
    }
}
