//! The private runtime that network exporters run on: one worker thread, so
//! the host program needs no runtime and a host runtime is never touched.

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

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
