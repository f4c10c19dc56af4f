//! One OTLP destination, for spans or metric points: a transport (gRPC or
//! HTTP), the headers or Google's credentials, the retry policy, and the
//! spool behind it.
//!
//! Our own client over `opentelemetry-proto` messages rather than
//! opentelemetry-otlp's exporters: a request is encoded once, and the same
//! bytes are sent, spooled when the send fails, and sent again from the
//! spool by a later process, over either protocol. (opentelemetry-otlp
//! takes the SDK's types by value and hands nothing back on failure; its
//! metric exporter cannot hold the traced functions' points or cut them
//! into requests of 200 either.)
//!
//! ```text
//!  request ──> prepare (Google: project, location) ──> encode once ──> transport ──ok──> done
//!                                                                        │ failed, or exiting with
//!                                                                        │ the backend known failing
//!                                                                        └──> spool ──> resend (a later process)
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ::http::{HeaderName, HeaderValue};
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;

use super::exit;
#[cfg(feature = "gcp")]
use super::gcp::Session;
use super::request::OtlpRequest;
use super::spool::{Signal, Spool};
use super::transport::{Refusal, Transport, TransportSettings};
#[cfg(feature = "gcp")]
use crate::config::{OtlpCompression, OtlpProtocol, TlsFiles};
use crate::config::{OtlpDestination, SpoolSettings};
use crate::{diag, stats};

/// The wait before a request refused in passing is tried again; doubled each
/// time up to `MAX_BACKOFF`, unless the answer says how long to wait.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_millis(400);
/// Tries of one request refused in passing, the first included.
const MAX_ATTEMPTS: u32 = 4;

/// A network destination on the private runtime.
pub(crate) struct Destination {
    /// Where requests go, for messages.
    pub(crate) url: String,
    transport: Transport,
    pub(crate) runtime: tokio::runtime::Handle,
    credentials: Credentials,
    timeout: Duration,
    pub(crate) spool: Option<Spool>,
    /// The last request failed: at exit, batches are spooled without a try.
    pub(crate) failing: AtomicBool,
    /// The spool may hold batches to resend: true at start and after this
    /// process spooled one, false once a round found none.
    pub(crate) resend_pending: AtomicBool,
}

enum Credentials {
    /// Headers from `OTEL_EXPORTER_OTLP_<SIGNAL>_HEADERS` / `OTEL_EXPORTER_OTLP_HEADERS`.
    Headers(Vec<(HeaderName, HeaderValue)>),
    /// The Google Cloud session: token, quota project, resource attributes.
    #[cfg(feature = "gcp")]
    Google(Arc<Session>),
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Destination")
            .field("url", &self.url)
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

/// A request on its way: encoded, and sent on the private runtime.
#[must_use = "a delivery is only counted and spooled once it is waited for"]
pub(crate) struct Delivery {
    destination: Arc<Destination>,
    signal: Signal,
    items: u64,
    spool: Undelivered,
    sending: Sending,
}

enum Sending {
    /// It failed before it was sent.
    Done(Result<Delivered, Failed>),
    InFlight(tokio::task::JoinHandle<Result<Delivered, Failed>>),
}

/// A request the backend took: all of it, or all but what it rejected
/// (an OTLP partial success).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Delivered {
    /// Spans or points the backend said it rejected.
    pub(crate) rejected: u64,
}

impl Delivery {
    /// Waits for the answer, and spools a batch that was not delivered but
    /// may be later when the request said so. Blocks the calling thread,
    /// which must not be a runtime's.
    pub(crate) fn wait(self) -> Result<Delivered, NotDelivered> {
        let destination = &self.destination;
        let outcome = match self.sending {
            Sending::Done(outcome) => outcome,
            Sending::InFlight(task) => destination
                .runtime
                .block_on(task)
                .unwrap_or_else(|error| Err(Failed::Lost(format!("the send to {} ended: {error}", destination.url)))),
        };
        match outcome {
            Ok(delivered) => Ok(delivered),
            Err(Failed::Kept(payload, reason)) => Err(NotDelivered {
                spooled: self.spool == Undelivered::Spool && destination.spool_write(self.signal, self.items, &payload),
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

impl Destination {
    /// The collector `destination` names (one signal's, from the configuration).
    /// `timeout`: the export timeout, when the destination sets none.
    pub(crate) fn otlp(
        destination: &OtlpDestination,
        timeout: Duration,
        spool: &SpoolSettings,
    ) -> Result<Destination, String> {
        let spool = spool
            .active_root()
            .map(|root| Spool::new(root, destination.endpoint_or_default(), None, spool.max_bytes));
        let headers = destination
            .headers
            .iter()
            .filter_map(|(name, value)| {
                // The configuration checked them, so none is refused here.
                Some((
                    HeaderName::from_bytes(name.as_bytes()).ok()?,
                    HeaderValue::from_str(value).ok()?,
                ))
            })
            .collect();
        let settings = TransportSettings {
            url: &destination.url(),
            protocol: destination.protocol,
            compression: destination.compression.unwrap_or_default(),
            tls: &destination.tls,
            timeout: destination.timeout.unwrap_or(timeout),
        };
        Destination::new(&settings, Credentials::Headers(headers), spool)
    }

    /// Google's Telemetry API over gRPC, sharing the session of the process.
    /// Batches are spooled only when `project` is known from the
    /// configuration: the spool is named by it, and a project found later
    /// could differ.
    #[cfg(feature = "gcp")]
    pub(crate) fn google(
        session: Arc<Session>,
        project: Option<&str>,
        compression: OtlpCompression,
        timeout: Duration,
        spool: &SpoolSettings,
    ) -> Result<Destination, String> {
        let endpoint = session.endpoint.clone();
        let spool = spool
            .active_root()
            .zip(project)
            .map(|(root, project)| Spool::new(root, &endpoint, Some(project), spool.max_bytes));
        let settings = TransportSettings {
            url: &endpoint,
            protocol: OtlpProtocol::Grpc,
            compression,
            tls: &TlsFiles::default(),
            timeout,
        };
        Destination::new(&settings, Credentials::Google(session), spool)
    }

    fn new(
        settings: &TransportSettings<'_>,
        credentials: Credentials,
        spool: Option<Spool>,
    ) -> Result<Destination, String> {
        let runtime = crate::exporter::on_runtime::tokio_runtime()?;
        // tonic spawns its connection task while connecting, so do it inside the runtime.
        let _entered = runtime.enter();
        let transport = Transport::new(settings)?;
        Ok(Destination {
            url: settings.url.to_owned(),
            transport,
            runtime: runtime.handle().clone(),
            credentials,
            timeout: settings.timeout,
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
    ) -> Result<Delivered, NotDelivered> {
        self.start(request, items, deadline, spool).wait()
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
                let destination = self.clone();
                Sending::InFlight(self.runtime.spawn(async move {
                    destination
                        .send_encoded(R::SIGNAL, payload, deadline, exiting.is_some())
                        .await
                }))
            }
            Err(failed) => Sending::Done(Err(failed)),
        };
        Delivery {
            destination: self.clone(),
            signal: R::SIGNAL,
            items,
            spool,
            sending,
        }
    }

    /// The request's bytes, once it is prepared (Google's attributes).
    fn encode<R: OtlpRequest>(&self, request: &mut R, deadline: Instant) -> Result<Bytes, Failed> {
        #[cfg(feature = "gcp")]
        if let Credentials::Google(session) = &self.credentials {
            let budget = deadline.saturating_duration_since(Instant::now());
            let prepared = self
                .runtime
                .block_on(async { tokio::time::timeout(budget, super::gcp::prepare(session, request)).await });
            return match prepared {
                Ok(Ok(())) => Ok(Bytes::from(request.encode())),
                Ok(Err(reason)) => Err(Failed::Lost(reason)),
                Err(_) => Err(Failed::Lost(format!("{} was not ready within {budget:?}", self.url))),
            };
        }
        let _ = deadline;
        Ok(Bytes::from(request.encode()))
    }

    /// Sends an encoded request; what failed in passing is kept to spool.
    async fn send_encoded(
        &self,
        signal: Signal,
        payload: Bytes,
        deadline: Instant,
        exiting: bool,
    ) -> Result<Delivered, Failed> {
        // At exit, a backend that just failed gets no wait at all.
        if exiting && self.failing.load(Ordering::Relaxed) {
            let reason = format!("{} failed before; not tried at exit", self.url);
            return Err(Failed::Kept(payload, reason));
        }
        match self.send_before(signal, payload.clone(), deadline).await {
            Ok(delivered) => Ok(delivered),
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

    /// Sends an encoded request, giving up at `deadline` or the exit
    /// deadline. A passing refusal (`UNAVAILABLE`, HTTP 503, a throttle) is
    /// tried again after the wait the answer asked for (`RetryInfo`,
    /// `Retry-After`), else after 100 ms, then 200 and 400, as the OTLP
    /// exporters do, while that fits before the deadline.
    pub(crate) async fn send_before(
        &self,
        signal: Signal,
        payload: Bytes,
        deadline: Instant,
    ) -> Result<Delivered, Refusal> {
        let budget = deadline.saturating_duration_since(Instant::now());
        let timed_out = || Refusal::unreachable(format!("{} did not answer within {budget:?}", self.url));
        let attempts = async {
            let mut backoff = FIRST_BACKOFF;
            let mut attempt = 1;
            loop {
                match self.send(signal, payload.clone()).await {
                    Err(refusal) if refusal.again_soon && attempt < MAX_ATTEMPTS => {
                        let wait = refusal.retry_after.unwrap_or(backoff);
                        if Instant::now() + wait >= deadline {
                            return Err(refusal);
                        }
                        diag::debug_line(|| format!("{}; trying again in {wait:?}", refusal.message));
                        tokio::time::sleep(wait).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        attempt += 1;
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

    async fn send(&self, signal: Signal, payload: Bytes) -> Result<Delivered, Refusal> {
        let mut headers = Vec::new();
        #[cfg(feature = "gcp")]
        let mut project = None;
        match &self.credentials {
            Credentials::Headers(fixed) => headers.clone_from(fixed),
            #[cfg(feature = "gcp")]
            Credentials::Google(session) => {
                let id = session.ready().await.map_err(Refusal::unreachable)?;
                headers = session.http_headers(id);
                project = Some(id);
            }
        }
        match self.transport.send(signal, payload, &headers).await {
            Ok(answer) => {
                self.failing.store(false, Ordering::Relaxed);
                let rejected = rejected(signal, answer);
                if let Some((count, reason)) = &rejected {
                    let (spans, points) = signal.split(*count);
                    stats::add_rejected(spans, points);
                    diag::debug_line(|| format!("{} rejected {count} {}: {reason}", self.url, signal.word()));
                }
                Ok(Delivered {
                    rejected: rejected.map_or(0, |(count, _)| count),
                })
            }
            Err(refusal) => {
                #[cfg(feature = "gcp")]
                if let (Credentials::Google(session), Some(project), Some(denied)) =
                    (&self.credentials, project, refusal.denied)
                {
                    session.refused(denied, project);
                }
                Err(refusal)
            }
        }
    }
}

/// The count and reason of a partial success that rejected data.
fn rejected(signal: Signal, response: Bytes) -> Option<(u64, String)> {
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
    u64::try_from(count)
        .ok()
        .filter(|count| *count > 0)
        .map(|count| (count, reason))
}
