//! Spans delivered per second at saturation to a loopback OTLP receiver
//! that only counts (`zen_tests::counting`): zen's pipeline against the SDK's `BatchSpanProcessor` with
//! `opentelemetry-otlp`'s gRPC exporter, in the same run, to the same
//! receiver, with the same spans (a root and a child per call, with the same
//! names and status, so the same bytes) and the same
//! queue and batch sizes (the defaults: 2048 and 512).
//!
//! `cargo bench -p zen-tests --bench export_throughput`
//!
//! Each side runs in a child process of its own (this binary again), so
//! neither pipeline shares a process, a runtime or a global with the other.
//! The calls run as fast as one thread can make them, more than either
//! exporter sends, so what arrives per second is the export path's ceiling;
//! the rest is dropped at the queue, and the delivered fraction is printed.
//!
//! On 2 cores the calling thread holds one; the export side and the
//! receiver share the other, so the CPU each spends per delivered span is
//! printed too.
//!
//! zen's Google path (`ZEN_TELEMETRY_EXPORTER=gcp`: the Telemetry API's
//! limits applied, a token from a loopback OAuth fake) goes to the same
//! receiver too, as a row of its own.
//!
//! Goal: zen delivers at least 2x the SDK pipeline's spans per second.
//! (Printed, not asserted: timing is for benchmarks.)

use std::process::Command;
use std::time::{Duration, Instant};

use zen_tests::counting::CountingReceiver;
use zen_tests::gcp_fakes::FakeCredentials;

const CALLS: u64 = 1_000_000;
const SPANS_PER_CALL: u64 = 2;
const RUNS: usize = 3;
const SIDE: &str = "ZEN_EXPORT_BENCH_SIDE";

#[zen_telemetry::traced]
fn child(x: u64) -> u64 {
    std::hint::black_box(x)
}

#[zen_telemetry::traced]
fn parent(x: u64) -> u64 {
    child(x)
}

/// The zen side: the calls, then a flush; prints the time they took.
fn zen_side() {
    let start = Instant::now();
    for i in 0..CALLS {
        std::hint::black_box(parent(i));
    }
    if let Some(provider) = zen_telemetry::tracer_provider() {
        let _ = provider.force_flush();
    }
    println!("{}", start.elapsed().as_nanos());
}

/// The SDK side: the same spans through the SDK's tracer.
fn sdk_side(endpoint: &str) {
    use opentelemetry::trace::{TraceContextExt as _, Tracer, TracerProvider as _};
    use opentelemetry_otlp::WithExportConfig;

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => panic!("no runtime: {error}"),
    };
    // tonic's channel spawns its connection task on the runtime entered here.
    let _entered = runtime.enter();
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
    {
        Ok(exporter) => exporter,
        Err(error) => panic!("no exporter: {error}"),
    };
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    let tracer = provider.tracer("bench");
    // The names and status `#[traced]` gives zen's spans, so both sides
    // send the same bytes per span.
    let (parent, child) = (concat!(module_path!(), "::parent"), concat!(module_path!(), "::child"));
    let ok = |cx: opentelemetry::Context| cx.span().set_status(opentelemetry::trace::Status::Ok);
    let start = Instant::now();
    for i in 0..CALLS {
        tracer.in_span(parent, |cx| {
            tracer.in_span(child, |cx| {
                std::hint::black_box(i);
                ok(cx);
            });
            ok(cx);
        });
    }
    let _ = provider.force_flush();
    println!("{}", start.elapsed().as_nanos());
    let _ = provider.shutdown();
}

struct Round {
    elapsed: Duration,
    delivered: u64,
    /// CPU time of the traced process beyond its calling thread's (the
    /// export side: queue, encoding, gRPC), and of the receiver.
    export_cpu: Duration,
    receiver_cpu: Duration,
}

impl Round {
    fn per_second(&self) -> f64 {
        self.delivered as f64 / self.elapsed.as_secs_f64()
    }

    /// Microseconds of CPU per delivered span.
    fn per_span(&self, cpu: Duration) -> f64 {
        cpu.as_secs_f64() * 1e6 / self.delivered.max(1) as f64
    }
}

/// User and system CPU time of this process (`RUSAGE_SELF`) or of its
/// waited-for children (`RUSAGE_CHILDREN`).
fn cpu_time(who: libc::c_int) -> Duration {
    // SAFETY: `getrusage` only writes the struct it is given, which is
    // plain data that all-zero bytes make valid.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut usage);
        usage
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

fn run_side(side: &str, google: &FakeCredentials) -> Round {
    let receiver = CountingReceiver::start();
    let endpoint = receiver.endpoint();
    let (exporter, side) = match side {
        "zen-gcp" => ("gcp", "zen"),
        other => ("otlp", other),
    };
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(error) => panic!("no current exe: {error}"),
    };
    let (children_before, self_before) = (cpu_time(libc::RUSAGE_CHILDREN), cpu_time(libc::RUSAGE_SELF));
    let output = Command::new(exe)
        .env(SIDE, side)
        .env("ZEN_TELEMETRY_EXPORTER", exporter)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("ZEN_TELEMETRY_GCP_ENDPOINT", &endpoint)
        .env("GOOGLE_CLOUD_PROJECT", "zen-bench-project")
        .env("GOOGLE_APPLICATION_CREDENTIALS", &google.file)
        .env("NO_GCE_CHECK", "true")
        .env("ZEN_TELEMETRY_SAMPLE_RATE", "1")
        .env("ZEN_TELEMETRY_SPOOL", "off")
        .env("ZEN_TELEMETRY_METRICS", "off")
        .env_remove("OTEL_BSP_MAX_QUEUE_SIZE")
        .env_remove("OTEL_BSP_MAX_EXPORT_BATCH_SIZE")
        .output();
    let output = match output {
        Ok(output) if output.status.success() => output,
        Ok(output) => panic!("{side}: {output:?}"),
        Err(error) => panic!("{side}: {error}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let nanos: u64 = match stdout.trim().parse() {
        Ok(nanos) => nanos,
        Err(error) => panic!("{side}: {error} in {stdout:?}"),
    };
    let elapsed = Duration::from_nanos(nanos);
    let child_cpu = cpu_time(libc::RUSAGE_CHILDREN).saturating_sub(children_before);
    Round {
        elapsed,
        delivered: receiver.spans(),
        // The calling thread is busy for all of `elapsed`.
        export_cpu: child_cpu.saturating_sub(elapsed),
        receiver_cpu: cpu_time(libc::RUSAGE_SELF).saturating_sub(self_before),
    }
}

fn median_round(side: &str, google: &FakeCredentials) -> Round {
    let mut rounds: Vec<Round> = (0..RUNS).map(|_| run_side(side, google)).collect();
    rounds.sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
    rounds.swap_remove(RUNS / 2)
}

fn main() {
    match std::env::var(SIDE).as_deref() {
        Ok("zen") => return zen_side(),
        Ok("sdk") => {
            let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").unwrap_or_default();
            return sdk_side(&endpoint);
        }
        _ => {}
    }
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let made = CALLS * SPANS_PER_CALL;
    println!("\n## Export throughput at saturation (median of {RUNS} runs, {made} spans made per run)\n");
    println!(
        "| pipeline | calls took | delivered | delivered fraction | spans/s delivered | export CPU per span | receiver CPU per span |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut rates = Vec::new();
    // The Google side gets its token from a loopback OAuth fake.
    let google = FakeCredentials::start("export-bench-gcp", 3600);
    for (side, label) in [
        ("zen", "zen (OTLP/gRPC)"),
        ("sdk", "SDK BatchSpanProcessor + opentelemetry-otlp (tonic)"),
        ("zen-gcp", "zen, Google path (OTLP/gRPC, Telemetry API limits)"),
    ] {
        let round = median_round(side, &google);
        println!(
            "| {label} | {:.0} ms | {} | {:.1}% | {:.2} M | {:.2} µs | {:.2} µs |",
            round.elapsed.as_secs_f64() * 1000.0,
            round.delivered,
            round.delivered as f64 * 100.0 / made as f64,
            round.per_second() / 1e6,
            round.per_span(round.export_cpu),
            round.per_span(round.receiver_cpu),
        );
        rates.push(round.per_second());
    }
    let ratio = rates[0] / rates[1];
    let verdict = if ratio >= 2.0 { "ok" } else { "MISSED" };
    println!("\nzen / SDK, spans delivered per second: {ratio:.2} (target >= 2.0) {verdict}");
    println!(
        "zen's Google path / zen's OTLP path, spans delivered per second: {:.2}",
        rates[2] / rates[0]
    );
}
