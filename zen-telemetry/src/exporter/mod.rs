//! Exporters and the batch processor in front of them.
//!
//! Every exporter sits behind our batch processor (`batch.rs`): a bounded
//! queue (full means dropped and counted, never blocked on) drained by one
//! background thread. Network exporters run on a private one-worker tokio
//! runtime so the host program needs no runtime and a host runtime is never
//! touched.

mod batch;
mod counted;
mod gcp;
mod json;
mod jsonl;
mod limits;
pub(crate) mod metrics;
mod on_runtime;
mod otlp;
mod spool;

use crate::config::{Config, ExporterKind};
pub(crate) use batch::CountingBatchProcessor;
pub(crate) use counted::Counted;

pub use json::{JsonEvent, JsonSpan};
pub use jsonl::{JsonLinesExporter, StdoutExporter};

/// Builds the batch processor for `destination`; `Ok(None)` records nothing.
pub(crate) fn batch_processor(
    config: &Config,
    destination: ExporterKind,
) -> Result<Option<CountingBatchProcessor>, String> {
    let settings = &config.batch;
    let timeout = settings.export_timeout;
    let processor = match destination {
        ExporterKind::None | ExporterKind::Auto => return Ok(None),
        ExporterKind::Stdout => CountingBatchProcessor::new(Counted(StdoutExporter), settings)?,
        ExporterKind::File => {
            CountingBatchProcessor::new(Counted(JsonLinesExporter::new(config.file_path.clone())), settings)?
        }
        ExporterKind::Otlp => CountingBatchProcessor::new(Counted(otlp::exporter(timeout)?), settings)?,
        ExporterKind::Gcp => CountingBatchProcessor::new(Counted(gcp::exporter(&config.gcp, timeout)?), settings)?,
    };
    Ok(Some(processor))
}
