//! Exporters and the batch processor in front of them.
//!
//! Every exporter sits behind our batch processor (`batch.rs`): a bounded
//! queue (full means dropped and counted, never blocked on) drained by one
//! background thread. Network exporters run on a private one-worker tokio
//! runtime so the host program needs no runtime and a host runtime is never
//! touched.

mod batch;
mod gcp;
mod json;
mod jsonl;
mod limits;
mod otlp;

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use crate::config::{Config, ExporterKind};
use crate::{diag, stats};
pub(crate) use batch::CountingBatchProcessor;

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

/// The private runtime that network exporters run on.
pub(crate) fn tokio_runtime() -> Result<&'static tokio::runtime::Runtime, String> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("zen-telemetry-rt")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the export runtime: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Runs an exporter's futures on the private runtime, bounded by `timeout`.
#[derive(Debug)]
pub(crate) struct OnRuntime<E> {
    inner: std::sync::Arc<E>,
    handle: tokio::runtime::Handle,
    timeout: Duration,
}

impl<E: SpanExporter + 'static> OnRuntime<E> {
    pub(crate) fn new(inner: E, handle: tokio::runtime::Handle, timeout: Duration) -> Self {
        OnRuntime {
            inner: std::sync::Arc::new(inner),
            handle,
            timeout,
        }
    }
}

impl<E: SpanExporter + 'static> SpanExporter for OnRuntime<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let inner = self.inner.clone();
        let timeout = self.timeout;
        let task = self
            .handle
            .spawn(async move { tokio::time::timeout(timeout, inner.export(batch)).await });
        match task.await {
            Ok(Ok(result)) => result,
            Ok(Err(_elapsed)) => Err(OTelSdkError::Timeout(timeout)),
            Err(join_error) => Err(OTelSdkError::InternalFailure(format!(
                "export task failed: {join_error}"
            ))),
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        if let Some(inner) = std::sync::Arc::get_mut(&mut self.inner) {
            inner.set_resource(resource);
        }
    }
}

/// Counts exported and failed spans and reports errors under debug.
#[derive(Debug)]
pub(crate) struct Counted<E>(pub(crate) E);

impl<E: SpanExporter> SpanExporter for Counted<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let count = batch.len() as u64;
        let result = self.0.export(batch).await;
        match &result {
            Ok(()) => stats::add_exported(count),
            Err(error) => {
                stats::add_failed(count);
                diag::debug_line(|| format!("export of {count} spans failed: {error}"));
            }
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.0.set_resource(resource);
    }
}
