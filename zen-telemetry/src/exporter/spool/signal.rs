//! What a spooled batch holds, and how old it may grow.

use std::time::Duration;

pub(super) const BATCH_SUFFIX: &str = ".batch";

/// A claim this old belongs to a process that died: its batch is taken over.
pub(crate) const STALE_CLAIM: Duration = Duration::from_secs(10 * 60);
/// Spans older than this are not resent but dropped and counted. Cloud
/// Trace's documented ingest limit ("Maximum past timestamp for a span to be
/// ingested: 14 days", <https://cloud.google.com/trace/docs/quotas>); that
/// page says the Telemetry API's limits are "often more generous" and names
/// none, so this is the bound Google documents.
pub(crate) const SPAN_MAX_AGE: Duration = Duration::from_secs(14 * 24 * 3600);
/// Metric points whose end time is older than this are not resent: Cloud
/// Monitoring's "the end time must not be more than 25 hours in the past"
/// (`TimeInterval`, <https://cloud.google.com/monitoring/api/ref_v3/rest/v3/TimeInterval>),
/// which the Telemetry API's metric ingestion inherits.
pub(crate) const METRIC_MAX_AGE: Duration = Duration::from_secs(25 * 3600);

/// What a batch holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    /// An `ExportTraceServiceRequest`.
    Traces,
    /// An `ExportMetricsServiceRequest`.
    Metrics,
}

impl Signal {
    pub(super) fn code(self) -> u8 {
        match self {
            Signal::Traces => 1,
            Signal::Metrics => 2,
        }
    }

    pub(super) fn from_code(code: u8) -> Option<Signal> {
        match code {
            1 => Some(Signal::Traces),
            2 => Some(Signal::Metrics),
            _ => None,
        }
    }

    pub(crate) fn word(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
        }
    }

    /// The oldest data the backend still takes.
    pub(crate) fn max_age(self) -> Duration {
        match self {
            Signal::Traces => SPAN_MAX_AGE,
            Signal::Metrics => METRIC_MAX_AGE,
        }
    }

    /// `items` of this signal as (spans, metric points), for the counters.
    pub(crate) fn split(self, items: u64) -> (u64, u64) {
        match self {
            Signal::Traces => (items, 0),
            Signal::Metrics => (0, items),
        }
    }

    pub(super) fn of_name(name: &str) -> Option<Signal> {
        [Signal::Traces, Signal::Metrics]
            .into_iter()
            .find(|signal| name.contains(&format!(".{}{BATCH_SUFFIX}", signal.word())))
    }
}
