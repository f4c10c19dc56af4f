//! The first five minutes with zen-telemetry: spans on stdout, an error, a
//! panic and an attribute of your own.
//!
//! ```bash
//! cargo run -p zen-telemetry --example quickstart
//! ```
//!
//! In a program of your own, pick the exporter with `ZEN_TELEMETRY_EXPORTER`
//! (or let `auto` find Google Cloud or an OTLP collector) instead of
//! configuring it in code; `ZEN_TELEMETRY_DISABLED=1` turns it all off.

use zen_telemetry::{Config, ExporterKind, span_attributes, traced};

/// A traced function: its span is named `quickstart::parse_order`, and the
/// argument is recorded because it is named in `attrs`.
#[traced(attrs(order.line = line))]
fn parse_order(line: &str) -> Result<u32, std::num::ParseIntError> {
    line.trim().parse()
}

/// An attribute computed inside the call, and a child span per order.
#[traced("orders.total")]
fn total(lines: &[&str]) -> u32 {
    let parsed: Vec<u32> = lines.iter().filter_map(|line| parse_order(line).ok()).collect();
    span_attributes!(
        orders.parsed = parsed.len(),
        orders.skipped = lines.len() - parsed.len()
    );
    parsed.iter().sum()
}

/// A panic is recorded on the span (status, exception event), then resumes.
#[traced]
fn divide(total: u32, by: u32) -> u32 {
    total.checked_div(by).expect("no orders to divide by")
}

fn main() {
    // Every span, to stdout, for this example; configure before the first call.
    let config = Config::builder()
        .exporter(ExporterKind::Stdout)
        .sample_rate(1.0)
        .build();
    if let Err(error) = zen_telemetry::init_with(config) {
        eprintln!("{error}");
    }

    let sum = total(&["3", "4", "not a number"]);
    let average = std::panic::catch_unwind(|| divide(sum, 0));
    println!("sum {sum}, average {:?}", average.ok());
    // Spans are flushed at exit; stats() says where they went.
    zen_telemetry::shutdown();
    let stats = zen_telemetry::stats();
    println!(
        "{} spans recorded, {} exported",
        stats.spans_recorded, stats.spans_exported
    );
}
