//! A real OTLP/gRPC trace and metrics receiver on 127.0.0.1, and a blackhole
//! that accepts connections and never answers.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValueKind;
use opentelemetry_proto::tonic::trace::v1::Span;
use tonic::codec::CompressionEncoding;

type Requests = Arc<Mutex<Vec<ExportTraceServiceRequest>>>;

/// What the receiver answers.
#[derive(Clone, Debug, Default)]
pub enum Answer {
    /// Accept every request.
    #[default]
    Accept,
    /// Fail the first requests with these codes, then accept.
    FailFirst(Vec<tonic::Code>),
    /// Fail every request with this code.
    Always(tonic::Code),
}

/// The headers of one request that reached the receiver.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestHeaders {
    /// `authorization`.
    pub authorization: Option<String>,
    /// `x-goog-user-project`.
    pub user_project: Option<String>,
    /// `grpc-encoding`: how the message was compressed.
    pub encoding: Option<String>,
    /// The name of every header, in order.
    pub names: Vec<String>,
}

impl RequestHeaders {
    fn of(metadata: &tonic::metadata::MetadataMap) -> RequestHeaders {
        let header = |name: &str| metadata.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        RequestHeaders {
            authorization: header("authorization"),
            user_project: header("x-goog-user-project"),
            encoding: header("grpc-encoding"),
            names: metadata
                .keys()
                .map(|key| match key {
                    tonic::metadata::KeyRef::Ascii(key) => key.as_str().to_owned(),
                    tonic::metadata::KeyRef::Binary(key) => key.as_str().to_owned(),
                })
                .collect(),
        }
    }
}

/// Metric export requests received, with the headers of each.
type MetricRequests = Arc<Mutex<Vec<(RequestHeaders, ExportMetricsServiceRequest)>>>;

#[derive(Clone)]
struct Receiver {
    requests: Requests,
    headers: Arc<Mutex<Vec<RequestHeaders>>>,
    metrics: MetricRequests,
    answer: Arc<Mutex<Answer>>,
}

impl Receiver {
    /// The injected failure for this request, if any.
    fn failure(&self) -> Option<tonic::Status> {
        let code = match &mut *self.answer.lock().unwrap_or_else(|p| p.into_inner()) {
            Answer::Accept => None,
            Answer::Always(code) => Some(*code),
            Answer::FailFirst(codes) if codes.is_empty() => None,
            Answer::FailFirst(codes) => Some(codes.remove(0)),
        };
        code.map(|code| tonic::Status::new(code, "injected failure"))
    }
}

#[tonic::async_trait]
impl MetricsService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let headers = RequestHeaders::of(request.metadata());
        self.metrics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((headers, request.into_inner()));
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.headers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(RequestHeaders::of(request.metadata()));
        if let Some(failure) = self.failure() {
            return Err(failure);
        }
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// A span as received, with the resource it came with.
#[derive(Clone, Debug)]
pub struct ReceivedSpan {
    /// Resource attributes, stringified.
    pub resource: BTreeMap<String, String>,
    /// The span.
    pub span: Span,
}

impl ReceivedSpan {
    /// A span attribute, stringified.
    pub fn attribute(&self, key: &str) -> Option<String> {
        attributes(&self.span.attributes).remove(key)
    }
}

/// Attributes as a map of strings.
pub fn attributes(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| {
            let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(AnyValueKind::StringValue(s)) => s.clone(),
                Some(AnyValueKind::BoolValue(b)) => b.to_string(),
                Some(AnyValueKind::IntValue(i)) => i.to_string(),
                Some(AnyValueKind::DoubleValue(d)) => d.to_string(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), value)
        })
        .collect()
}

/// An OTLP/gRPC receiver running on its own thread and runtime.
pub struct FakeCollector {
    addr: SocketAddr,
    tls: bool,
    requests: Requests,
    headers: Arc<Mutex<Vec<RequestHeaders>>>,
    metrics: MetricRequests,
    /// Dropped with the collector, which stops the server.
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl FakeCollector {
    /// Starts listening on 127.0.0.1 on a free port, accepting everything.
    pub fn start() -> FakeCollector {
        FakeCollector::answering(Answer::Accept)
    }

    /// Starts listening on 127.0.0.1 on a free port, answering as told.
    pub fn answering(answer: Answer) -> FakeCollector {
        let (listener, _) = crate::bind_loopback();
        FakeCollector::serving(listener, answer)
    }

    /// Starts listening on 127.0.0.1 on a free port over TLS, accepting everything.
    pub fn with_tls(tls: tonic::transport::ServerTlsConfig) -> FakeCollector {
        let (listener, _) = crate::bind_loopback();
        FakeCollector::serving_over(listener, Answer::Accept, Some(tls))
    }

    /// Starts listening on `addr`, which an earlier receiver of the same
    /// test had (a backend coming back at the same endpoint), accepting everything.
    pub fn start_on(addr: SocketAddr) -> FakeCollector {
        let listener = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr} again: {e}"));
        FakeCollector::serving(listener, Answer::Accept)
    }

    fn serving(listener: TcpListener, answer: Answer) -> FakeCollector {
        FakeCollector::serving_over(listener, answer, None)
    }

    fn serving_over(
        listener: TcpListener,
        answer: Answer,
        tls: Option<tonic::transport::ServerTlsConfig>,
    ) -> FakeCollector {
        let addr = listener.local_addr().expect("local addr");
        let requests: Requests = Arc::default();
        let headers: Arc<Mutex<Vec<RequestHeaders>>> = Arc::default();
        let metrics: MetricRequests = Arc::default();
        let receiver = Receiver {
            requests: requests.clone(),
            headers: headers.clone(),
            metrics: metrics.clone(),
            answer: Arc::new(Mutex::new(answer)),
        };
        let tls_used = tls.is_some();
        let stop = serve_over(listener, tls, move |server| {
            server
                .add_service(TraceServiceServer::new(receiver.clone()).accept_compressed(CompressionEncoding::Gzip))
                .add_service(MetricsServiceServer::new(receiver).accept_compressed(CompressionEncoding::Gzip))
        });
        FakeCollector {
            addr,
            tls: tls_used,
            requests,
            headers,
            metrics,
            _stop: stop,
        }
    }

    /// `http://127.0.0.1:PORT` (or `https://localhost:PORT` with TLS, the
    /// name the test certificate is for).
    pub fn endpoint(&self) -> String {
        match self.tls {
            true => format!("https://localhost:{}", self.addr.port()),
            false => format!("http://{}", self.addr),
        }
    }

    /// Headers of every request received so far, failed ones included.
    pub fn request_headers(&self) -> Vec<RequestHeaders> {
        self.headers.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Export requests accepted so far.
    pub fn requests(&self) -> Vec<ExportTraceServiceRequest> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Metric export requests received so far, with their headers, in order.
    pub fn metric_requests(&self) -> Vec<(RequestHeaders, ExportMetricsServiceRequest)> {
        self.metrics.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits until at least `count` metric requests arrived or `timeout` passed.
    pub fn wait_for_metric_requests(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Vec<(RequestHeaders, ExportMetricsServiceRequest)> {
        wait_for(count, timeout, || self.metric_requests())
    }

    /// Every span received so far, with its resource.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        let mut spans = Vec::new();
        for request in self.requests() {
            for resource_spans in request.resource_spans {
                let resource = resource_spans
                    .resource
                    .map(|r| attributes(&r.attributes))
                    .unwrap_or_default();
                for scope in resource_spans.scope_spans {
                    for span in scope.spans {
                        spans.push(ReceivedSpan {
                            resource: resource.clone(),
                            span,
                        });
                    }
                }
            }
        }
        spans
    }

    /// Waits until at least `count` spans arrived or `timeout` passed.
    pub fn wait_for_spans(&self, count: usize, timeout: Duration) -> Vec<ReceivedSpan> {
        wait_for(count, timeout, || self.spans())
    }
}

/// Polls `fetch` until it returns at least `count` items or `timeout` passed.
fn wait_for<T>(count: usize, timeout: Duration, fetch: impl Fn() -> Vec<T>) -> Vec<T> {
    let deadline = Instant::now() + timeout;
    loop {
        let items = fetch();
        if items.len() >= count || Instant::now() >= deadline {
            return items;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Serves `service` as the OTLP TraceService on `listener` from a thread of
/// its own, until the returned sender fires or is dropped (the fakes keep it
/// in a field, so dropping the fake stops its server).
pub fn serve_trace_service<S: TraceService>(listener: TcpListener, service: S) -> tokio::sync::oneshot::Sender<()> {
    serve(listener, move |server| {
        server.add_service(TraceServiceServer::new(service))
    })
}

/// Serves the router `services` builds, as [`serve_trace_service`] does.
pub(crate) fn serve(
    listener: TcpListener,
    services: impl FnOnce(&mut tonic::transport::Server) -> tonic::transport::server::Router + Send + 'static,
) -> tokio::sync::oneshot::Sender<()> {
    serve_over(listener, None, services)
}

/// [`serve`], over TLS when `tls` is given.
fn serve_over(
    listener: TcpListener,
    tls: Option<tonic::transport::ServerTlsConfig>,
    services: impl FnOnce(&mut tonic::transport::Server) -> tonic::transport::server::Router + Send + 'static,
) -> tokio::sync::oneshot::Sender<()> {
    listener.set_nonblocking(true).expect("nonblocking");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            // As tonic's own `serve` and Go's gRPC servers (the collector's) do:
            // with Nagle on, an answer that follows another unacknowledged
            // one waits for the client's delayed ACK, 40 ms.
            let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
            let mut server = tonic::transport::Server::builder();
            if let Some(tls) = tls {
                server = server.tls_config(tls).expect("the test CA's server certificate");
            }
            let _ = services(&mut server)
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = stopped.await;
                })
                .await;
        });
    });
    stop
}

/// Accepts TCP connections and never reads or answers.
pub struct Blackhole {
    addr: SocketAddr,
}

impl Blackhole {
    /// Starts listening on 127.0.0.1 on a free port.
    pub fn start() -> Blackhole {
        let (listener, addr) = crate::bind_loopback();
        hold_connections(listener, || {});
        Blackhole { addr }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// A blackhole that closes its port and every connection when dropped, so
/// a healthy receiver can take the same endpoint.
pub struct ClosingBlackhole {
    addr: SocketAddr,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl ClosingBlackhole {
    /// Starts listening on 127.0.0.1 on a free port.
    pub fn start() -> ClosingBlackhole {
        let (listener, addr) = crate::bind_loopback();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            for stream in listener.incoming().flatten() {
                if stopping.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                held.push(stream);
            }
        });
        ClosingBlackhole {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// The address, for the receiver that follows.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for ClosingBlackhole {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wakes the accept loop, which then sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Accepts connections on `listener` from a thread of its own and holds each
/// open without reading or answering, calling `on_accept` for each.
pub(crate) fn hold_connections(listener: TcpListener, on_accept: impl Fn() + Send + 'static) {
    thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        for stream in listener.incoming().flatten() {
            on_accept();
            held.push(stream);
        }
    });
}
