//! Counters of what happened to recorded spans and metric points.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::shard::ShardedCount;

/// Added to on every recorded span, on the thread that ends it, so kept per thread.
static RECORDED: ShardedCount = ShardedCount::new();
static EXPORTED: AtomicU64 = AtomicU64::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);
static POINTS_EXPORTED: AtomicU64 = AtomicU64::new(0);
static POINTS_FAILED: AtomicU64 = AtomicU64::new(0);
static SPANS_SPOOLED: AtomicU64 = AtomicU64::new(0);
static POINTS_SPOOLED: AtomicU64 = AtomicU64::new(0);
static SPANS_RESENT: AtomicU64 = AtomicU64::new(0);
static POINTS_RESENT: AtomicU64 = AtomicU64::new(0);
static SPANS_SPOOL_DROPPED: AtomicU64 = AtomicU64::new(0);
static POINTS_SPOOL_DROPPED: AtomicU64 = AtomicU64::new(0);
static SPANS_REJECTED: AtomicU64 = AtomicU64::new(0);
static POINTS_REJECTED: AtomicU64 = AtomicU64::new(0);

/// What happened to the spans this process recorded so far.
///
/// Every recorded span is accounted for exactly once:
/// `spans_recorded = spans_exported + spans_dropped + spans_failed +
/// spans_spooled + (spans still queued or in flight)`; after
/// [`shutdown`](crate::shutdown) delivered everything, nothing is queued.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Finished spans that reached the exporter's queue, whichever API made
    /// them (`#[traced]`, the `opentelemetry` API, `tracing`), dropped ones
    /// included. Spans kept only by an in-memory capture are not counted.
    pub spans_recorded: u64,
    /// Spans an exporter accepted.
    pub spans_exported: u64,
    /// Spans discarded because the export queue was full (the exporter could
    /// not keep up); the traced code never waits for the queue.
    pub spans_dropped: u64,
    /// Spans in export requests that failed and were not spooled: lost.
    pub spans_failed: u64,
    /// Metric data points a destination accepted.
    pub metric_points_exported: u64,
    /// Metric data points in exports that failed; a failed series is sent
    /// again with the next export, so it may be counted more than once.
    pub metric_points_failed: u64,
    /// Spans of failed exports written to the on-disk spool, for a later
    /// process (or this one) to send; not counted in `spans_failed`.
    pub spans_spooled: u64,
    /// Metric points written to the spool at exit.
    pub metric_points_spooled: u64,
    /// Spooled spans (of this or an earlier process) this process delivered.
    pub spans_resent: u64,
    /// Spooled metric points this process delivered.
    pub metric_points_resent: u64,
    /// Spooled spans removed undelivered: over the spool's size bound, older
    /// than the backend accepts, unreadable, or refused as invalid.
    pub spans_spool_dropped: u64,
    /// Spooled metric points removed undelivered, for the same reasons.
    pub metric_points_spool_dropped: u64,
    /// Spans a backend took the request of but rejected (an OTLP partial
    /// success's `rejected_spans`); not counted in `spans_exported`.
    pub spans_rejected: u64,
    /// Metric points a backend rejected (`rejected_data_points`).
    pub metric_points_rejected: u64,
}

/// A snapshot of the counters.
pub fn stats() -> Stats {
    Stats {
        spans_recorded: RECORDED.sum(),
        spans_exported: EXPORTED.load(Ordering::Relaxed),
        spans_dropped: DROPPED.load(Ordering::Relaxed),
        spans_failed: FAILED.load(Ordering::Relaxed),
        metric_points_exported: POINTS_EXPORTED.load(Ordering::Relaxed),
        metric_points_failed: POINTS_FAILED.load(Ordering::Relaxed),
        spans_spooled: SPANS_SPOOLED.load(Ordering::Relaxed),
        metric_points_spooled: POINTS_SPOOLED.load(Ordering::Relaxed),
        spans_resent: SPANS_RESENT.load(Ordering::Relaxed),
        metric_points_resent: POINTS_RESENT.load(Ordering::Relaxed),
        spans_spool_dropped: SPANS_SPOOL_DROPPED.load(Ordering::Relaxed),
        metric_points_spool_dropped: POINTS_SPOOL_DROPPED.load(Ordering::Relaxed),
        spans_rejected: SPANS_REJECTED.load(Ordering::Relaxed),
        metric_points_rejected: POINTS_REJECTED.load(Ordering::Relaxed),
    }
}

pub(crate) fn add_recorded() {
    RECORDED.add(1);
}

pub(crate) fn add_exported(n: u64) {
    EXPORTED.fetch_add(n, Ordering::Relaxed);
}

pub(crate) fn add_dropped(n: u64) {
    DROPPED.fetch_add(n, Ordering::Relaxed);
}

pub(crate) fn add_failed(n: u64) {
    FAILED.fetch_add(n, Ordering::Relaxed);
}

pub(crate) fn add_metric_points_exported(n: u64) {
    POINTS_EXPORTED.fetch_add(n, Ordering::Relaxed);
}

pub(crate) fn add_metric_points_failed(n: u64) {
    POINTS_FAILED.fetch_add(n, Ordering::Relaxed);
}

#[cfg(feature = "otlp")]
pub(crate) fn add_spooled(spans: u64, points: u64) {
    SPANS_SPOOLED.fetch_add(spans, Ordering::Relaxed);
    POINTS_SPOOLED.fetch_add(points, Ordering::Relaxed);
}

#[cfg(feature = "otlp")]
pub(crate) fn add_resent(spans: u64, points: u64) {
    SPANS_RESENT.fetch_add(spans, Ordering::Relaxed);
    POINTS_RESENT.fetch_add(points, Ordering::Relaxed);
}

pub(crate) fn add_spool_dropped(spans: u64, points: u64) {
    SPANS_SPOOL_DROPPED.fetch_add(spans, Ordering::Relaxed);
    POINTS_SPOOL_DROPPED.fetch_add(points, Ordering::Relaxed);
}

#[cfg(feature = "otlp")]
pub(crate) fn add_rejected(spans: u64, points: u64) {
    SPANS_REJECTED.fetch_add(spans, Ordering::Relaxed);
    POINTS_REJECTED.fetch_add(points, Ordering::Relaxed);
}
