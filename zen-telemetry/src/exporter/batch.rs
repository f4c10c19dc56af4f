//! A bounded-queue batch span processor that counts what it drops.
//!
//! The SDK's `BatchSpanProcessor` drops spans when its queue is full but keeps
//! the count private, so `stats()` could not tell "dropped" from "still
//! queued". This processor has the same shape (a bounded channel filled with
//! `try_send` by the traced code, drained by one background thread in batches
//! on a schedule) and reports every queue-full drop to [`stats`].

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TrySendError};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

#[cfg(feature = "otlp")]
use super::grpc::Grpc;
#[cfg(feature = "otlp")]
use super::spool::Signal;
use crate::config::BatchSettings;
use crate::stats;

enum Control {
    /// At least one full batch is queued.
    BatchReady,
    Flush(SyncSender<OTelSdkResult>),
    Shutdown(SyncSender<OTelSdkResult>),
    SetResource(Resource),
}

/// Queues finished spans without ever blocking the traced code; a background
/// thread exports them in batches.
#[derive(Debug)]
pub(crate) struct CountingBatchProcessor {
    spans: SyncSender<SpanData>,
    // Unbounded so flush and shutdown requests are never refused; it carries
    // at most one `BatchReady` at a time (see `ready_sent`) plus the caller's
    // own flush/shutdown requests.
    control: Sender<Control>,
    /// Spans in the channel, so `on_end` knows when a batch is full.
    queued: Arc<AtomicUsize>,
    ready_sent: Arc<AtomicBool>,
    max_export_batch_size: usize,
    flush_timeout: Duration,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Control::BatchReady => "BatchReady",
            Control::Flush(_) => "Flush",
            Control::Shutdown(_) => "Shutdown",
            Control::SetResource(_) => "SetResource",
        })
    }
}

impl CountingBatchProcessor {
    /// Starts the export thread. Fails only when the thread cannot be spawned.
    pub(crate) fn new<E: SpanExporter + 'static>(exporter: E, settings: &BatchSettings) -> Result<Self, String> {
        Self::with_resend(exporter, settings, None)
    }

    /// Starts the export thread, which also sends what was spooled for
    /// `destination`, by earlier processes or this one: a round when it
    /// starts, then more while any is left (`Grpc::next_resend`).
    pub(crate) fn with_resend<E: SpanExporter + 'static>(
        exporter: E,
        settings: &BatchSettings,
        destination: Option<Resend>,
    ) -> Result<Self, String> {
        // Zero would make `sync_channel` a rendezvous channel, on which every
        // `try_send` fails while the worker is busy: treat it as one.
        let max_queue_size = settings.max_queue_size.max(1);
        let max_export_batch_size = settings.max_export_batch_size.clamp(1, max_queue_size);
        let (spans, span_rx) = mpsc::sync_channel(max_queue_size);
        let (control, control_rx) = mpsc::channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let ready_sent = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            exporter,
            spans: span_rx,
            control: control_rx,
            queued: queued.clone(),
            ready_sent: ready_sent.clone(),
            batch: Vec::with_capacity(max_export_batch_size),
            max_export_batch_size,
            schedule_delay: settings.schedule_delay,
            resend: destination,
        };
        thread::Builder::new()
            .name("zen-telemetry-batch".to_owned())
            .spawn(move || worker.run())
            .map_err(|e| format!("cannot start the export thread: {e}"))?;
        Ok(CountingBatchProcessor {
            spans,
            control,
            queued,
            ready_sent,
            max_export_batch_size,
            flush_timeout: settings.export_timeout,
        })
    }

    fn request(&self, make: impl FnOnce(SyncSender<OTelSdkResult>) -> Control, timeout: Duration) -> OTelSdkResult {
        let (reply, replied) = mpsc::sync_channel(1);
        if self.control.send(make(reply)).is_err() {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        match replied.recv_timeout(timeout) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => Err(OTelSdkError::Timeout(timeout)),
            Err(RecvTimeoutError::Disconnected) => Err(OTelSdkError::AlreadyShutdown),
        }
    }
}

impl SpanProcessor for CountingBatchProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        // Counted before the send so a concurrent drain never sees a queued
        // span it does not know about; undone when the send fails.
        let before = self.queued.fetch_add(1, Ordering::AcqRel);
        match self.spans.try_send(span) {
            Ok(()) => {
                if before + 1 >= self.max_export_batch_size
                    && !self.ready_sent.load(Ordering::Relaxed)
                    && !self.ready_sent.swap(true, Ordering::AcqRel)
                    && self.control.send(Control::BatchReady).is_err()
                {
                    self.ready_sent.store(false, Ordering::Release);
                }
            }
            Err(TrySendError::Full(_)) => {
                self.queued.fetch_sub(1, Ordering::AcqRel);
                stats::add_dropped(1);
            }
            // Only after shutdown, when the recording switch is already off:
            // a span that was open across shutdown. It was never queued, so
            // it is not a queue-full drop.
            Err(TrySendError::Disconnected(_)) => {
                self.queued.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.request(Control::Flush, self.flush_timeout)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        // On timeout the worker keeps exporting in the background; the caller
        // (often the exit hook) is free to go.
        self.request(Control::Shutdown, timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        let _ = self.control.send(Control::SetResource(resource.clone()));
    }
}

struct Worker<E> {
    exporter: E,
    spans: Receiver<SpanData>,
    control: Receiver<Control>,
    queued: Arc<AtomicUsize>,
    ready_sent: Arc<AtomicBool>,
    batch: Vec<SpanData>,
    max_export_batch_size: usize,
    schedule_delay: Duration,
    /// Where spooled batches are sent again; `None` for local exporters.
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    resend: Option<Resend>,
}

/// The destination spooled batches are sent again to.
#[cfg(feature = "otlp")]
pub(crate) type Resend = Arc<Grpc>;
/// Without network exporters there is nothing to resend.
#[cfg(not(feature = "otlp"))]
pub(crate) type Resend = std::convert::Infallible;

impl<E: SpanExporter> Worker<E> {
    fn run(mut self) {
        // Exporting must not itself produce spans (e.g. a traced exporter).
        let _suppressed = Context::enter_telemetry_suppressed_scope();
        let mut last_export = Instant::now();
        #[cfg(feature = "otlp")]
        let mut last_resend = None;
        loop {
            #[cfg(feature = "otlp")]
            if let Some(destination) = &self.resend {
                destination.resend_if_due(Signal::Traces, &mut last_resend);
            }
            let wait = self.schedule_delay.saturating_sub(last_export.elapsed());
            #[cfg(feature = "otlp")]
            let wait = match self.resend.as_ref().and_then(|d| d.next_resend(last_resend)) {
                Some(next) => wait.min(next),
                None => wait,
            };
            match self.control.recv_timeout(wait) {
                Ok(Control::BatchReady) => {
                    self.ready_sent.store(false, Ordering::Release);
                    let _ = self.export_queued(true);
                    last_export = Instant::now();
                }
                Ok(Control::Flush(reply)) => {
                    let result = self.export_queued(false);
                    last_export = Instant::now();
                    let _ = reply.send(result);
                }
                Ok(Control::Shutdown(reply)) => {
                    let result = self.export_queued(false);
                    let shut = self.exporter.shutdown();
                    let _ = reply.send(result.and(shut));
                    return;
                }
                Ok(Control::SetResource(resource)) => self.exporter.set_resource(&resource),
                Err(RecvTimeoutError::Timeout) => {
                    if last_export.elapsed() >= self.schedule_delay {
                        let _ = self.export_queued(false);
                        last_export = Instant::now();
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Exports the spans queued now (only whole batches when `full_only`), so
    /// a steady stream of new spans cannot keep a flush from finishing.
    fn export_queued(&mut self, full_only: bool) -> OTelSdkResult {
        let mut remaining = self.queued.load(Ordering::Acquire);
        let mut result = Ok(());
        while remaining > 0 && (!full_only || remaining >= self.max_export_batch_size) {
            let limit = self.max_export_batch_size.min(remaining);
            while self.batch.len() < limit {
                match self.spans.try_recv() {
                    Ok(span) => self.batch.push(span),
                    Err(_) => break,
                }
            }
            let count = self.batch.len();
            if count == 0 {
                break;
            }
            self.queued.fetch_sub(count, Ordering::AcqRel);
            remaining -= count;
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(self.max_export_batch_size));
            if let Err(error) = block_on(self.exporter.export(batch)) {
                result = Err(error);
            }
        }
        result
    }
}

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives one export future on this thread. Network exporters do their I/O
/// on the private runtime (`OnRuntime`), so this only waits for the result;
/// file and stdout exporters need no runtime at all.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = TaskContext::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}
