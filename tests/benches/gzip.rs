//! gzip of one 512-span OTLP request, A/B: flate2's `GzEncoder` (a new
//! encoder per batch, writing through its buffer), as `transport/gzip.rs`
//! used it, against one reused `Compress` in gzip mode writing straight
//! into a vector reserved for the result. Same backend (zlib-rs), same
//! level (fast), same bytes; interleaved rounds, medians.
//!
//! `cargo bench -p zen-tests --bench gzip`

use std::io::Write as _;
use std::time::{Duration, Instant};

use flate2::{Compress, Compression, FlushCompress};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, status};
use prost::Message as _;

const ROUNDS: usize = 15;
const BATCHES: usize = 400;

/// 512 spans as the export bench's `#[traced]` parent and child make them.
fn payload() -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut random = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let start = 1_765_000_000_000_000_000_u64;
    let spans = (0..512u64)
        .map(|i| {
            let trace = [random().to_le_bytes(), random().to_le_bytes()].concat();
            Span {
                trace_id: trace,
                span_id: random().to_le_bytes().to_vec(),
                parent_span_id: if i % 2 == 0 {
                    random().to_le_bytes().to_vec()
                } else {
                    Vec::new()
                },
                name: if i % 2 == 0 {
                    "export_throughput::child"
                } else {
                    "export_throughput::parent"
                }
                .to_owned(),
                kind: 1,
                start_time_unix_nano: start + i * 311,
                end_time_unix_nano: start + i * 311 + 97 + random() % 50,
                status: Some(Status {
                    code: status::StatusCode::Ok as i32,
                    message: String::new(),
                }),
                ..Default::default()
            }
        })
        .collect();
    let attribute = |key: &str, value: &str| KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    attribute("service.name", "export_throughput"),
                    attribute("service.instance.id", "6f1c0c8e-3b7a-4c1e-9a43-2d6f3e0b9c11"),
                    attribute("telemetry.sdk.name", "zen-telemetry"),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

fn with_encoder(payload: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(payload.len() / 4), Compression::fast());
    let _ = encoder.write_all(payload);
    encoder.finish().unwrap_or_default()
}

fn with_reused(compress: &mut Compress, payload: &[u8]) -> Vec<u8> {
    compress.reset();
    // Deflate's worst case is a few bytes per 16 KiB block over the input.
    let mut out = Vec::with_capacity(payload.len() + payload.len() / 1000 + 64);
    let _ = compress.compress_vec(payload, &mut out, FlushCompress::Finish);
    out
}

fn time(mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let start = Instant::now();
    let mut bytes = 0;
    for _ in 0..BATCHES {
        bytes = std::hint::black_box(f());
    }
    (start.elapsed() / BATCHES as u32, bytes)
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let payload = payload();
    let mut compress = Compress::new_gzip(Compression::fast(), 15);
    let inflate = |bytes: &[u8]| {
        let mut out = Vec::new();
        let _ = std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut out);
        out
    };
    assert_eq!(inflate(&with_encoder(&payload)), payload);
    assert_eq!(inflate(&with_reused(&mut compress, &payload)), payload);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let (mut a_bytes, mut b_bytes) = (0, 0);
    for _ in 0..ROUNDS {
        let (t, n) = time(|| with_encoder(&payload).len());
        a.push(t);
        a_bytes = n;
        let (t, n) = time(|| with_reused(&mut compress, &payload).len());
        b.push(t);
        b_bytes = n;
    }
    a.sort();
    b.sort();
    let (a, b) = (a[ROUNDS / 2], b[ROUNDS / 2]);
    println!(
        "gzip of one 512-span request ({} bytes), median of {ROUNDS} rounds of {BATCHES}:",
        payload.len()
    );
    println!("| way | per batch | per span | bytes out |");
    println!("|---|---:|---:|---:|");
    println!(
        "| GzEncoder, new per batch | {:.1} µs | {:.3} µs | {a_bytes} |",
        a.as_secs_f64() * 1e6,
        a.as_secs_f64() * 1e6 / 512.0
    );
    println!(
        "| Compress in gzip mode, reused | {:.1} µs | {:.3} µs | {b_bytes} |",
        b.as_secs_f64() * 1e6,
        b.as_secs_f64() * 1e6 / 512.0
    );
    println!("reused / new: {:.2}", b.as_secs_f64() / a.as_secs_f64());
}
