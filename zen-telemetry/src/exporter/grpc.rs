//! OTLP/gRPC to a collector or to Google's Telemetry API, for spans and
//! metric points alike, with the spool behind it.
//!
//! Our own client over `opentelemetry-proto` messages rather than
//! opentelemetry-otlp's exporters: a request is encoded once, and the same
//! bytes are sent, spooled when the send fails, and sent again from the
//! spool by a later process. (opentelemetry-otlp takes the SDK's types by
//! value and hands nothing back on failure; its metric exporter cannot hold
//! the traced functions' points or cut them into requests of 200 either.)
//!
//! ```text
//!  request ──> prepare (Google: project, location) ──> encode once ──> send ──ok──> done
//!                                                                       │ failed, or exiting with
//!                                                                       │ the backend known failing
//!                                                                       └──> spool ──> resend_round (a later process)
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes};
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
#[cfg(feature = "gcp")]
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue};
#[cfg(feature = "gcp")]
use tonic::transport::ClientTlsConfig;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use super::exit;
#[cfg(feature = "gcp")]
use super::gcp::Session;
use super::span_wire::SpanRequest;
use super::spool::{Signal, Skipped, Spool};
use crate::config::{OtlpDestination, SpoolSettings};
use crate::{diag, stats};

/// Spooled batches sent in one round, so a large spool cannot starve new data.
const RESEND_BATCHES_PER_ROUND: usize = 4;
/// The least time between two resend rounds.
const RESEND_INTERVAL: Duration = Duration::from_secs(1);
/// The time between two resend rounds while the backend is failing.
const RESEND_RETRY_INTERVAL: Duration = Duration::from_secs(30);
/// The wait before a request refused in passing is tried again; doubled each
/// time up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_millis(400);

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

/// A gRPC destination on the private runtime.
pub(crate) struct Grpc {
    endpoint: String,
    channel: Channel,
    runtime: tokio::runtime::Handle,
    credentials: Credentials,
    timeout: Duration,
    spool: Option<Spool>,
    /// The last request failed: at exit, batches are spooled without a try.
    failing: AtomicBool,
    /// The spool may hold batches to resend: true at start and after this
    /// process spooled one, false once a round found none.
    resend_pending: AtomicBool,
}

enum Credentials {
    /// Headers from `OTEL_EXPORTER_OTLP_<SIGNAL>_HEADERS` / `OTEL_EXPORTER_OTLP_HEADERS`.
    Headers(Vec<(AsciiMetadataKey, AsciiMetadataValue)>),
    /// The Google Cloud session: token, quota project, resource attributes.
    #[cfg(feature = "gcp")]
    Google(Arc<Session>),
}

impl std::fmt::Debug for Grpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grpc")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// What becomes of a request that could not be delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Undelivered {
    /// Spooled for a later try (spans, and metric points at the last export).
    Spool,
    /// Dropped: a later request supersedes it (cumulative metric points
    /// during the run, whose series go again with the next export).
    Drop,
}

/// A batch that was not delivered: kept (its bytes, to spool) or lost.
enum Failed {
    Kept(Bytes, String),
    Lost(String),
}

/// Why a send failed, and whether the batch is worth keeping.
struct Refusal {
    message: String,
    /// A later try may succeed (the backend was away, slow or overloaded);
    /// false when it refused the data itself.
    retry: bool,
    /// The answer asks for a try again in a moment (it was overloaded or
    /// restarting), not a wait for a later process.
    again_soon: bool,
}

/// A request on its way: encoded, and sent on the private runtime.
#[must_use = "a delivery is only counted and spooled once it is waited for"]
pub(crate) struct Delivery {
    grpc: Arc<Grpc>,
    signal: Signal,
    items: u64,
    spool: Undelivered,
    sending: Sending,
}

enum Sending {
    /// It failed before it was sent.
    Done(Result<(), Failed>),
    InFlight(tokio::task::JoinHandle<Result<(), Failed>>),
}

impl Delivery {
    /// Waits for the answer, and spools a batch that was not delivered but
    /// may be later when the request said so. Blocks the calling thread,
    /// which must not be a runtime's.
    pub(crate) fn wait(self) -> Result<(), NotDelivered> {
        let outcome = match self.sending {
            Sending::Done(outcome) => outcome,
            Sending::InFlight(task) => self.grpc.runtime.block_on(task).unwrap_or_else(|error| {
                Err(Failed::Lost(format!(
                    "the send to {} ended: {error}",
                    self.grpc.endpoint
                )))
            }),
        };
        match outcome {
            Ok(()) => Ok(()),
            Err(Failed::Kept(payload, reason)) => Err(NotDelivered {
                spooled: self.spool == Undelivered::Spool && self.grpc.spool_write(self.signal, self.items, &payload),
                reason,
            }),
            Err(Failed::Lost(reason)) => Err(NotDelivered { reason, spooled: false }),
        }
    }
}

/// A request that was not delivered: why, and whether its batch now waits
/// in the spool (then it is counted spooled, not failed).
#[derive(Debug)]
pub(crate) struct NotDelivered {
    pub(crate) reason: String,
    pub(crate) spooled: bool,
}

impl Grpc {
    /// The collector `destination` names (one signal's, from the configuration).
    pub(crate) fn otlp(
        destination: &OtlpDestination,
        timeout: Duration,
        spool: &SpoolSettings,
    ) -> Result<Grpc, String> {
        let endpoint = destination.endpoint_or_default().to_owned();
        let headers = metadata(&destination.headers);
        let spool = spool
            .active_root()
            .map(|root| Spool::new(root, &endpoint, None, spool.max_bytes));
        Grpc::new(endpoint, timeout, Credentials::Headers(headers), spool)
    }

    /// Google's Telemetry API, sharing the session of the process. Batches
    /// are spooled only when `project` is known from the configuration: the
    /// spool is named by it, and a project found later could differ.
    #[cfg(feature = "gcp")]
    pub(crate) fn google(
        session: Arc<Session>,
        project: Option<&str>,
        timeout: Duration,
        spool: &SpoolSettings,
    ) -> Result<Grpc, String> {
        let endpoint = session.endpoint.clone();
        let spool = spool
            .active_root()
            .zip(project)
            .map(|(root, project)| Spool::new(root, &endpoint, Some(project), spool.max_bytes));
        Grpc::new(endpoint, timeout, Credentials::Google(session), spool)
    }

    fn new(
        endpoint: String,
        timeout: Duration,
        credentials: Credentials,
        spool: Option<Spool>,
    ) -> Result<Grpc, String> {
        let runtime = crate::exporter::on_runtime::tokio_runtime()?;
        // tonic spawns its connection task while connecting, so do it inside the runtime.
        let _entered = runtime.enter();
        let channel = channel(&endpoint, timeout)?;
        Ok(Grpc {
            endpoint,
            channel,
            runtime: runtime.handle().clone(),
            credentials,
            timeout,
            resend_pending: AtomicBool::new(spool.is_some()),
            spool,
            failing: AtomicBool::new(false),
        })
    }

    /// The longest one request may take.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `request`, holding `items` spans or points, giving up at
    /// `deadline` or at the exit deadline. A batch that was not delivered
    /// but may be later is spooled when `spool` says so. Blocks the calling
    /// thread, which must not be a runtime's.
    pub(crate) fn deliver<R: OtlpRequest>(
        self: &Arc<Self>,
        request: R,
        items: u64,
        deadline: Instant,
        spool: Undelivered,
    ) -> Result<(), String> {
        self.start(request, items, deadline, spool)
            .wait()
            .map_err(|undelivered| undelivered.reason)
    }

    /// `deliver`, returning once the request is encoded: the send runs on
    /// the private runtime while the caller goes on (to encode the next
    /// batch), and [`Delivery::wait`] finishes it.
    pub(crate) fn start<R: OtlpRequest>(
        self: &Arc<Self>,
        mut request: R,
        items: u64,
        deadline: Instant,
        spool: Undelivered,
    ) -> Delivery {
        let exiting = exit::deadline();
        let deadline = exiting.map_or(deadline, |exit| exit.min(deadline));
        let sending = match self.encode(&mut request, deadline) {
            Ok(payload) => {
                let grpc = self.clone();
                Sending::InFlight(
                    self.runtime
                        .spawn(async move { grpc.send_encoded(R::SIGNAL, payload, deadline, exiting.is_some()).await }),
                )
            }
            Err(failed) => Sending::Done(Err(failed)),
        };
        Delivery {
            grpc: self.clone(),
            signal: R::SIGNAL,
            items,
            spool,
            sending,
        }
    }

    /// The request's bytes, once it is prepared (Google's attributes).
    fn encode<R: OtlpRequest>(&self, request: &mut R, deadline: Instant) -> Result<Bytes, Failed> {
        if !self.needs_preparing() {
            return Ok(Bytes::from(request.encode()));
        }
        let budget = deadline.saturating_duration_since(Instant::now());
        let prepared = self
            .runtime
            .block_on(async { tokio::time::timeout(budget, self.prepare(request)).await });
        match prepared {
            Ok(Ok(())) => Ok(Bytes::from(request.encode())),
            Ok(Err(reason)) => Err(Failed::Lost(reason)),
            Err(_) => Err(Failed::Lost(format!(
                "{} was not ready within {budget:?}",
                self.endpoint
            ))),
        }
    }

    /// Sends an encoded request; what failed in passing is kept to spool.
    async fn send_encoded(
        &self,
        signal: Signal,
        payload: Bytes,
        deadline: Instant,
        exiting: bool,
    ) -> Result<(), Failed> {
        // At exit, a backend that just failed gets no wait at all.
        if exiting && self.failing.load(Ordering::Relaxed) {
            let reason = format!("{} failed before; not tried at exit", self.endpoint);
            return Err(Failed::Kept(payload, reason));
        }
        match self.send_before(signal, payload.clone(), deadline).await {
            Ok(()) => Ok(()),
            Err(refusal) if refusal.retry => {
                self.failing.store(true, Ordering::Relaxed);
                Err(Failed::Kept(payload, refusal.message))
            }
            Err(refusal) => Err(Failed::Lost(refusal.message)),
        }
    }

    /// Writes an undelivered batch to the spool; true when it was written.
    fn spool_write(&self, signal: Signal, items: u64, payload: &[u8]) -> bool {
        let Some(spool) = &self.spool else { return false };
        match spool.write(signal, items, payload) {
            Ok(dropped) => {
                self.resend_pending.store(true, Ordering::Relaxed);
                let (spans, points) = signal.split(items);
                stats::add_spooled(spans, points);
                dropped.count();
                diag::debug_line(|| format!("spooled {items} {} in {}", signal.word(), spool.dir().display()));
                true
            }
            Err(error) => {
                diag::debug_line(|| format!("cannot spool in {}: {error}", spool.dir().display()));
                false
            }
        }
    }

    /// How long until the next resend round is due (zero: now), given when
    /// the last one ran; `None` while nothing is known to wait. Rounds come
    /// a second apart, or half a minute apart while the backend fails.
    pub(crate) fn next_resend(&self, last_round: Option<Instant>) -> Option<Duration> {
        if !self.resend_pending.load(Ordering::Relaxed) {
            return None;
        }
        let Some(last) = last_round else {
            return Some(Duration::ZERO);
        };
        let interval = if self.failing.load(Ordering::Relaxed) {
            RESEND_RETRY_INTERVAL
        } else {
            RESEND_INTERVAL
        };
        Some(interval.saturating_sub(last.elapsed()))
    }

    /// Runs a resend round of `signal` if one is due, noting when.
    pub(crate) fn resend_if_due(&self, signal: Signal, last_round: &mut Option<Instant>) {
        if self.next_resend(*last_round) == Some(Duration::ZERO) {
            self.resend_round(signal);
            *last_round = Some(Instant::now());
        }
    }

    /// Sends spooled batches of `signal` before new data, a few per round so
    /// a large spool cannot starve it; a round that starts as the program
    /// exits is cut off at the exit deadline like any request. A batch is removed only once the
    /// backend took it (or refused it as invalid); a failure ends the round
    /// and hands the batch back.
    fn resend_round(&self, signal: Signal) {
        let Some(spool) = &self.spool else { return };
        let mut skipped = Skipped::default();
        for _ in 0..RESEND_BATCHES_PER_ROUND {
            let Some(claimed) = spool.claim_next(signal, &mut skipped) else {
                self.resend_pending.store(false, Ordering::Relaxed);
                break;
            };
            let items = claimed.batch.items;
            let payload = Bytes::from(claimed.batch.payload.clone());
            let deadline = Instant::now() + self.timeout;
            let sent = self
                .runtime
                .block_on(async { self.send_before(signal, payload, deadline).await });
            match sent {
                Ok(()) => {
                    let _ = claimed.acknowledge();
                    let (spans, points) = signal.split(items);
                    stats::add_resent(spans, points);
                }
                Err(refusal) if !refusal.retry => {
                    let _ = claimed.acknowledge();
                    let (spans, points) = signal.split(items);
                    stats::add_spool_dropped(spans, points);
                    diag::debug_line(|| format!("spooled batch refused, removed: {}", refusal.message));
                }
                Err(refusal) => {
                    let _ = claimed.release();
                    self.failing.store(true, Ordering::Relaxed);
                    diag::debug_line(|| format!("resend failed: {}", refusal.message));
                    break;
                }
            }
        }
        skipped.dropped.count();
        if let Some(first) = skipped.unreadable.first() {
            diag::stderr_line(&format!(
                "zen-telemetry: warning: removed {} unreadable spool file(s) in {} (first: {}: {})",
                skipped.unreadable.len(),
                spool.dir().display(),
                first.path.display(),
                first.reason
            ));
        }
    }

    /// Whether a request waits for [`prepare`](Self::prepare) before it is
    /// encoded: only Google's does, so others skip entering the runtime.
    fn needs_preparing(&self) -> bool {
        match &self.credentials {
            Credentials::Headers(_) => false,
            #[cfg(feature = "gcp")]
            Credentials::Google(_) => true,
        }
    }

    /// Google's resource attributes, before the request is encoded.
    #[cfg_attr(not(feature = "gcp"), allow(clippy::unused_async))]
    async fn prepare<R: OtlpRequest>(&self, request: &mut R) -> Result<(), String> {
        #[cfg(not(feature = "gcp"))]
        let _ = request;
        #[cfg(feature = "gcp")]
        if let Credentials::Google(session) = &self.credentials {
            return prepare_for_google(session, request).await;
        }
        Ok(())
    }

    /// Sends an encoded request, giving up at `deadline` or the exit
    /// deadline. A passing refusal (`UNAVAILABLE`, a throttle) is tried again
    /// after 100 ms, then 200 and 400, as the OTLP exporters do, while that
    /// fits before the deadline.
    async fn send_before(&self, signal: Signal, payload: Bytes, deadline: Instant) -> Result<(), Refusal> {
        let budget = deadline.saturating_duration_since(Instant::now());
        let timed_out = || Refusal {
            message: format!("{} did not answer within {budget:?}", self.endpoint),
            retry: true,
            again_soon: false,
        };
        let attempts = async {
            let mut backoff = FIRST_BACKOFF;
            loop {
                match self.send(signal, payload.clone()).await {
                    Err(refusal)
                        if refusal.again_soon && backoff <= MAX_BACKOFF && Instant::now() + backoff < deadline =>
                    {
                        diag::debug_line(|| format!("{}; trying again in {backoff:?}", refusal.message));
                        tokio::time::sleep(backoff).await;
                        backoff *= 2;
                    }
                    sent => return sent,
                }
            }
        };
        tokio::select! {
            sent = tokio::time::timeout(budget, attempts) => sent.unwrap_or_else(|_| Err(timed_out())),
            () = exit::passed() => Err(timed_out()),
        }
    }

    async fn send(&self, signal: Signal, payload: Bytes) -> Result<(), Refusal> {
        let mut headers = Vec::new();
        #[cfg(feature = "gcp")]
        let mut project = None;
        match &self.credentials {
            Credentials::Headers(fixed) => headers.clone_from(fixed),
            #[cfg(feature = "gcp")]
            Credentials::Google(session) => {
                let id = session.ready().await.map_err(|message| Refusal {
                    message,
                    retry: true,
                    again_soon: false,
                })?;
                for (name, value) in session.headers(id) {
                    headers.push((AsciiMetadataKey::from_static(name), value));
                }
                project = Some(id);
            }
        }
        let mut message = tonic::Request::new(payload);
        for (name, value) in headers {
            message.metadata_mut().insert(name, value);
        }
        let mut client = tonic::client::Grpc::new(self.channel.clone());
        let answer = async {
            client
                .ready()
                .await
                .map_err(|e| Status::unavailable(format!("not connected: {e}")))?;
            client.unary(message, export_path(signal), RawCodec).await
        };
        match answer.await {
            Ok(response) => {
                self.failing.store(false, Ordering::Relaxed);
                match rejected(signal, response.into_inner()) {
                    Some((count, reason)) => Err(Refusal {
                        message: format!("{} rejected {count} {}: {reason}", self.endpoint, signal.word()),
                        retry: false,
                        again_soon: false,
                    }),
                    None => Ok(()),
                }
            }
            Err(status) => {
                #[cfg(feature = "gcp")]
                if let (Credentials::Google(session), Some(project)) = (&self.credentials, project) {
                    session.refused(status.code(), project);
                }
                Err(Refusal {
                    message: format!(
                        "{} answered {:?}: {}{}",
                        self.endpoint,
                        status.code(),
                        status.message(),
                        causes(&status)
                    ),
                    retry: worth_retrying(status.code()),
                    again_soon: passing(status.code()),
                })
            }
        }
    }
}

/// The OTLP/gRPC method for `signal`.
fn export_path(signal: Signal) -> tonic::codegen::http::uri::PathAndQuery {
    tonic::codegen::http::uri::PathAndQuery::from_static(match signal {
        Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    })
}

/// The chain of errors under `error`, each after ": " (a refused connection
/// says so only down there).
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = String::new();
    let mut cause = error.source();
    while let Some(error) = cause {
        text.push_str(&format!(": {error}"));
        cause = error.source();
    }
    text
}

/// Answers that say the backend is briefly unable: the OTLP specification's
/// retryable codes, less those our deadline or a credentials pause handle.
fn passing(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::ResourceExhausted
            | Code::Aborted
            | Code::Cancelled
            | Code::OutOfRange
            | Code::DataLoss
    )
}

/// False for answers that say the data itself is wrong, or that nothing
/// there takes OTLP: sending the same bytes again cannot succeed.
fn worth_retrying(code: Code) -> bool {
    !matches!(code, Code::InvalidArgument | Code::Unimplemented | Code::NotFound)
}

/// The count and reason of a partial success that rejected data.
fn rejected(signal: Signal, response: Bytes) -> Option<(i64, String)> {
    let (count, reason) = match signal {
        Signal::Traces => {
            let partial = ExportTraceServiceResponse::decode(response).ok()?.partial_success?;
            (partial.rejected_spans, partial.error_message)
        }
        Signal::Metrics => {
            let partial = ExportMetricsServiceResponse::decode(response).ok()?.partial_success?;
            (partial.rejected_data_points, partial.error_message)
        }
    };
    (count > 0).then_some((count, reason))
}

/// Sends bytes already encoded and hands back the answer's bytes.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// A lazily connecting channel to `endpoint`, with TLS for `https://` (TLS
/// comes with the `gcp` feature).
pub(crate) fn channel(endpoint: &str, timeout: Duration) -> Result<Channel, String> {
    #[cfg_attr(not(feature = "gcp"), allow(unused_mut))]
    let mut channel =
        Endpoint::from_shared(endpoint.to_owned()).map_err(|e| format!("invalid endpoint {endpoint}: {e}"))?;
    #[cfg(not(feature = "gcp"))]
    if endpoint.starts_with("https://") {
        return Err(format!(
            "{endpoint}: TLS needs zen-telemetry's `gcp` feature; this build has plaintext OTLP only"
        ));
    }
    #[cfg(feature = "gcp")]
    if endpoint.starts_with("https://") {
        channel = channel
            .tls_config(ClientTlsConfig::new().with_webpki_roots())
            .map_err(|e| format!("TLS setup for {endpoint} failed: {e}"))?;
    }
    Ok(channel.timeout(timeout).connect_lazy())
}

/// Google's resource attributes on every resource of `request`.
#[cfg(feature = "gcp")]
async fn prepare_for_google<R: OtlpRequest>(session: &Session, request: &mut R) -> Result<(), String> {
    let project = session.project().await?;
    let location = match R::SIGNAL {
        Signal::Metrics => Some(session.location().await),
        Signal::Traces => None,
    };
    for resource in request.resources() {
        set_google_attributes(&mut resource.attributes, project, location);
    }
    Ok(())
}

/// The resource attributes Google needs: the project, and for metric points
/// a location unless the resource already names one.
#[cfg(feature = "gcp")]
fn set_google_attributes(attributes: &mut Vec<KeyValue>, project: &str, location: Option<&str>) {
    let text = |value: &str| {
        Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        })
    };
    attributes.retain(|kv| kv.key != "gcp.project_id");
    attributes.push(KeyValue {
        key: "gcp.project_id".to_owned(),
        value: text(project),
        ..Default::default()
    });
    let has_location = attributes
        .iter()
        .any(|kv| matches!(kv.key.as_str(), "location" | "cloud.availability_zone" | "cloud.region"));
    if let Some(location) = location
        && !has_location
    {
        attributes.push(KeyValue {
            key: "cloud.region".to_owned(),
            value: text(location),
            ..Default::default()
        });
    }
}

/// `key=value,key=value`, values percent-decoded, as the OTLP exporter spec says.
/// The configuration's headers as gRPC metadata; the configuration checked
/// them, so none is refused here.
fn metadata(headers: &[(String, String)]) -> Vec<(AsciiMetadataKey, AsciiMetadataValue)> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            let name = AsciiMetadataKey::from_bytes(name.as_bytes()).ok()?;
            let value = AsciiMetadataValue::try_from(value.as_str()).ok()?;
            Some((name, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "gcp")]
    #[test]
    fn google_attributes_keep_a_given_location() {
        let mut attributes = vec![KeyValue {
            key: "cloud.availability_zone".to_owned(),
            ..Default::default()
        }];
        set_google_attributes(&mut attributes, "p-1", Some("global"));
        let keys: Vec<&str> = attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["cloud.availability_zone", "gcp.project_id"]);
        let mut attributes = Vec::new();
        set_google_attributes(&mut attributes, "p-1", Some("us-central1"));
        let keys: Vec<&str> = attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["gcp.project_id", "cloud.region"]);
        let mut attributes = Vec::new();
        set_google_attributes(&mut attributes, "p-1", None);
        let keys: Vec<&str> = attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["gcp.project_id"], "spans carry no location");
    }

    #[test]
    fn only_refusals_of_the_data_itself_are_not_retried() {
        for code in [
            Code::Unavailable,
            Code::DeadlineExceeded,
            Code::ResourceExhausted,
            Code::Unauthenticated,
        ] {
            assert!(worth_retrying(code), "{code:?}");
        }
        for code in [Code::InvalidArgument, Code::Unimplemented, Code::NotFound] {
            assert!(!worth_retrying(code), "{code:?}");
        }
    }
}
