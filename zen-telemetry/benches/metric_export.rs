//! The cost of one metric export as the number of series grows: every
//! series goes in every export, so this is what an export costs a process.
//!
//! Anchor, measured in the same run: what the OpenTelemetry SDK's own OTLP
//! path does with the same instrument (`ManualReader` collect, conversion
//! to an `ExportMetricsServiceRequest`, protobuf encoding). Our export adds
//! the continuation (carried values added per series), the cut into
//! requests of 200 points, and, with a slot, writing the slot file (a
//! rename and an fsync).
//!
//! And the exemplars' share of a sampled call: counting a call (what every
//! traced call does) against counting it and keeping it as its bucket's
//! exemplar (what a sampled call does besides), A/B in the same run.

mod estimates;

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use zen_telemetry::bench::{CallCounter, MetricExport};

const SIZES: [usize; 3] = [100, 1_000, 10_000];

fn main() {
    let slots = tempfile::tempdir().expect("a temporary directory");
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    static COUNTED: CallCounter = CallCounter::new();
    static EXEMPLARS: CallCounter = CallCounter::new();
    criterion.bench_function("count_call", |b| {
        let mut nanos = 0u64;
        b.iter(|| {
            nanos = nanos.wrapping_add(7919) % 20_000_000;
            COUNTED.count(black_box(nanos))
        })
    });
    criterion.bench_function("count_sampled_call", |b| {
        let mut nanos = 0u64;
        b.iter(|| {
            nanos = nanos.wrapping_add(7919) % 20_000_000;
            EXEMPLARS.count_sampled(black_box(nanos), black_box(u128::from(nanos) << 3), black_box(nanos))
        })
    });
    for series in SIZES {
        let mut per_process = MetricExport::new(series, None);
        let mut continued = MetricExport::new(series, Some(&slots.path().join(series.to_string())));
        criterion.bench_function(&format!("sdk_otlp_{series}"), |b| {
            b.iter(|| black_box(per_process.sdk_export()))
        });
        criterion.bench_function(&format!("zen_per_process_{series}"), |b| {
            b.iter(|| black_box(per_process.export()))
        });
        criterion.bench_function(&format!("zen_continued_{series}"), |b| {
            b.iter(|| black_box(continued.export()))
        });
    }
    criterion.final_summary();

    let dir = estimates::criterion_dir();
    let get = |name: &str| estimates::median_ns(&dir, name).unwrap_or(f64::NAN);
    let (count, sampled) = (get("count_call"), get("count_sampled_call"));
    println!(
        "\n## A call's count\n\ncounted: {count:.2} ns; counted with its exemplar kept: {sampled:.2} ns; \
         the exemplar adds {:.2} ns to a sampled call (target <= 2 ns)",
        sampled - count
    );
    println!("\n## One metric export (medians; every series in every export)\n");
    println!(
        "| series | SDK OTLP path | zen, per-process series | zen, continued (slot written) | zen per-process / SDK | per 1 000 series, continued |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for series in SIZES {
        let (sdk, own, continued) = (
            get(&format!("sdk_otlp_{series}")),
            get(&format!("zen_per_process_{series}")),
            get(&format!("zen_continued_{series}")),
        );
        println!(
            "| {series} | {:.1} µs | {:.1} µs | {:.1} µs | {:.2}× | {:.1} µs |",
            sdk / 1e3,
            own / 1e3,
            continued / 1e3,
            own / sdk,
            continued / 1e3 / series as f64 * 1000.0
        );
    }
}
