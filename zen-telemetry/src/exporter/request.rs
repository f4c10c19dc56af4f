//! The two OTLP export requests, as the destination sends them.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

use super::span_wire::SpanRequest;
use super::spool::Signal;

/// An OTLP export request.
pub(crate) trait OtlpRequest: Sized {
    /// What it carries.
    const SIGNAL: Signal;
    /// The resources of its data, for Google's attributes.
    #[cfg_attr(not(feature = "gcp"), allow(dead_code))]
    fn resources(&mut self) -> Vec<&mut Resource>;
    /// Its protobuf bytes.
    fn encode(&self) -> Vec<u8>;
}

impl OtlpRequest for SpanRequest {
    const SIGNAL: Signal = Signal::Traces;

    fn resources(&mut self) -> Vec<&mut Resource> {
        vec![self.resource()]
    }

    fn encode(&self) -> Vec<u8> {
        SpanRequest::encode(self)
    }
}

impl OtlpRequest for ExportMetricsServiceRequest {
    const SIGNAL: Signal = Signal::Metrics;

    fn resources(&mut self) -> Vec<&mut Resource> {
        self.resource_metrics
            .iter_mut()
            .map(|metrics| metrics.resource.get_or_insert_with(Default::default))
            .collect()
    }

    fn encode(&self) -> Vec<u8> {
        self.encode_to_vec()
    }
}

impl OtlpRequest for ExportTraceServiceRequest {
    const SIGNAL: Signal = Signal::Traces;

    fn resources(&mut self) -> Vec<&mut Resource> {
        self.resource_spans
            .iter_mut()
            .map(|spans| spans.resource.get_or_insert_with(Default::default))
            .collect()
    }

    fn encode(&self) -> Vec<u8> {
        self.encode_to_vec()
    }
}
