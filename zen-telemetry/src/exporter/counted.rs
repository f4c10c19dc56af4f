//! Counting what an exporter delivered, for `stats()`.

use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use crate::{diag, stats};

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
