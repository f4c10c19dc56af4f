//! Either OTLP receiver behind one face, for tests that must hold over both
//! transports: the gRPC one (`collector`) and the HTTP one (`http_receiver`).

use std::net::SocketAddr;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;

use crate::collector::{FakeCollector, ReceivedSpan};
use crate::http_receiver::{HttpAnswer, HttpReceiver, TestCa};

/// An OTLP transport, as `OTEL_EXPORTER_OTLP_PROTOCOL` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/gRPC.
    Grpc,
    /// OTLP/HTTP with protobuf bodies.
    HttpProtobuf,
}

impl Protocol {
    /// Both transports.
    pub const BOTH: [Protocol; 2] = [Protocol::Grpc, Protocol::HttpProtobuf];

    /// The value of `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
        }
    }
}

/// A running receiver of either transport; stops when dropped.
pub enum Receiver {
    /// OTLP/gRPC.
    Grpc(FakeCollector),
    /// OTLP/HTTP.
    Http(HttpReceiver),
}

impl Receiver {
    /// Plain, on a free port, accepting everything.
    pub fn start(protocol: Protocol) -> Receiver {
        match protocol {
            Protocol::Grpc => Receiver::Grpc(FakeCollector::start()),
            Protocol::HttpProtobuf => Receiver::Http(HttpReceiver::start()),
        }
    }

    /// Plain, on `addr` (a backend coming back at the same endpoint).
    pub fn start_on(protocol: Protocol, addr: SocketAddr) -> Receiver {
        match protocol {
            Protocol::Grpc => Receiver::Grpc(FakeCollector::start_on(addr)),
            Protocol::HttpProtobuf => Receiver::Http(HttpReceiver::start_on(addr)),
        }
    }

    /// Over TLS with `ca`'s server certificate, asking for a client
    /// certificate when `mutual`.
    pub fn with_tls(protocol: Protocol, ca: &TestCa, mutual: bool) -> Receiver {
        match protocol {
            Protocol::Grpc => Receiver::Grpc(FakeCollector::with_tls(ca.grpc_server(mutual))),
            Protocol::HttpProtobuf => Receiver::Http(HttpReceiver::answering(
                vec![HttpAnswer::Accept],
                Some(ca.server(mutual)),
            )),
        }
    }

    /// The endpoint to configure.
    pub fn endpoint(&self) -> String {
        match self {
            Receiver::Grpc(receiver) => receiver.endpoint(),
            Receiver::Http(receiver) => receiver.endpoint(),
        }
    }

    /// Every span received so far, with its resource.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        match self {
            Receiver::Grpc(receiver) => receiver.spans(),
            Receiver::Http(receiver) => receiver.spans(),
        }
    }

    /// Waits until at least `count` spans arrived or `timeout` passed.
    pub fn wait_for_spans(&self, count: usize, timeout: Duration) -> Vec<ReceivedSpan> {
        match self {
            Receiver::Grpc(receiver) => receiver.wait_for_spans(count, timeout),
            Receiver::Http(receiver) => receiver.wait_for_spans(count, timeout),
        }
    }

    /// Metric export requests received so far, decoded.
    pub fn metric_requests(&self) -> Vec<ExportMetricsServiceRequest> {
        match self {
            Receiver::Grpc(receiver) => receiver.metric_requests().into_iter().map(|(_, r)| r).collect(),
            Receiver::Http(receiver) => receiver.metric_requests().into_iter().map(|(_, r)| r).collect(),
        }
    }

    /// Waits until at least `count` metric requests arrived or `timeout` passed.
    pub fn wait_for_metric_requests(&self, count: usize, timeout: Duration) -> Vec<ExportMetricsServiceRequest> {
        crate::http_receiver::wait_until(timeout, || self.metric_requests().len() >= count);
        self.metric_requests()
    }

    /// Whether every span request so far came compressed with gzip
    /// (`grpc-encoding: gzip` or `Content-Encoding: gzip`), and at least one came.
    pub fn every_span_request_gzipped(&self) -> bool {
        match self {
            Receiver::Grpc(receiver) => {
                let headers = receiver.request_headers();
                !headers.is_empty() && headers.iter().all(|h| h.encoding.as_deref() == Some("gzip"))
            }
            Receiver::Http(receiver) => {
                let requests = receiver.trace_requests();
                !requests.is_empty()
                    && requests
                        .iter()
                        .all(|(request, _)| request.header("content-encoding") == Some("gzip"))
            }
        }
    }
}
