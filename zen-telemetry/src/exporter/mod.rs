//! Exporters and the batch processor in front of them.
//!
//! Every exporter sits behind our batch processor (`batch.rs`): a bounded
//! queue (full means dropped and counted, never blocked on) drained by one
//! background thread. Network requests (`grpc.rs`, for spans and metric
//! points alike) run on a private one-worker tokio runtime so the host
//! program needs no runtime and a host runtime is never touched; what they
//! cannot deliver waits in the spool (`spool.rs`) for a later process.

mod batch;
mod counted;
mod exit;
mod gcp;
mod grpc;
mod json;
mod jsonl;
mod limits;
pub(crate) mod metrics;
mod on_runtime;
mod otlp;
pub(crate) mod spool;

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
        ExporterKind::Otlp => network(otlp::collector(config, timeout)?, settings)?,
        ExporterKind::Gcp => network(otlp::google(config, &config.gcp, timeout)?, settings)?,
    };
    Ok(Some(processor))
}

fn network(
    exporter: otlp::OtlpSpans,
    settings: &crate::config::BatchSettings,
) -> Result<CountingBatchProcessor, String> {
    let destination = exporter.destination();
    CountingBatchProcessor::with_resend(Counted(exporter), settings, Some(destination))
}

/// The program is exiting: requests in flight and to come give up at `deadline`.
pub(crate) fn begin_exit(deadline: std::time::Instant) {
    exit::begin(deadline);
}
