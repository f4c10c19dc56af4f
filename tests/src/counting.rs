//! A trace receiver that only counts spans: for measuring exporters at
//! saturation, where a receiver that builds every span (as the fakes in
//! `collector` and `failing` do, to check them) would spend as much CPU as
//! the exporter it measures, on the same cores.
//!
//! It speaks the real OTLP/gRPC trace service, or OTLP/HTTP with protobuf
//! bodies, either taking gzip, and decodes each request with prost against a
//! skeleton of the OTLP messages: a span is a message whose fields are all
//! skipped, so counting allocates nothing per span. Over HTTP it also counts
//! the body bytes as they came on the wire (compressed, when they were).

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
    wire: Arc<WireCounts>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// What came over HTTP: requests and their body bytes as sent.
#[derive(Default)]
struct WireCounts {
    requests: AtomicU64,
    body_bytes: AtomicU64,
}

impl CountingReceiver {
    /// Starts an OTLP/gRPC receiver on 127.0.0.1 on a free port.
    pub fn start() -> CountingReceiver {
        CountingReceiver::speaking(crate::receiver::Protocol::Grpc)
    }

    /// Starts a receiver of `protocol` on 127.0.0.1 on a free port.
    pub fn speaking(protocol: crate::receiver::Protocol) -> CountingReceiver {
        let (listener, addr) = crate::bind_loopback();
        let spans = Arc::new(AtomicU64::new(0));
        let wire = Arc::new(WireCounts::default());
        let stop = match protocol {
            crate::receiver::Protocol::Grpc => {
                let server = CountingServer(spans.clone());
                crate::collector::serve(listener, move |router| router.add_service(server))
            }
            crate::receiver::Protocol::HttpProtobuf => {
                let (spans, wire) = (spans.clone(), wire.clone());
                crate::http_receiver::serve_http(listener, None, move |request| {
                    count_http(request, spans.clone(), wire.clone())
                })
            }
        };
        CountingReceiver {
            addr,
            spans,
            wire,
            _stop: stop,
        }
    }

    /// HTTP requests received so far, and their body bytes as they came
    /// (0 and 0 over gRPC).
    pub fn wire(&self) -> (u64, u64) {
        (
            self.wire.requests.load(Ordering::Relaxed),
            self.wire.body_bytes.load(Ordering::Relaxed),
        )
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

/// Counts one OTLP/HTTP request's spans and bytes.
async fn count_http(
    request: hyper::Request<hyper::body::Incoming>,
    spans: Arc<AtomicU64>,
    wire: Arc<WireCounts>,
) -> Result<hyper::Response<http_body_util::Full<bytes::Bytes>>, Infallible> {
    use prost::Message as _;
    let Some((body, gzip)) = crate::http_receiver::body_as_sent(request).await else {
        return Ok(crate::http_receiver::status(hyper::StatusCode::BAD_REQUEST, None));
    };
    wire.requests.fetch_add(1, Ordering::Relaxed);
    wire.body_bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
    let decoded = crate::http_receiver::inflated(body, gzip).and_then(|body| Request::decode(body).ok());
    let Some(decoded) = decoded else {
        return Ok(crate::http_receiver::status(hyper::StatusCode::BAD_REQUEST, None));
    };
    spans.fetch_add(decoded.span_count() as u64, Ordering::Relaxed);
    Ok(crate::http_receiver::ok(
        ExportTraceServiceResponse::default().encode_to_vec(),
    ))
}

impl Request {
    fn span_count(&self) -> usize {
        self.resource_spans
            .iter()
            .flat_map(|resource| &resource.scope_spans)
            .map(|scope| scope.spans.len())
            .sum()
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
        self.0
            .fetch_add(request.get_ref().span_count() as u64, Ordering::Relaxed);
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
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default())
                .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
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

    /// Over HTTP, a request's spans are counted, gzipped or not, and its
    /// body bytes as they came.
    #[test]
    fn counts_the_spans_and_bytes_of_http_requests() {
        use std::io::{Read as _, Write as _};

        use prost::Message as _;
        let receiver = CountingReceiver::speaking(crate::receiver::Protocol::HttpProtobuf);
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span::default(); 7],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let plain = request.encode_to_vec();
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gzip.write_all(&plain).expect("gzip");
        let gzipped = gzip.finish().expect("gzip");
        let endpoint = receiver.endpoint();
        let addr = endpoint.trim_start_matches("http://");
        for (body, encoding) in [(&plain, None), (&gzipped, Some("gzip"))] {
            let mut stream = std::net::TcpStream::connect(addr).expect("connect");
            let encoding = encoding.map_or_else(String::new, |e| format!("content-encoding: {e}\r\n"));
            let head = format!(
                "POST /v1/traces HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/x-protobuf\r\n{encoding}content-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).expect("send head");
            stream.write_all(body).expect("send body");
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        }
        assert_eq!(receiver.spans(), 14);
        assert_eq!(receiver.wire(), (2, (plain.len() + gzipped.len()) as u64));
    }
}
