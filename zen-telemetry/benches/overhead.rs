//! Overhead of `#[traced]` side by side with its anchors, in one run.
//!
//! `cargo bench -p zen-telemetry --bench overhead`
//!
//! Every configuration measures ns per call of the same trivial
//! `#[inline(never)]` function. Export pipelines are drained between samples,
//! outside the timed part, so queue drops do not flatter the numbers; the
//! fraction of spans delivered is printed. The run ends with a summary table
//! and the ratios the performance targets are stated in.
//!
//! The span rows run with metrics off, so they measure what their names say;
//! the `zen_metrics_*` and `zen_defaults` rows count every call as shipped.
//! The metric anchors record what `#[traced]` records (a call counter with
//! `function`, `module`, `result` and a duration histogram with `function`,
//! `module`), written by hand against each library.

mod estimates;
mod interleaved;

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::Criterion;
use estimates::{criterion_dir, median_ns};
use opentelemetry::trace::{Tracer, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{BatchSpanProcessor, Sampler, SdkTracerProvider, SpanData, SpanExporter};
use tracing_subscriber::layer::SubscriberExt;
use zen_telemetry::bench as bench_control;
use zen_telemetry::traced;

#[inline(never)]
fn work(x: u64) -> u64 {
    black_box(x).wrapping_add(1)
}

static FLOOR_FLAG: AtomicBool = AtomicBool::new(false);

#[inline(never)]
fn floor_slow_path(x: u64) -> u64 {
    black_box(x);
    work(x)
}

/// The cheapest possible off switch: a relaxed load and a branch to a path
/// that does something else. (A branch to nothing is deleted by the
/// optimiser, which would make the floor the bare call.)
#[inline(never)]
fn atomic_floor(x: u64) -> u64 {
    if FLOOR_FLAG.load(Ordering::Relaxed) {
        return floor_slow_path(x);
    }
    work(x)
}

#[traced("bench.work")]
#[inline(never)]
fn traced_work(x: u64) -> u64 {
    work(x)
}

#[traced("bench.parent")]
#[inline(never)]
fn traced_parent(x: u64) -> u64 {
    traced_work(x)
}

#[traced("bench.async")]
async fn traced_async(x: u64) -> u64 {
    work(x)
}

/// The async floor: the same off switch inside an async fn, polled the same way.
async fn atomic_floor_async(x: u64) -> u64 {
    atomic_floor(x)
}

#[autometrics::autometrics]
#[inline(never)]
fn autometrics_work(x: u64) -> u64 {
    work(x)
}

/// The OTel SDK's own instruments, as a user would write them by hand.
struct SdkInstruments {
    calls: opentelemetry::metrics::Counter<u64>,
    duration: opentelemetry::metrics::Histogram<f64>,
}

impl SdkInstruments {
    fn new(provider: &opentelemetry_sdk::metrics::SdkMeterProvider) -> SdkInstruments {
        use opentelemetry::metrics::MeterProvider as _;
        let meter = provider.meter("bench");
        SdkInstruments {
            calls: meter.u64_counter("function.calls").build(),
            duration: meter.f64_histogram("function.calls.duration").with_unit("s").build(),
        }
    }

    #[inline(never)]
    fn work(&self, x: u64) -> u64 {
        let start = Instant::now();
        let result = work(x);
        let seconds = start.elapsed().as_secs_f64();
        let function = opentelemetry::KeyValue::new("function", "bench.work");
        let module = opentelemetry::KeyValue::new("module", "overhead");
        self.calls.add(
            1,
            &[
                function.clone(),
                module.clone(),
                opentelemetry::KeyValue::new("result", "ok"),
            ],
        );
        self.duration.record(seconds, &[function, module]);
        result
    }
}

/// The `metrics` facade, as a user would write it by hand.
#[inline(never)]
fn metrics_facade_work(x: u64) -> u64 {
    let start = Instant::now();
    let result = work(x);
    let seconds = start.elapsed().as_secs_f64();
    metrics::counter!("function.calls", "function" => "bench.work", "module" => "overhead", "result" => "ok")
        .increment(1);
    metrics::histogram!("function.calls.duration", "function" => "bench.work", "module" => "overhead").record(seconds);
    result
}

/// Per-call cost of `f` with two threads calling it at once: each thread
/// makes `iters` calls and the wall time of both is divided by `iters`, so
/// perfect scaling reads as the one-thread figure.
fn timed_two_threads(iters: u64, f: fn(u64) -> u64) -> Duration {
    let barrier = std::sync::Barrier::new(3);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                barrier.wait();
                for i in 0..iters {
                    black_box(f(i));
                }
                barrier.wait();
            });
        }
        barrier.wait();
        let start = Instant::now();
        barrier.wait();
        start.elapsed()
    })
}

#[tracing::instrument(skip_all)]
#[inline(never)]
fn tracing_work(x: u64) -> u64 {
    work(x)
}

#[fastrace::trace]
#[inline(never)]
fn fastrace_work(x: u64) -> u64 {
    work(x)
}

/// Async anchors for the disabled async path. fastrace, like `#[traced]`,
/// starts its span at the call; tracing makes its span at the first poll.
#[fastrace::trace]
async fn fastrace_async(x: u64) -> u64 {
    work(x)
}

#[tracing::instrument(skip_all)]
async fn tracing_async(x: u64) -> u64 {
    work(x)
}

static DISCARDED: AtomicU64 = AtomicU64::new(0);

#[derive(Debug)]
struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        DISCARDED.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

fn raw_provider(sampler: Sampler) -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_sampler(sampler)
        .with_span_processor(BatchSpanProcessor::builder(Discard).build())
        .build()
}

/// Spans fastrace's reporter received, against the spans the sampled anchor
/// made (roots included), for its delivered fraction.
static FASTRACE_REPORTED: AtomicU64 = AtomicU64::new(0);
static FASTRACE_MADE: AtomicU64 = AtomicU64::new(0);

/// Calls under one fastrace root. fastrace collects a root's local spans
/// when the root ends and keeps a bounded number per root, so one root over
/// a whole sample would measure spans it never collects.
const FASTRACE_CALLS_PER_ROOT: u64 = 100;

struct FastraceCounting;

impl fastrace::collector::Reporter for FastraceCounting {
    fn report(&mut self, spans: Vec<fastrace::prelude::SpanRecord>) {
        FASTRACE_REPORTED.fetch_add(spans.len() as u64, Ordering::Relaxed);
        black_box(spans);
    }
}

/// `iters` traced calls under fresh sampled fastrace roots, each ended (and
/// so handed to the collector) inside the timed part; the reporter's flush
/// runs after, as our drain does.
fn fastrace_sampled(iters: u64) -> Duration {
    fastrace_sampled_calls(iters, fastrace_work)
}

/// The same with fastrace's async `#[trace]`, polled to completion.
fn fastrace_async_sampled(iters: u64) -> Duration {
    fastrace_sampled_calls(iters, |i| poll_to_completion(fastrace_async(i)))
}

fn fastrace_sampled_calls(iters: u64, call: impl Fn(u64) -> u64) -> Duration {
    let start = Instant::now();
    fastrace_under_roots(iters, &call);
    let elapsed = start.elapsed();
    fastrace::flush();
    elapsed
}

/// `iters` calls of `call` under fresh sampled roots of
/// [`FASTRACE_CALLS_PER_ROOT`] calls each.
fn fastrace_under_roots(iters: u64, call: &dyn Fn(u64) -> u64) {
    let mut done = 0;
    while done < iters {
        let calls = FASTRACE_CALLS_PER_ROOT.min(iters - done);
        let root = fastrace::Span::root("bench.root", fastrace::prelude::SpanContext::random());
        {
            let _guard = root.set_local_parent();
            for i in done..done + calls {
                black_box(call(i));
            }
        }
        drop(root);
        done += calls;
    }
    FASTRACE_MADE.fetch_add(iters + iters.div_ceil(FASTRACE_CALLS_PER_ROOT), Ordering::Relaxed);
}

fn poll_to_completion<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

/// Times `iters` calls of `f`, then runs `drain` outside the timed part.
fn timed(iters: u64, mut f: impl FnMut(u64) -> u64, drain: impl Fn()) -> Duration {
    let start = Instant::now();
    for i in 0..iters {
        black_box(f(i));
    }
    let elapsed = start.elapsed();
    drain();
    elapsed
}

fn main() {
    // The same discarding exporter as the raw SDK anchors, behind zen's own
    // batch processor, so the comparison is of span costs, not exporters.
    let config = zen_telemetry::Config::builder()
        .exporter(zen_telemetry::ExporterKind::File)
        .file_path("/dev/null")
        .sample_rate(0.1)
        .build();
    let _ = zen_telemetry::bench::init_with_exporter(config, Discard);
    let zen_provider = zen_telemetry::tracer_provider();
    let zen_drain = || {
        if let Some(provider) = &zen_provider {
            let _ = provider.force_flush();
        }
    };

    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();

    // Stored once so the optimiser cannot treat the flag as a constant.
    FLOOR_FLAG.store(black_box(false), Ordering::Relaxed);
    criterion.bench_function("baseline", |b| b.iter_custom(|n| timed(n, work, || {})));
    criterion.bench_function("atomic_floor", |b| b.iter_custom(|n| timed(n, atomic_floor, || {})));

    criterion.bench_function("atomic_floor_async", |b| {
        b.iter_custom(|n| timed(n, |i| poll_to_completion(atomic_floor_async(i)), || {}))
    });

    bench_control::set_on(Some(false));
    criterion.bench_function("zen_disabled", |b| b.iter_custom(|n| timed(n, traced_work, || {})));
    criterion.bench_function("zen_disabled_async", |b| {
        b.iter_custom(|n| timed(n, |i| poll_to_completion(traced_async(i)), || {}))
    });
    // "Enabled with no exporter" takes exactly the disabled path: with no
    // destination the runtime state is off. Measured as its own entry anyway.
    criterion.bench_function("zen_no_exporter", |b| b.iter_custom(|n| timed(n, traced_work, || {})));
    // No subscriber is set here, and no fastrace root is current: both are off.
    criterion.bench_function("tracing_disabled_async", |b| {
        b.iter_custom(|n| timed(n, |i| poll_to_completion(tracing_async(i)), || {}))
    });
    criterion.bench_function("fastrace_unsampled_async", |b| {
        b.iter_custom(|n| timed(n, |i| poll_to_completion(fastrace_async(i)), || {}))
    });

    bench_control::set_on(Some(true));
    bench_control::set_metrics(true);
    bench_control::set_sample_rate(0.0);
    criterion.bench_function("zen_metrics_rate0", |b| b.iter_custom(|n| timed(n, traced_work, || {})));
    criterion.bench_function("zen_metrics_rate0_2_threads", |b| {
        b.iter_custom(|n| timed_two_threads(n, traced_work))
    });
    bench_control::set_sample_rate(0.1);
    criterion.bench_function("zen_defaults", |b| b.iter_custom(|n| timed(n, traced_work, zen_drain)));
    bench_control::set_metrics(false);

    let before = zen_telemetry::stats();
    bench_control::set_sample_rate(0.1);
    criterion.bench_function("zen_sampled_10pct", |b| {
        b.iter_custom(|n| timed(n, traced_work, zen_drain))
    });
    bench_control::set_sample_rate(1.0);
    criterion.bench_function("zen_sampled_100pct", |b| {
        b.iter_custom(|n| timed(n, traced_work, zen_drain))
    });
    criterion.bench_function("zen_nested_100pct", |b| {
        b.iter_custom(|n| timed(n, traced_parent, zen_drain))
    });
    criterion.bench_function("zen_async_100pct", |b| {
        b.iter_custom(|n| timed(n, |i| poll_to_completion(traced_async(i)), zen_drain))
    });
    zen_drain();
    let after = zen_telemetry::stats();
    bench_control::set_on(Some(false));

    let always_on = raw_provider(Sampler::AlwaysOn);
    let always_on_tracer = always_on.tracer("bench");
    let always_on_drain = || {
        let _ = always_on.force_flush();
    };
    criterion.bench_function("raw_sdk_always_on", |b| {
        b.iter_custom(|n| {
            timed(
                n,
                |i| always_on_tracer.in_span("bench.work", |_cx| work(i)),
                always_on_drain,
            )
        })
    });
    let ratio = raw_provider(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.1))));
    let ratio_tracer = ratio.tracer("bench");
    criterion.bench_function("raw_sdk_parent_ratio_10pct", |b| {
        b.iter_custom(|n| {
            timed(
                n,
                |i| ratio_tracer.in_span("bench.work", |_cx| work(i)),
                || {
                    let _ = ratio.force_flush();
                },
            )
        })
    });

    let meter_provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
        .with_reader(opentelemetry_sdk::metrics::ManualReader::default())
        .build();
    let instruments = SdkInstruments::new(&meter_provider);
    criterion.bench_function("sdk_metric_instruments", |b| {
        b.iter_custom(|n| timed(n, |i| instruments.work(i), || {}))
    });
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    metrics::with_local_recorder(&recorder, || {
        criterion.bench_function("metrics_prometheus", |b| {
            b.iter_custom(|n| timed(n, metrics_facade_work, || {}))
        });
    });
    criterion.bench_function("autometrics_prometheus_client", |b| {
        b.iter_custom(|n| timed(n, autometrics_work, || {}))
    });

    let tracing_provider = raw_provider(Sampler::AlwaysOn);
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(tracing_provider.tracer("bench")));
    tracing::subscriber::with_default(subscriber, || {
        criterion.bench_function("tracing_opentelemetry", |b| {
            b.iter_custom(|n| {
                timed(n, tracing_work, || {
                    let _ = tracing_provider.force_flush();
                })
            })
        });
    });

    fastrace::set_reporter(FastraceCounting, fastrace::collector::Config::default());
    criterion.bench_function("fastrace_unsampled", |b| {
        b.iter_custom(|n| timed(n, fastrace_work, || {}))
    });
    criterion.bench_function("fastrace_sampled", |b| b.iter_custom(fastrace_sampled));
    criterion.bench_function("fastrace_async_sampled", |b| b.iter_custom(fastrace_async_sampled));

    criterion.final_summary();
    interleaved_comparisons(
        &zen_drain,
        &|| {
            let _ = ratio.force_flush();
        },
        &ratio_tracer,
    );
    let recorded = after.spans_recorded - before.spans_recorded;
    let delivered = after.spans_exported - before.spans_exported;
    summary(recorded, delivered);
}

/// zen's state for one side of a comparison: on or off, sample rate, metrics.
fn zen_state(on: bool, rate: f64, metrics: bool) {
    bench_control::set_mutable_spans(true);
    bench_control::set_on(Some(on));
    bench_control::set_sample_rate(rate);
    bench_control::set_metrics(metrics);
}

/// `n` calls of `f`.
fn calls(n: u64, f: impl Fn(u64) -> u64) {
    for i in 0..n {
        black_box(f(i));
    }
}

/// The targets' comparisons, interleaved and timed by the calling thread's
/// CPU clock (see `interleaved`), printed as a table of their own.
fn interleaved_comparisons(
    zen_drain: &dyn Fn(),
    ratio_drain: &dyn Fn(),
    ratio_tracer: &opentelemetry_sdk::trace::SdkTracer,
) {
    use interleaved::{Side, compare};
    const ROUNDS: usize = 301;
    const BLOCK: u64 = 2_000;
    let nothing = || {};
    let sampled = || zen_state(true, 1.0, false);
    let sampled_on_the_stack = || {
        zen_state(true, 1.0, false);
        bench_control::set_mutable_spans(false);
    };
    let tenth = || zen_state(true, 0.1, false);
    let defaults = || zen_state(true, 0.1, true);
    let off = || zen_state(false, 0.0, false);
    let fastrace_flush = || fastrace::flush();
    let side = |name, setup, run, drain| Side {
        name,
        setup,
        run,
        drain,
    };
    let zen_one = |n| calls(n, traced_work);
    let zen_two = |n| calls(n, traced_parent);
    let zen_async = |n| calls(n, |i| poll_to_completion(traced_async(i)));
    let fastrace_one = |n| fastrace_under_roots(n, &fastrace_work);
    let fastrace_async_one = |n| fastrace_under_roots(n, &|i| poll_to_completion(fastrace_async(i)));
    let sdk_ratio = |n| calls(n, |i| ratio_tracer.in_span("bench.work", |_cx| work(i)));
    let floor = |n| calls(n, atomic_floor);
    let tracing_off_async = |n| calls(n, |i| poll_to_completion(tracing_async(i)));
    let rows: [(Side<'_>, Side<'_>, &str); 8] = [
        (
            side("zen 100% sampled", &sampled, &zen_one, zen_drain),
            side("fastrace sampled", &nothing, &fastrace_one, &fastrace_flush),
            "<= 1.0",
        ),
        (
            side(
                "zen 100% sampled, span on the stack",
                &sampled_on_the_stack,
                &zen_one,
                zen_drain,
            ),
            side("zen 100% sampled, span in the context", &sampled, &zen_one, zen_drain),
            "(A/B of the span path)",
        ),
        (
            side("zen nested (2 spans)", &sampled, &zen_two, zen_drain),
            side("fastrace sampled", &nothing, &fastrace_one, &fastrace_flush),
            "<= 2.0",
        ),
        (
            side("zen async 100%", &sampled, &zen_async, zen_drain),
            side("fastrace async sampled", &nothing, &fastrace_async_one, &fastrace_flush),
            "<= 1.0",
        ),
        (
            side("zen 10% sampled", &tenth, &zen_one, zen_drain),
            side("raw SDK ParentBased(0.1)", &off, &sdk_ratio, ratio_drain),
            "<= 0.10",
        ),
        (
            side("zen defaults (metrics + 10%)", &defaults, &zen_one, zen_drain),
            side("raw SDK ParentBased(0.1)", &off, &sdk_ratio, ratio_drain),
            "<= 0.15",
        ),
        (
            side("zen disabled", &off, &zen_one, &nothing),
            side("atomic floor", &off, &floor, &nothing),
            "<= 1.2",
        ),
        (
            side("zen disabled async", &off, &zen_async, &nothing),
            side("tracing disabled async", &off, &tracing_off_async, &nothing),
            "<= 1.0",
        ),
    ];
    println!(
        "\n## Interleaved A/B (calling thread's CPU ns per call, median of {ROUNDS} alternating blocks of {BLOCK} calls)\n"
    );
    println!("| A | B | A ns | B ns | A / B | target |\n|---|---|---:|---:|---:|---|");
    // `OVERHEAD_AB=<text>`: only the rows whose A or B names contain it.
    let only = std::env::var("OVERHEAD_AB").unwrap_or_default();
    for (a, b, target) in rows {
        if !(a.name.contains(&only) || b.name.contains(&only)) {
            continue;
        }
        let (a_ns, b_ns) = compare(&a, &b, ROUNDS, BLOCK);
        println!(
            "| {} | {} | {a_ns:.1} | {b_ns:.1} | {:.2} | {target} |",
            a.name,
            b.name,
            a_ns / b_ns
        );
    }
    off();
}

/// `part` as a percentage of `whole`; 0 when there is no whole.
fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

fn summary(recorded: u64, delivered: u64) {
    let names = [
        "baseline",
        "atomic_floor",
        "atomic_floor_async",
        "zen_disabled",
        "zen_disabled_async",
        "zen_no_exporter",
        "tracing_disabled_async",
        "fastrace_unsampled_async",
        "zen_metrics_rate0",
        "zen_metrics_rate0_2_threads",
        "zen_defaults",
        "zen_sampled_10pct",
        "zen_sampled_100pct",
        "zen_nested_100pct",
        "zen_async_100pct",
        "raw_sdk_always_on",
        "raw_sdk_parent_ratio_10pct",
        "tracing_opentelemetry",
        "fastrace_unsampled",
        "fastrace_sampled",
        "fastrace_async_sampled",
        "sdk_metric_instruments",
        "metrics_prometheus",
        "autometrics_prometheus_client",
    ];
    println!("\n## Summary (median ns per call)\n");
    println!("| configuration | ns/call |\n|---|---:|");
    let dir = criterion_dir();
    let mut missing = false;
    for name in names {
        match median_ns(&dir, name) {
            Some(ns) => println!("| {name} | {ns:.1} |"),
            None => {
                missing = true;
                println!("| {name} | (not measured) |");
            }
        }
    }
    if missing {
        println!(
            "\n(no criterion estimates found under {}: a bench filtered out, or criterion \
             wrote elsewhere)",
            dir
        );
    }
    let get = |name: &str| median_ns(&dir, name).unwrap_or(f64::NAN);
    println!(
        "\nspans recorded by zen: {recorded}, delivered to the exporter: {delivered} ({:.1}%)",
        percent(delivered, recorded)
    );
    let (made, reported) = (
        FASTRACE_MADE.load(Ordering::Relaxed),
        FASTRACE_REPORTED.load(Ordering::Relaxed),
    );
    println!(
        "fastrace sampled spans made: {made}, reported: {reported} ({:.1}%)",
        percent(reported, made)
    );
    println!("\n## Ratios (target in brackets)\n");
    let rows = [
        (
            "disabled / atomic floor",
            get("zen_disabled") / get("atomic_floor"),
            "<= 1.2",
        ),
        (
            "disabled, async / async atomic floor",
            get("zen_disabled_async") / get("atomic_floor_async"),
            "<= 1.2",
        ),
        (
            "disabled, async / tracing::instrument async, no subscriber",
            get("zen_disabled_async") / get("tracing_disabled_async"),
            "(anchor)",
        ),
        (
            "disabled, async / fastrace::trace async, no root",
            get("zen_disabled_async") / get("fastrace_unsampled_async"),
            "(anchor)",
        ),
        (
            "metrics, traces at rate 0 / hand-written SDK counter + histogram",
            get("zen_metrics_rate0") / get("sdk_metric_instruments"),
            "<= 0.15",
        ),
        (
            "metrics, traces at rate 0 / metrics + Prometheus recorder",
            get("zen_metrics_rate0") / get("metrics_prometheus"),
            "(anchor)",
        ),
        (
            "metrics, traces at rate 0 / autometrics (prometheus-client)",
            get("zen_metrics_rate0") / get("autometrics_prometheus_client"),
            "(anchor)",
        ),
        (
            "defaults (metrics + 10%) / raw SDK ParentBased(0.1) traces alone",
            get("zen_defaults") / get("raw_sdk_parent_ratio_10pct"),
            "<= 0.35",
        ),
        (
            "metrics, 2 threads on one fn / 1 thread, per call",
            get("zen_metrics_rate0_2_threads") / get("zen_metrics_rate0"),
            "<= 1.3",
        ),
        (
            "10% sampled (traces only), ns per call",
            get("zen_sampled_10pct"),
            "<= 40",
        ),
        (
            "10% sampled / raw SDK ParentBased(0.1)",
            get("zen_sampled_10pct") / get("raw_sdk_parent_ratio_10pct"),
            "<= 0.15",
        ),
        (
            "100% sampled / raw SDK AlwaysOn",
            get("zen_sampled_100pct") / get("raw_sdk_always_on"),
            "<= 0.5",
        ),
        (
            "100% sampled / fastrace sampled span",
            get("zen_sampled_100pct") / get("fastrace_sampled"),
            "<= 1.0",
        ),
        (
            "100% sampled / tracing + tracing-opentelemetry",
            get("zen_sampled_100pct") / get("tracing_opentelemetry"),
            "<= 0.25",
        ),
        (
            "nested (2 spans) / 2x raw SDK AlwaysOn",
            get("zen_nested_100pct") / (2.0 * get("raw_sdk_always_on")),
            "<= 0.5",
        ),
        (
            "async / raw SDK AlwaysOn",
            get("zen_async_100pct") / get("raw_sdk_always_on"),
            "<= 0.5",
        ),
    ];
    println!("| ratio | measured | target | |\n|---|---:|---|---|");
    for (label, value, target) in rows {
        let verdict = match target.strip_prefix("<= ").and_then(|limit| limit.parse::<f64>().ok()) {
            Some(limit) if value <= limit => "ok",
            Some(_) => "MISSED",
            None => "",
        };
        println!("| {label} | {value:.2} | {target} | {verdict} |");
    }
}
