//! `tracing` and `#[traced]` in one trace, through zen's pipeline.
//!
//! ```bash
//! cargo run -p zen-telemetry --features tracing --example tracing_interop
//! ```

use tracing_subscriber::layer::SubscriberExt;
use zen_telemetry::{Config, ExporterKind, traced};

/// A traced function whose `tracing` span and event (as a library you call
/// might emit them) become its child and its child's event.
#[traced("import.batch")]
fn import(rows: u32) -> u32 {
    let span = tracing::info_span!("db.insert", rows);
    let _entered = span.enter();
    tracing::info!(rows, "inserted");
    rows
}

fn main() {
    let config = Config::builder()
        .exporter(ExporterKind::Stdout)
        .sample_rate(1.0)
        .build();
    if let Err(error) = zen_telemetry::init_with(config) {
        eprintln!("{error}");
    }
    // A subscriber of our own with zen's layer; nothing is set globally
    // unless the program does it, as here.
    let subscriber = tracing_subscriber::registry().with(zen_telemetry::tracing_layer());
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        eprintln!("a global subscriber was already set");
    }
    // A traced call inside a tracing span is its child too.
    tracing::info_span!("request").in_scope(|| import(3));
    zen_telemetry::shutdown();
}
