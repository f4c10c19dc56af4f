//! Counting what an exporter delivered, for `stats()`.

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;

use super::batch::BatchExport;
use super::finished::Finished;
use crate::{diag, stats};

/// Counts exported and failed spans and reports errors under debug.
#[derive(Debug)]
pub(crate) struct Counted<E>(pub(crate) E);

impl<E: BatchExport> BatchExport for Counted<E> {
    async fn export(&self, batch: Vec<Finished>) -> OTelSdkResult {
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

    fn shutdown(&self) -> OTelSdkResult {
        self.0.shutdown()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}
