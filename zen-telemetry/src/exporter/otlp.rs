//! Span export over OTLP/gRPC, to a collector (`Config::otlp`, from the
//! standard `OTEL_EXPORTER_OTLP_*` variables) or to Google's Telemetry API.

use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;

use super::batch::{BatchExport, Exporting};
use super::finished::Finished;
use super::grpc::{Grpc, Undelivered};
#[cfg(feature = "gcp")]
use super::limits;
use super::span_wire::SpanRequest;
use crate::config::Config;
#[cfg(feature = "gcp")]
use crate::config::gcp::GcpSettings;

/// Sends batches of spans as `ExportTraceServiceRequest`s.
#[derive(Debug)]
pub(crate) struct OtlpSpans {
    grpc: Arc<Grpc>,
    resource: ResourceAttributesWithSchema,
    /// Shorten what exceeds the Telemetry API's limits.
    #[cfg_attr(not(feature = "gcp"), allow(dead_code))]
    google_limits: bool,
}

/// The exporter to the collector named by the OTLP variables.
pub(crate) fn collector(config: &Config, timeout: Duration) -> Result<OtlpSpans, String> {
    let grpc = Grpc::otlp(&config.otlp.traces, timeout, &config.spool)?;
    Ok(OtlpSpans::new(grpc, false))
}

/// The exporter to Google's Telemetry API.
#[cfg(feature = "gcp")]
pub(crate) fn google(config: &Config, settings: &GcpSettings, timeout: Duration) -> Result<OtlpSpans, String> {
    let session = super::gcp::session(settings)?;
    let project = settings.project.as_ref().map(|project| project.id.as_str());
    let grpc = Grpc::google(session, project, timeout, &config.spool)?;
    Ok(OtlpSpans::new(grpc, true))
}

impl OtlpSpans {
    fn new(grpc: Grpc, google_limits: bool) -> OtlpSpans {
        OtlpSpans {
            grpc: Arc::new(grpc),
            resource: ResourceAttributesWithSchema::default(),
            google_limits,
        }
    }

    /// The destination, for the export thread to resend the spool to.
    pub(crate) fn destination(&self) -> Arc<Grpc> {
        self.grpc.clone()
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
        let deadline = Instant::now() + self.grpc.timeout();
        Exporting::Sending(self.grpc.start(request, spans, deadline, Undelivered::Spool))
    }

    fn shutdown(&self) -> OTelSdkResult {
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}
