//! Span export over OTLP, to a collector (`Config::otlp`, from the standard
//! `OTEL_EXPORTER_OTLP_*` variables) or to Google's Telemetry API.

use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;

use super::batch::{BatchExport, Exporting};
use super::destination::{Destination, Undelivered};
use super::finished::Finished;
#[cfg(feature = "gcp")]
use super::limits;
use super::resend::Resend;
use super::span_wire::SpanRequest;
use super::spool::Signal;

/// Sends batches of spans as `ExportTraceServiceRequest`s.
#[derive(Debug)]
pub(crate) struct OtlpSpans {
    destination: Arc<Destination>,
    resend: Resend,
    resource: ResourceAttributesWithSchema,
    /// Shorten what exceeds the Telemetry API's limits.
    #[cfg_attr(not(feature = "gcp"), allow(dead_code))]
    google_limits: bool,
}

impl OtlpSpans {
    pub(crate) fn new(destination: Arc<Destination>, google_limits: bool) -> OtlpSpans {
        OtlpSpans {
            resend: Resend::new(destination.clone(), Signal::Traces),
            destination,
            resource: ResourceAttributesWithSchema::default(),
            google_limits,
        }
    }
}

impl BatchExport for OtlpSpans {
    fn start(&self, batch: Vec<Finished>) -> Exporting {
        let spans = batch.len() as u64;
        let mut request = SpanRequest::new(&self.resource, batch.len());
        for span in batch {
            #[cfg(feature = "gcp")]
            if self.google_limits {
                match span {
                    Finished::Traced(mut span) => {
                        limits::apply_traced(&mut span);
                        request.push(Finished::Traced(span));
                    }
                    Finished::Api(mut span) => {
                        limits::apply(&mut span);
                        request.push(Finished::Api(span));
                    }
                }
                continue;
            }
            request.push(span);
        }
        let deadline = Instant::now() + self.destination.timeout();
        Exporting::Sending(self.destination.start(request, spans, deadline, Undelivered::Spool))
    }

    fn shutdown(&self) -> OTelSdkResult {
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }

    fn housekeeping(&mut self) -> Option<Duration> {
        self.resend.housekeeping()
    }
}
