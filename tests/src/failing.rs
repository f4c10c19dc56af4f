//! Loopback OTLP receivers (gRPC, or HTTP with protobuf bodies) that fail in
//! the ways real collectors and networks do, for tests of what telemetry
//! costs a program when export fails.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceService;
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use tonic_types::{ErrorDetails, StatusExt};

use crate::receiver::Protocol;

/// How a receiver behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Accepts every request and counts its spans, keeping nothing: the
    /// baseline, without the memory a storing collector would add.
    Healthy,
    /// Nothing listens on the port.
    ConnectionRefused,
    /// Accepts connections and never reads or answers.
    Blackhole,
    /// Answers every request with gRPC `UNAVAILABLE` (over HTTP: 503), retryable.
    Unavailable,
    /// Answers every request with gRPC `RESOURCE_EXHAUSTED` carrying a
    /// `google.rpc.RetryInfo` detail asking the client to wait
    /// [`RETRY_AFTER`], as a throttling collector does (over HTTP: 429 with
    /// `Retry-After: 1`, the header counting whole seconds).
    ResourceExhausted,
    /// Accepts every request after [`SLOW_DELAY`].
    Slow,
    /// Accepts the connection, reads a few bytes of the request, closes it.
    ClosedMidRequest,
}

impl Mode {
    /// Every failing mode (all but `Healthy`).
    pub const FAILING: [Mode; 6] = [
        Mode::ConnectionRefused,
        Mode::Blackhole,
        Mode::Unavailable,
        Mode::ResourceExhausted,
        Mode::Slow,
        Mode::ClosedMidRequest,
    ];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Healthy => "healthy",
            Mode::ConnectionRefused => "connection refused",
            Mode::Blackhole => "blackhole",
            Mode::Unavailable => "UNAVAILABLE (HTTP: 503)",
            Mode::ResourceExhausted => "RESOURCE_EXHAUSTED + RetryInfo (HTTP: 429 + Retry-After)",
            Mode::Slow => "2 s per request",
            Mode::ClosedMidRequest => "closed mid-request",
        }
    }
}

/// The delay `RESOURCE_EXHAUSTED` asks for.
pub const RETRY_AFTER: Duration = Duration::from_millis(500);
/// The time `Slow` takes per request.
pub const SLOW_DELAY: Duration = Duration::from_secs(2);

#[derive(Default)]
struct Counters {
    /// Export requests (gRPC modes) or connections (raw TCP modes) seen.
    contacts: AtomicU64,
    /// Spans in requests answered with success.
    spans_accepted: AtomicU64,
}

impl Counters {
    /// Counts the spans of a request answered with success.
    fn accept(&self, request: &ExportTraceServiceRequest) {
        let spans: usize = request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum();
        self.spans_accepted.fetch_add(spans as u64, Ordering::Relaxed);
    }
}

#[derive(Clone)]
struct Service {
    mode: Mode,
    counters: Arc<Counters>,
}

#[tonic::async_trait]
impl TraceService for Service {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.counters.contacts.fetch_add(1, Ordering::Relaxed);
        match self.mode {
            Mode::Unavailable => return Err(tonic::Status::unavailable("collector unavailable")),
            Mode::ResourceExhausted => {
                return Err(tonic::Status::with_error_details(
                    tonic::Code::ResourceExhausted,
                    "collector over quota",
                    ErrorDetails::with_retry_info(Some(RETRY_AFTER)),
                ));
            }
            Mode::Slow => tokio::time::sleep(SLOW_DELAY).await,
            _ => {}
        }
        self.counters.accept(request.get_ref());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// Answers one OTLP/HTTP request as `mode` says.
async fn answer_http(
    mode: Mode,
    counters: Arc<Counters>,
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<http_body_util::Full<bytes::Bytes>>, std::convert::Infallible> {
    use crate::http_receiver::{ok, read_body, status};
    use hyper::StatusCode;
    use prost::Message as _;
    counters.contacts.fetch_add(1, Ordering::Relaxed);
    match mode {
        Mode::Unavailable => return Ok(status(StatusCode::SERVICE_UNAVAILABLE, None)),
        Mode::ResourceExhausted => return Ok(status(StatusCode::TOO_MANY_REQUESTS, Some(1))),
        Mode::Slow => tokio::time::sleep(SLOW_DELAY).await,
        _ => {}
    }
    let Some(body) = read_body(request).await else {
        return Ok(status(StatusCode::BAD_REQUEST, None));
    };
    if let Ok(request) = ExportTraceServiceRequest::decode(body) {
        counters.accept(&request);
    }
    Ok(ok(Vec::new()))
}

/// A receiver on 127.0.0.1 behaving as its [`Mode`] says, until dropped.
pub struct FailingReceiver {
    mode: Mode,
    addr: SocketAddr,
    counters: Arc<Counters>,
    /// Dropped with the receiver, which stops a gRPC or HTTP server.
    _stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FailingReceiver {
    /// Starts an OTLP/gRPC receiver on a free port.
    pub fn start(mode: Mode) -> FailingReceiver {
        FailingReceiver::speaking(Protocol::Grpc, mode)
    }

    /// Starts a receiver of `protocol` on a free port. The modes that never
    /// answer at the OTLP level (refused, blackhole, closed mid-request) are
    /// the same for both.
    pub fn speaking(protocol: Protocol, mode: Mode) -> FailingReceiver {
        let (listener, addr) = crate::bind_loopback();
        let counters = Arc::new(Counters::default());
        let mut stop = None;
        match mode {
            // The port was free a moment ago and nothing listens on it now.
            Mode::ConnectionRefused => drop(listener),
            Mode::Blackhole => {
                let counters = counters.clone();
                crate::collector::hold_connections(listener, move || {
                    counters.contacts.fetch_add(1, Ordering::Relaxed);
                });
            }
            Mode::ClosedMidRequest => {
                let counters = counters.clone();
                thread::spawn(move || {
                    for mut stream in listener.incoming().flatten() {
                        counters.contacts.fetch_add(1, Ordering::Relaxed);
                        // The HTTP/2 preface is 24 bytes; reading a little more
                        // takes us into the request (over HTTP/1.1: into its
                        // headers) before hanging up.
                        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
                        let mut buf = [0u8; 64];
                        let _ = stream.read(&mut buf);
                        drop(stream);
                    }
                });
            }
            Mode::Healthy | Mode::Unavailable | Mode::ResourceExhausted | Mode::Slow
                if protocol == Protocol::HttpProtobuf =>
            {
                let counters = counters.clone();
                stop = Some(crate::http_receiver::serve_http(listener, None, move |request| {
                    answer_http(mode, counters.clone(), request)
                }));
            }
            Mode::Healthy | Mode::Unavailable | Mode::ResourceExhausted | Mode::Slow => {
                stop = Some(crate::collector::serve_trace_service(
                    listener,
                    Service {
                        mode,
                        counters: counters.clone(),
                    },
                ));
            }
        }
        FailingReceiver {
            mode,
            addr,
            counters,
            _stop: stop,
        }
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Export requests (gRPC modes) or connections (TCP modes) seen so far;
    /// always 0 for `ConnectionRefused`.
    pub fn contacts(&self) -> u64 {
        self.counters.contacts.load(Ordering::Relaxed)
    }

    /// Spans in requests answered with success.
    pub fn spans_accepted(&self) -> u64 {
        self.counters.spans_accepted.load(Ordering::Relaxed)
    }
}
