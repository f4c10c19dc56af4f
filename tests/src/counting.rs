//! A trace receiver that only counts spans: for measuring exporters at
//! saturation, where a receiver that builds every span (as the fakes in
//! `collector` and `failing` do, to check them) would spend as much CPU as
//! the exporter it measures, on the same cores.
//!
//! It speaks the real OTLP/gRPC trace service, and decodes each request with
//! prost against a skeleton of the OTLP messages: a span is a message whose
//! fields are all skipped, so counting allocates nothing per span.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use tonic::codegen::{Body, BoxFuture, Service, StdError, http};

/// `ExportTraceServiceRequest`, reading only what leads to the spans.
#[derive(Clone, PartialEq, prost::Message)]
struct Request {
    #[prost(message, repeated, tag = "1")]
    resource_spans: Vec<ResourceSpans>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ResourceSpans {
    #[prost(message, repeated, tag = "2")]
    scope_spans: Vec<ScopeSpans>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ScopeSpans {
    #[prost(message, repeated, tag = "2")]
    spans: Vec<Skipped>,
}

/// A span, every field skipped.
#[derive(Clone, PartialEq, prost::Message)]
struct Skipped {}

/// Counts the spans of every request it answers with success, until dropped.
pub struct CountingReceiver {
    addr: SocketAddr,
    spans: Arc<AtomicU64>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl CountingReceiver {
    /// Starts a receiver on 127.0.0.1 on a free port.
    pub fn start() -> CountingReceiver {
        let (listener, addr) = crate::bind_loopback();
        let spans = Arc::new(AtomicU64::new(0));
        let server = CountingServer(spans.clone());
        let stop = crate::collector::serve(listener, move |router| router.add_service(server));
        CountingReceiver {
            addr,
            spans,
            _stop: stop,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Spans received so far.
    pub fn spans(&self) -> u64 {
        self.spans.load(Ordering::Relaxed)
    }
}

#[derive(Clone)]
struct CountingServer(Arc<AtomicU64>);

impl tonic::server::NamedService for CountingServer {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
}

struct Export(Arc<AtomicU64>);

impl tonic::server::UnaryService<Request> for Export {
    type Response = ExportTraceServiceResponse;
    type Future = BoxFuture<tonic::Response<Self::Response>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<Request>) -> Self::Future {
        let spans: usize = request
            .get_ref()
            .resource_spans
            .iter()
            .flat_map(|resource| &resource.scope_spans)
            .map(|scope| scope.spans.len())
            .sum();
        self.0.fetch_add(spans as u64, Ordering::Relaxed);
        Box::pin(async { Ok(tonic::Response::new(ExportTraceServiceResponse::default())) })
    }
}

impl<B> Service<http::Request<B>> for CountingServer
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let spans = self.0.clone();
        Box::pin(async move {
            if request.uri().path() != "/opentelemetry.proto.collector.trace.v1.TraceService/Export" {
                let mut response = http::Response::new(tonic::body::Body::default());
                let headers = response.headers_mut();
                headers.insert(tonic::Status::GRPC_STATUS, (tonic::Code::Unimplemented as i32).into());
                headers.insert(http::header::CONTENT_TYPE, tonic::metadata::GRPC_CONTENT_TYPE);
                return Ok(response);
            }
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
            Ok(grpc.unary(Export(spans), request).await)
        })
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    use super::*;

    /// A real OTLP client's request is counted span for span, across
    /// resources and scopes.
    #[test]
    fn counts_the_spans_a_real_client_sends() {
        let receiver = CountingReceiver::start();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let scope = |spans: usize| ScopeSpans {
            spans: vec![Span::default(); spans],
            ..Default::default()
        };
        let request = ExportTraceServiceRequest {
            resource_spans: vec![
                ResourceSpans {
                    scope_spans: vec![scope(3), scope(4)],
                    ..Default::default()
                },
                ResourceSpans {
                    scope_spans: vec![scope(5)],
                    ..Default::default()
                },
            ],
        };
        runtime.block_on(async {
            let mut client = TraceServiceClient::connect(receiver.endpoint()).await.expect("connect");
            client.export(request.clone()).await.expect("first export");
            client.export(request).await.expect("second export");
        });
        assert_eq!(receiver.spans(), 24);
    }
}
