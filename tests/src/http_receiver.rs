//! A real OTLP/HTTP receiver on 127.0.0.1 (hyper, HTTP/1.1, optionally TLS
//! and mutual TLS), which decodes what it gets with `opentelemetry-proto`,
//! and a test CA made at run time for it.

use std::convert::Infallible;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

use crate::collector::{ReceivedSpan, attributes};

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    /// The path asked for.
    pub path: String,
    /// Lower-case header names and their values.
    pub headers: Vec<(String, String)>,
    /// The body, decompressed when it came gzipped.
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

impl HttpRequest {
    /// The value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, value)| value.as_str())
    }
}

/// How the receiver answers, in turn; the last answer repeats.
#[derive(Clone, Debug)]
pub enum HttpAnswer {
    /// 200 with an empty response.
    Accept,
    /// 200 with a partial success rejecting this many spans or points.
    Reject(i64),
    /// This status, with `Retry-After: <seconds>` when given.
    Status(u16, Option<u64>),
}

/// TLS for the receiver: its certificate, and whether clients must show one.
pub struct ReceiverTls {
    /// The server's configuration.
    pub config: Arc<rustls::ServerConfig>,
}

/// A running receiver; stops when dropped.
pub struct HttpReceiver {
    addr: SocketAddr,
    scheme: &'static str,
    requests: Arc<Mutex<Vec<HttpRequest>>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl HttpReceiver {
    /// Plain HTTP, accepting everything.
    pub fn start() -> HttpReceiver {
        HttpReceiver::answering(vec![HttpAnswer::Accept], None)
    }

    /// Answers `answers` in turn (the last repeats), over TLS when `tls` is given.
    pub fn answering(answers: Vec<HttpAnswer>, tls: Option<ReceiverTls>) -> HttpReceiver {
        let (listener, _) = crate::bind_loopback();
        HttpReceiver::serving(listener, answers, tls)
    }

    /// Plain HTTP on `addr`, which an earlier receiver of the same test had
    /// (a backend coming back at the same endpoint), accepting everything.
    pub fn start_on(addr: SocketAddr) -> HttpReceiver {
        let listener = std::net::TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr} again: {e}"));
        HttpReceiver::serving(listener, vec![HttpAnswer::Accept], None)
    }

    fn serving(listener: std::net::TcpListener, answers: Vec<HttpAnswer>, tls: Option<ReceiverTls>) -> HttpReceiver {
        let addr = listener.local_addr().expect("local addr");
        let requests: Arc<Mutex<Vec<HttpRequest>>> = Arc::default();
        let answers = Arc::new(Mutex::new(answers));
        let scheme = if tls.is_some() { "https" } else { "http" };
        let recorded = requests.clone();
        let stop = serve_http(listener, tls, move |request| {
            handle(request, recorded.clone(), answers.clone())
        });
        HttpReceiver {
            addr,
            scheme,
            requests,
            _stop: stop,
        }
    }

    /// `http://127.0.0.1:PORT` (or `https://localhost:PORT` with TLS, the
    /// name the test certificate is for).
    pub fn endpoint(&self) -> String {
        match self.scheme {
            "https" => format!("https://localhost:{}", self.addr.port()),
            _ => format!("http://{}", self.addr),
        }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The span export requests so far, decoded, with the request each came in.
    pub fn trace_requests(&self) -> Vec<(HttpRequest, ExportTraceServiceRequest)> {
        self.requests()
            .into_iter()
            .filter_map(|request| {
                let decoded = ExportTraceServiceRequest::decode(request.body.as_slice()).ok()?;
                Some((request, decoded)).filter(|(_, decoded)| !decoded.resource_spans.is_empty())
            })
            .collect()
    }

    /// Waits until at least `count` spans arrived or `timeout` passed.
    pub fn wait_for_spans(&self, count: usize, timeout: Duration) -> Vec<ReceivedSpan> {
        wait_until(timeout, || self.spans().len() >= count);
        self.spans()
    }

    /// The metric export requests so far, decoded.
    pub fn metric_requests(&self) -> Vec<(HttpRequest, ExportMetricsServiceRequest)> {
        self.requests()
            .into_iter()
            .filter(|request| request.path.ends_with("metrics"))
            .filter_map(|request| {
                let decoded = ExportMetricsServiceRequest::decode(request.body.as_slice()).ok()?;
                Some((request, decoded))
            })
            .collect()
    }

    /// The spans received, flattened, with their resource attributes.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        let mut spans = Vec::new();
        for (_, request) in self.trace_requests() {
            for resource_spans in request.resource_spans {
                let resource = attributes(&resource_spans.resource.map(|r| r.attributes).unwrap_or_default());
                for scope in resource_spans.scope_spans {
                    for span in scope.spans {
                        spans.push(ReceivedSpan {
                            span,
                            resource: resource.clone(),
                        });
                    }
                }
            }
        }
        spans
    }
}

/// Serves HTTP/1.1 on `listener` (over TLS when `tls` is given) from a
/// thread of its own, answering each request with `handle`, until the
/// returned sender fires or is dropped.
pub(crate) fn serve_http<F, Answer>(
    listener: std::net::TcpListener,
    tls: Option<ReceiverTls>,
    handle: F,
) -> tokio::sync::oneshot::Sender<()>
where
    F: Fn(Request<Incoming>) -> Answer + Clone + Send + Sync + 'static,
    Answer: std::future::Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static,
{
    listener.set_nonblocking(true).expect("nonblocking");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let acceptor = tls.map(|tls| tokio_rustls::TlsAcceptor::from(tls.config));
            let serve = async {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    // As the gRPC fakes do (collector::serve): with Nagle on, an
                    // answer behind an unacknowledged one waits 40 ms.
                    let _ = stream.set_nodelay(true);
                    let (handle, acceptor) = (handle.clone(), acceptor.clone());
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(handle);
                        let http = hyper::server::conn::http1::Builder::new();
                        match acceptor {
                            Some(acceptor) => {
                                if let Ok(stream) = acceptor.accept(stream).await {
                                    let _ = http.serve_connection(TokioIo::new(stream), service).await;
                                }
                            }
                            None => {
                                let _ = http.serve_connection(TokioIo::new(stream), service).await;
                            }
                        }
                    });
                }
            };
            tokio::select! {
                () = serve => {}
                _ = stopped => {}
            }
        });
    });
    stop
}

/// The body of `request`, inflated when it says `Content-Encoding: gzip`;
/// `None` when it cannot be read or inflated.
pub(crate) async fn read_body(request: Request<Incoming>) -> Option<Bytes> {
    let (raw, gzip) = body_as_sent(request).await?;
    inflated(raw, gzip)
}

/// The body of `request` as it came on the wire, and whether it says it is gzipped.
pub(crate) async fn body_as_sent(request: Request<Incoming>) -> Option<(Bytes, bool)> {
    let gzip = request
        .headers()
        .get(hyper::header::CONTENT_ENCODING)
        .is_some_and(|value| value == "gzip");
    Some((request.into_body().collect().await.ok()?.to_bytes(), gzip))
}

/// `raw` inflated when `gzip`, else `raw` itself.
pub(crate) fn inflated(raw: Bytes, gzip: bool) -> Option<Bytes> {
    if !gzip {
        return Some(raw);
    }
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut decoded).ok()?;
    Some(Bytes::from(decoded))
}

async fn handle(
    request: Request<Incoming>,
    requests: Arc<Mutex<Vec<HttpRequest>>>,
    answers: Arc<Mutex<Vec<HttpAnswer>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap_or_default().to_owned()))
        .collect();
    let Some(body) = read_body(request).await.map(|body| body.to_vec()) else {
        return Ok(status(StatusCode::BAD_REQUEST, None));
    };
    requests.lock().unwrap_or_else(|p| p.into_inner()).push(HttpRequest {
        path: path.clone(),
        headers,
        body,
        at: Instant::now(),
    });
    if path != "/v1/traces" && path != "/v1/metrics" && !path.starts_with("/custom/") {
        return Ok(status(StatusCode::NOT_FOUND, None));
    }
    let answer = {
        let mut answers = answers.lock().unwrap_or_else(|p| p.into_inner());
        if answers.len() > 1 {
            answers.remove(0)
        } else {
            answers.first().cloned().unwrap_or(HttpAnswer::Accept)
        }
    };
    let metrics = path.contains("metrics");
    Ok(match answer {
        HttpAnswer::Accept => ok(Vec::new()),
        HttpAnswer::Reject(count) if metrics => ok(ExportMetricsServiceResponse {
            partial_success: Some(ExportMetricsPartialSuccess {
                rejected_data_points: count,
                error_message: "test rejects".to_owned(),
            }),
        }
        .encode_to_vec()),
        HttpAnswer::Reject(count) => ok(ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: count,
                error_message: "test rejects".to_owned(),
            }),
        }
        .encode_to_vec()),
        HttpAnswer::Status(code, retry_after) => status(
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            retry_after,
        ),
    })
}

pub(crate) fn ok(body: Vec<u8>) -> Response<Full<Bytes>> {
    Response::builder()
        .header("content-type", "application/x-protobuf")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

pub(crate) fn status(code: StatusCode, retry_after: Option<u64>) -> Response<Full<Bytes>> {
    let mut response = Response::builder().status(code);
    if let Some(seconds) = retry_after {
        response = response.header("retry-after", seconds.to_string());
    }
    response.body(Full::new(Bytes::new())).unwrap_or_default()
}

/// A CA made for one test, with a server certificate for `localhost` and
/// `127.0.0.1` and a client certificate, all written as PEM files.
pub struct TestCa {
    /// The CA's certificate.
    pub ca: PathBuf,
    /// The client's certificate and key, for mutual TLS.
    pub client_certificate: PathBuf,
    /// The client's private key.
    pub client_key: PathBuf,
    server_chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    server_key: Vec<u8>,
    ca_der: rustls::pki_types::CertificateDer<'static>,
    /// The same server certificate, key and CA as PEM, for tonic's server.
    server_pem: (String, String),
    ca_pem: String,
}

impl TestCa {
    /// Makes the CA and its certificates, writing the files into `dir`.
    pub fn new(dir: &Path) -> TestCa {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "zen-tests CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA");
        let leaf = |names: Vec<String>| {
            let key = KeyPair::generate().expect("key");
            let certificate = CertificateParams::new(names)
                .expect("params")
                .signed_by(&key, &ca)
                .expect("sign");
            (certificate, key)
        };
        let (server, server_key) = leaf(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]);
        let (client, client_key) = leaf(vec!["zen-client".to_owned()]);
        let write = |name: &str, text: String| {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("write PEM");
            path
        };
        TestCa {
            server_pem: (server.pem(), server_key.serialize_pem()),
            ca_pem: ca.pem(),
            ca: write("ca.pem", ca.pem()),
            client_certificate: write("client.pem", client.pem()),
            client_key: write("client.key", client_key.serialize_pem()),
            server_chain: vec![server.der().clone()],
            server_key: server_key.serialize_der(),
            ca_der: ca.der().clone(),
        }
    }

    /// The receiver's TLS, asking clients for a certificate of this CA
    /// when `mutual`.
    pub fn server(&self, mutual: bool) -> ReceiverTls {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("versions");
        let builder = if mutual {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.ca_der.clone()).expect("CA root");
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(self.server_key.clone().into());
        let mut config = builder
            .with_single_cert(self.server_chain.clone(), key)
            .expect("server certificate");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        ReceiverTls {
            config: Arc::new(config),
        }
    }
}

impl TestCa {
    /// TLS for a gRPC receiver (tonic's server, HTTP/2 by ALPN), asking
    /// clients for a certificate of this CA when `mutual`.
    pub fn grpc_server(&self, mutual: bool) -> tonic::transport::ServerTlsConfig {
        let (certificate, key) = &self.server_pem;
        let tls =
            tonic::transport::ServerTlsConfig::new().identity(tonic::transport::Identity::from_pem(certificate, key));
        if mutual {
            tls.client_ca_root(tonic::transport::Certificate::from_pem(&self.ca_pem))
        } else {
            tls
        }
    }
}

/// Waits until `ready` holds or `timeout` passes.
pub fn wait_until(timeout: Duration, ready: impl Fn() -> bool) -> bool {
    let until = Instant::now() + timeout;
    while Instant::now() < until {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    ready()
}
