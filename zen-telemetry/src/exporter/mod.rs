//! Exporters and the batch processor in front of them.
//!
//! Every exporter sits behind our batch processor (`batch.rs`): a bounded
//! queue (full means dropped and counted, never blocked on) drained by one
//! background thread. Network requests (`grpc.rs`, for spans and metric
//! points alike) run on a private one-worker tokio runtime so the host
//! program needs no runtime and a host runtime is never touched; what they
//! cannot deliver waits in the spool (`spool.rs`) for a later process.

mod batch;
#[cfg(feature = "otlp")]
mod exit;
mod finished;
#[cfg(feature = "gcp")]
mod gcp;
#[cfg(feature = "otlp")]
mod grpc;
mod json;
mod jsonl;
#[cfg(feature = "gcp")]
mod limits;
pub(crate) mod metrics;
#[cfg(feature = "otlp")]
mod on_runtime;
#[cfg(feature = "otlp")]
mod otlp;
#[cfg(feature = "otlp")]
mod span_wire;
pub(crate) mod spool;

use crate::config::{Config, ExporterKind};
pub(crate) use batch::{CountingBatchProcessor, SdkExport};
pub(crate) use finished::{Finished, SpanExtras, StatusCode, TracedSpan};

pub use json::{JsonEvent, JsonSpan};
pub use jsonl::{JsonLinesExporter, StdoutExporter};

/// Builds the batch processor for `destination`; `Ok(None)` records nothing.
pub(crate) fn batch_processor(
    config: &Config,
    destination: ExporterKind,
) -> Result<Option<CountingBatchProcessor>, String> {
    let settings = &config.batch;
    #[cfg(feature = "otlp")]
    let timeout = settings.export_timeout;
    let processor = match destination {
        ExporterKind::None | ExporterKind::Auto => return Ok(None),
        ExporterKind::Stdout => CountingBatchProcessor::new(SdkExport(StdoutExporter), settings)?,
        ExporterKind::File => {
            CountingBatchProcessor::new(SdkExport(JsonLinesExporter::new(config.file_path.clone())), settings)?
        }
        #[cfg(feature = "otlp")]
        ExporterKind::Otlp => network(otlp::collector(config, timeout)?, settings)?,
        #[cfg(feature = "gcp")]
        ExporterKind::Gcp => network(otlp::google(config, &config.gcp, timeout)?, settings)?,
        #[cfg(not(feature = "otlp"))]
        ExporterKind::Otlp => return Err(missing_feature("otlp")),
        #[cfg(not(feature = "gcp"))]
        ExporterKind::Gcp => return Err(missing_feature("gcp")),
    };
    Ok(Some(processor))
}

/// Why an exporter chosen by configuration cannot start in this build.
#[cfg(any(not(feature = "otlp"), not(feature = "gcp")))]
pub(crate) fn missing_feature(feature: &str) -> String {
    format!("zen-telemetry was built without its `{feature}` feature (enable it in Cargo.toml)")
}

#[cfg(feature = "otlp")]
fn network(
    exporter: otlp::OtlpSpans,
    settings: &crate::config::BatchSettings,
) -> Result<CountingBatchProcessor, String> {
    let destination = exporter.destination();
    CountingBatchProcessor::with_resend(exporter, settings, Some(destination))
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
