//! Exporters and the batch processor in front of them.
//!
//! ```text
//!  spans ──> batch.rs (per-thread queues, one export thread) ─┐
//!                                                             ├─> `sink` ──> jsonl (file, stdout)
//!  metric points ──> metrics (one export thread) ─────────────┘          └──> destination ──> transport (gRPC, HTTP) ──> spool
//! ```
//!
//! `sink` is the one place a signal's exporter kind becomes where its
//! data goes. Network requests (`destination.rs`, through `transport/`) run
//! on a private one-worker tokio runtime so the host program needs no
//! runtime and a host runtime is never touched; what they cannot deliver
//! waits in the spool (`spool/`) for a later process, and `resend.rs` sends
//! it back.

mod batch;
#[cfg(feature = "otlp")]
mod check;
#[cfg(feature = "otlp")]
mod destination;
#[cfg(feature = "otlp")]
mod exit;
mod finished;
#[cfg(feature = "gcp")]
mod gcp;
mod json;
mod jsonl;
#[cfg(feature = "gcp")]
mod limits;
pub(crate) mod metrics;
#[cfg(feature = "otlp")]
mod on_runtime;
#[cfg(feature = "otlp")]
mod otlp;
mod private_file;
#[cfg(feature = "otlp")]
mod request;
#[cfg(feature = "otlp")]
mod resend;
mod sink;
#[cfg(feature = "otlp")]
mod span_wire;
pub(crate) mod spool;
#[cfg(feature = "otlp")]
mod transport;

use crate::config::{Config, ExporterKind};
pub(crate) use batch::{CountingBatchProcessor, SdkExport};
#[cfg(feature = "otlp")]
pub use check::{DestinationCheck, check_destinations};
pub(crate) use finished::{Finished, SpanExtras, StatusCode, TracedSpan};
pub(crate) use sink::{Sink, sink};
pub(crate) use spool::Signal;

pub use json::{JsonEvent, JsonSpan};
pub use jsonl::{JsonLinesExporter, StdoutExporter};

/// Builds the batch processor for `destination`; `Ok(None)` records nothing.
pub(crate) fn batch_processor(
    config: &Config,
    destination: ExporterKind,
) -> Result<Option<CountingBatchProcessor>, String> {
    let settings = &config.batch;
    let processor = match sink(config, destination, Signal::Traces)? {
        Sink::None => return Ok(None),
        Sink::Stdout => CountingBatchProcessor::new(SdkExport(StdoutExporter), settings)?,
        Sink::File(path) => CountingBatchProcessor::new(SdkExport(JsonLinesExporter::new(path)), settings)?,
        #[cfg(feature = "otlp")]
        Sink::Network { destination, google } => {
            CountingBatchProcessor::new(otlp::OtlpSpans::new(destination, google), settings)?
        }
    };
    Ok(Some(processor))
}

/// The program is exiting: requests in flight and to come give up at `deadline`.
pub(crate) fn begin_exit(deadline: std::time::Instant) {
    #[cfg(feature = "otlp")]
    exit::begin(deadline);
    #[cfg(not(feature = "otlp"))]
    let _ = deadline;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without the `otlp` and `gcp` features, choosing those exporters names
    /// the missing feature (the pipeline prints it once and records nothing).
    #[cfg(not(feature = "otlp"))]
    #[test]
    fn an_exporter_left_out_of_the_build_names_its_feature() {
        let config = Config::default();
        for (kind, feature) in [(ExporterKind::Otlp, "`otlp`"), (ExporterKind::Gcp, "`gcp`")] {
            let error = batch_processor(&config, kind).err().unwrap_or_default();
            assert!(error.contains(feature), "{kind}: {error}");
        }
    }

    /// `auto` never picks an exporter the build lacks.
    #[test]
    fn auto_picks_only_exporters_in_the_build() {
        let (config, _) = Config::from_lookup(|name| {
            matches!(
                name,
                "GOOGLE_CLOUD_PROJECT" | "OTEL_EXPORTER_OTLP_ENDPOINT" | "NO_GCE_CHECK"
            )
            .then(|| match name {
                "GOOGLE_CLOUD_PROJECT" => "zen-test-project".to_owned(),
                "NO_GCE_CHECK" => "true".to_owned(),
                _ => "http://127.0.0.1:4317".to_owned(),
            })
        });
        let expected = if cfg!(feature = "gcp") {
            ExporterKind::Gcp
        } else if cfg!(feature = "otlp") {
            ExporterKind::Otlp
        } else {
            ExporterKind::None
        };
        assert_eq!(config.resolved_exporter(), expected);
    }
}
