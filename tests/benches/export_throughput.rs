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
//! zen also sends over OTLP/HTTP (protobuf bodies, to the same kind of
//! counting receiver speaking HTTP/1.1), each transport with and without
//! gzip, and down its Google path (`ZEN_TELEMETRY_EXPORTER=gcp`: the
//! Telemetry API's limits applied, a token from a loopback OAuth fake), each
//! a row of its own. Over HTTP the receiver counts the body bytes as they
//! came, which gives the bytes a 512-span batch takes on the wire.
//!
//! Goals: zen over gRPC delivers at least 2x the SDK pipeline's spans per
//! second; no other zen path delivers less than 0.9x zen over gRPC.
//! (Printed, not asserted: timing is for benchmarks.)

use std::process::Command;
use std::time::{Duration, Instant};

use zen_tests::counting::CountingReceiver;
use zen_tests::gcp_fakes::FakeCredentials;
use zen_tests::receiver::Protocol;

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

/// One row: which side, and how zen's side exports.
struct Pipeline {
    label: &'static str,
    side: &'static str,
    exporter: &'static str,
    protocol: Protocol,
    compression: &'static str,
}

const PIPELINES: [Pipeline; 6] = [
    Pipeline {
        label: "zen (OTLP/gRPC)",
        side: "zen",
        exporter: "otlp",
        protocol: Protocol::Grpc,
        compression: "none",
    },
    Pipeline {
        label: "SDK BatchSpanProcessor + opentelemetry-otlp (tonic)",
        side: "sdk",
        exporter: "otlp",
        protocol: Protocol::Grpc,
        compression: "none",
    },
    Pipeline {
        label: "zen (OTLP/gRPC, gzip)",
        side: "zen",
        exporter: "otlp",
        protocol: Protocol::Grpc,
        compression: "gzip",
    },
    Pipeline {
        label: "zen (OTLP/HTTP)",
        side: "zen",
        exporter: "otlp",
        protocol: Protocol::HttpProtobuf,
        compression: "none",
    },
    Pipeline {
        label: "zen (OTLP/HTTP, gzip)",
        side: "zen",
        exporter: "otlp",
        protocol: Protocol::HttpProtobuf,
        compression: "gzip",
    },
    Pipeline {
        label: "zen, Google path (OTLP/gRPC, gzip as by default, Telemetry API limits)",
        side: "zen",
        exporter: "gcp",
        protocol: Protocol::Grpc,
        compression: "gzip",
    },
];

struct Round {
    elapsed: Duration,
    delivered: u64,
    /// HTTP requests and their body bytes as sent (0 over gRPC).
    wire: (u64, u64),
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

    /// Body bytes per span as they came over HTTP, if they did.
    fn wire_bytes_per_span(&self) -> Option<f64> {
        (self.wire.1 > 0).then(|| self.wire.1 as f64 / self.delivered.max(1) as f64)
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

fn run_side(pipeline: &Pipeline, google: &FakeCredentials) -> Round {
    let receiver = CountingReceiver::speaking(pipeline.protocol);
    let endpoint = receiver.endpoint();
    let side = pipeline.side;
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(error) => panic!("no current exe: {error}"),
    };
    let (children_before, self_before) = (cpu_time(libc::RUSAGE_CHILDREN), cpu_time(libc::RUSAGE_SELF));
    let mut command = Command::new(exe);
    if side == "zen" {
        // The SDK side is built for gRPC without compression in code.
        command
            .env("OTEL_EXPORTER_OTLP_PROTOCOL", pipeline.protocol.name())
            .env("OTEL_EXPORTER_OTLP_COMPRESSION", pipeline.compression);
    }
    let output = command
        .env(SIDE, side)
        .env("ZEN_TELEMETRY_EXPORTER", pipeline.exporter)
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
        wire: receiver.wire(),
        // The calling thread is busy for all of `elapsed`.
        export_cpu: child_cpu.saturating_sub(elapsed),
        receiver_cpu: cpu_time(libc::RUSAGE_SELF).saturating_sub(self_before),
    }
}

fn median(mut rounds: Vec<Round>) -> Round {
    rounds.sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
    rounds.swap_remove(rounds.len() / 2)
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
    // The Google side gets its token from a loopback OAuth fake.
    let google = FakeCredentials::start("export-bench-gcp", 3600);
    // Interleaved, so drift in machine load spreads over every row.
    let mut runs: Vec<Vec<Round>> = PIPELINES.iter().map(|_| Vec::new()).collect();
    for _ in 0..RUNS {
        for (pipeline, rounds) in PIPELINES.iter().zip(&mut runs) {
            rounds.push(run_side(pipeline, &google));
        }
    }
    let rounds: Vec<Round> = runs.into_iter().map(median).collect();
    println!("\n## Export throughput at saturation (median of {RUNS} interleaved runs, {made} spans made per run)\n");
    println!(
        "| pipeline | calls took | delivered | delivered fraction | spans/s delivered | × zen gRPC | export CPU per span | receiver CPU per span | bytes per 512-span batch on the wire |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let grpc = rounds[0].per_second();
    for (pipeline, round) in PIPELINES.iter().zip(&rounds) {
        let wire = round
            .wire_bytes_per_span()
            .map_or_else(|| "—".to_owned(), |per_span| format!("{:.0}", per_span * 512.0));
        println!(
            "| {} | {:.0} ms | {} | {:.1}% | {:.2} M | {:.2} | {:.2} µs | {:.2} µs | {wire} |",
            pipeline.label,
            round.elapsed.as_secs_f64() * 1000.0,
            round.delivered,
            round.delivered as f64 * 100.0 / made as f64,
            round.per_second() / 1e6,
            round.per_second() / grpc,
            round.per_span(round.export_cpu),
            round.per_span(round.receiver_cpu),
        );
    }
    let ratio = grpc / rounds[1].per_second();
    let verdict = if ratio >= 2.0 { "ok" } else { "MISSED" };
    println!("\nzen / SDK, spans delivered per second: {ratio:.2} (target >= 2.0) {verdict}");
    for (pipeline, round) in PIPELINES.iter().zip(&rounds).skip(2) {
        let ratio = round.per_second() / grpc;
        let verdict = if ratio >= 0.9 { "ok" } else { "MISSED" };
        println!(
            "{} / zen (OTLP/gRPC): {ratio:.2} (target >= 0.9) {verdict}",
            pipeline.label
        );
    }
    if let (Some(plain), Some(gzip)) = (rounds[3].wire_bytes_per_span(), rounds[4].wire_bytes_per_span()) {
        println!(
            "OTLP/HTTP bytes per span on the wire: {plain:.1} plain, {gzip:.1} gzip ({:.1}% of plain)",
            gzip * 100.0 / plain
        );
    }
}
