//! Capture finished spans in memory, for tests of your own instrumentation.
//!
//! Enable the `testing` feature (usually as a dev-dependency feature):
//!
//! ```toml
//! [dev-dependencies]
//! zen-telemetry = { version = "0.1", features = ["testing"] }
//! ```
//!
//! [`capture`] turns recording on at a 100% sample rate, whatever the
//! environment says, and collects every span that ends while the returned
//! [`Capture`] lives. An `auto` exporter becomes `none` so captured spans
//! stay in the process; an exporter chosen explicitly still runs, unless
//! telemetry is disabled (`ZEN_TELEMETRY_DISABLED`): then capture records in
//! memory only and nothing leaves the process. Captures are serialised across threads, so tests that
//! use them may run in parallel: each waits for the previous one to end.
//!
//! ```
//! use zen_telemetry::traced;
//!
//! #[traced("checkout")]
//! fn checkout() -> Result<u32, std::num::ParseIntError> {
//!     "42".parse()
//! }
//!
//! let capture = zen_telemetry::testing::capture();
//! checkout().unwrap();
//! let spans = capture.spans();
//! assert_eq!(spans.len(), 1);
//! assert_eq!(spans[0].name, "checkout");
//! assert!(spans[0].is_ok());
//! ```
//!
//! [`Capture::metrics`] gives each traced function's calls and durations
//! counted during the capture, sampled or not:
//!
//! ```
//! # use zen_telemetry::traced;
//! #[traced("parse")]
//! fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
//!     text.parse()
//! }
//!
//! let capture = zen_telemetry::testing::capture();
//! capture.set_sample_rate(0.0);
//! let _ = parse("1");
//! let _ = parse("x");
//! let counts = capture.metrics().function("parse");
//! assert_eq!(counts.calls(zen_telemetry::CallResult::Ok), 1);
//! assert_eq!(counts.calls(zen_telemetry::CallResult::Error), 1);
//! assert!(capture.spans().is_empty(), "unsampled, yet counted");
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use opentelemetry::Value;
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry_sdk::trace::SpanData;

use crate::calls::{self, CallCounts};
use crate::{pipeline, sampling, state};

static CAPTURING: AtomicBool = AtomicBool::new(false);
static CAPTURED: Mutex<Vec<SpanData>> = Mutex::new(Vec::new());
static EXCLUSIVE: Mutex<()> = Mutex::new(());

fn captured() -> MutexGuard<'static, Vec<SpanData>> {
    CAPTURED.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts capturing; see the [module docs](self).
pub fn capture() -> Capture {
    let exclusive = EXCLUSIVE.lock().unwrap_or_else(|p| p.into_inner());
    captured().clear();
    CAPTURING.store(true, Ordering::SeqCst);
    sampling::set_rate(1.0);
    pipeline::set_observer(capture_finished);
    pipeline::record_in_memory();
    Capture {
        _exclusive: exclusive,
        baseline: Mutex::new(counts_now()),
    }
}

/// Every call site's counts, by its address (sites live in statics).
fn counts_now() -> HashMap<usize, CallCounts> {
    calls::sites()
        .map(|site| (std::ptr::from_ref(site) as usize, site.counts()))
        .collect()
}

/// An active capture. Dropping it restores the configured behaviour.
#[must_use = "spans are captured only while the Capture lives"]
pub struct Capture {
    _exclusive: MutexGuard<'static, ()>,
    baseline: Mutex<HashMap<usize, CallCounts>>,
}

impl Capture {
    /// The spans that ended since the capture started (or was reset), in end order.
    pub fn spans(&self) -> Vec<CapturedSpan> {
        captured().iter().map(CapturedSpan::from).collect()
    }

    /// Forgets the spans captured and the calls counted so far.
    pub fn reset(&self) {
        captured().clear();
        *self.baseline.lock().unwrap_or_else(|p| p.into_inner()) = counts_now();
    }

    /// The traced functions' calls counted since the capture started (or was
    /// reset), sampled or not.
    pub fn metrics(&self) -> CapturedMetrics {
        let baseline = self.baseline.lock().unwrap_or_else(|p| p.into_inner());
        let functions = calls::sites()
            .map(|site| {
                let counts = site.counts();
                let since = match baseline.get(&(std::ptr::from_ref(site) as usize)) {
                    Some(before) => counts.since(before),
                    None => counts,
                };
                (site.name, site.module, since)
            })
            .filter(|(_, _, counts)| counts.total() > 0)
            .collect();
        CapturedMetrics { functions }
    }

    /// Counts calls (`true`, the default) or not (`false`) during this
    /// capture, as `ZEN_TELEMETRY_METRICS` would.
    pub fn set_metrics(&self, on: bool) {
        state::set_metrics(on);
    }

    /// Sets the fraction of root calls recorded during this capture (default 1.0).
    pub fn set_sample_rate(&self, rate: f64) {
        sampling::set_rate(rate);
    }

    /// Exports error and panic texts (`true`) or only their type (`false`)
    /// during this capture, as `ZEN_TELEMETRY_ERROR_MESSAGES` would.
    pub fn set_error_messages(&self, on: bool) {
        state::set_error_messages(on);
    }

    /// Puts sync calls' whole spans into the `opentelemetry` context
    /// (`true`) or only their span context (`false`) during this capture,
    /// as `ZEN_TELEMETRY_MUTABLE_SPANS` would.
    pub fn set_mutable_spans(&self, on: bool) {
        state::set_mutable_spans(on);
    }

    /// Turns recording off (`false`) or on (`true`) during this capture, to
    /// test the off path.
    pub fn set_on(&self, on: bool) {
        if on {
            pipeline::record_in_memory();
        } else {
            pipeline::force_state(Some(false));
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        CAPTURING.store(false, Ordering::SeqCst);
        pipeline::force_state(None);
        state::set_mutable_spans(crate::config().mutable_spans);
    }
}

/// Calls counted during a capture, by traced function.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CapturedMetrics {
    functions: Vec<(&'static str, &'static str, CallCounts)>,
}

impl CapturedMetrics {
    /// The counts of the function whose span name is `name` (summed over
    /// modules, should two share it); all zero if it was not called.
    pub fn function(&self, name: &str) -> CallCounts {
        let mut total = CallCounts::default();
        for (_, _, counts) in self.functions.iter().filter(|(function, _, _)| *function == name) {
            total = total.plus(counts);
        }
        total
    }

    /// Every function called: its span name, its module and its counts.
    pub fn functions(&self) -> impl Iterator<Item = (&'static str, &'static str, CallCounts)> + '_ {
        self.functions.iter().copied()
    }
}

/// One finished span.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CapturedSpan {
    /// Span name.
    pub name: String,
    /// Span kind.
    pub kind: SpanKind,
    /// Status.
    pub status: Status,
    /// Attributes in the order they were set.
    pub attributes: Vec<(String, Value)>,
    /// Events in the order they were added.
    pub events: Vec<CapturedEvent>,
    /// Trace id.
    pub trace_id: TraceId,
    /// Span id.
    pub span_id: SpanId,
    /// Parent span id, `None` for a root.
    pub parent_span_id: Option<SpanId>,
    /// When the span started.
    pub start_time: std::time::SystemTime,
    /// When the span ended.
    pub end_time: std::time::SystemTime,
    /// Attributes over the per-span limit (128), not kept.
    pub dropped_attributes_count: u32,
}

/// One span event.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CapturedEvent {
    /// Event name, e.g. `exception`.
    pub name: String,
    /// Event attributes.
    pub attributes: Vec<(String, Value)>,
}

impl CapturedEvent {
    /// The value of attribute `key`.
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

impl CapturedSpan {
    /// The value of attribute `key`.
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The first event named `name`.
    pub fn event(&self, name: &str) -> Option<&CapturedEvent> {
        self.events.iter().find(|e| e.name == name)
    }

    /// True when `parent` is this span's parent, in the same trace.
    pub fn is_child_of(&self, parent: &CapturedSpan) -> bool {
        self.parent_span_id == Some(parent.span_id) && self.trace_id == parent.trace_id
    }

    /// True when the status is Ok.
    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }

    /// The error description when the status is Error.
    pub fn error(&self) -> Option<&str> {
        match &self.status {
            Status::Error { description } => Some(description),
            _ => None,
        }
    }
}

impl From<&SpanData> for CapturedSpan {
    fn from(span: &SpanData) -> Self {
        let pairs = |attributes: &[opentelemetry::KeyValue]| {
            attributes
                .iter()
                .map(|kv| (kv.key.as_str().to_owned(), kv.value.clone()))
                .collect()
        };
        CapturedSpan {
            name: span.name.to_string(),
            kind: span.span_kind.clone(),
            status: span.status.clone(),
            attributes: pairs(&span.attributes),
            events: span
                .events
                .iter()
                .map(|e| CapturedEvent {
                    name: e.name.to_string(),
                    attributes: pairs(&e.attributes),
                })
                .collect(),
            trace_id: span.span_context.trace_id(),
            start_time: span.start_time,
            end_time: span.end_time,
            dropped_attributes_count: span.dropped_attributes_count,
            span_id: span.span_context.span_id(),
            parent_span_id: (span.parent_span_id != SpanId::INVALID).then_some(span.parent_span_id),
        }
    }
}

/// The one span named `name` in `spans`.
///
/// # Panics
///
/// When there is none, or more than one: a test assertion, naming the spans
/// that are there.
///
/// ```
/// use zen_telemetry::testing::{capture, span_named};
///
/// #[zen_telemetry::traced("outer")]
/// fn outer() { inner() }
/// #[zen_telemetry::traced("inner")]
/// fn inner() {}
///
/// let capture = capture();
/// outer();
/// let spans = capture.spans();
/// assert!(span_named(&spans, "inner").is_child_of(span_named(&spans, "outer")));
/// ```
pub fn span_named<'a>(spans: &'a [CapturedSpan], name: &str) -> &'a CapturedSpan {
    let mut matching = spans.iter().filter(|s| s.name == name);
    let Some(span) = matching.next() else {
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
        panic!("no span named {name:?} in {names:?}")
    };
    assert!(matching.next().is_none(), "several spans named {name:?}");
    span
}

/// The pipeline's observer: keeps ended spans while a capture is active.
fn capture_finished(span: &SpanData) {
    if CAPTURING.load(Ordering::SeqCst) {
        captured().push(span.clone());
    }
}

/// The text an error or panic message is exported as: cut to 512 characters
/// and scrubbed of tokens, passwords, e-mail addresses and the home
/// directory. For tests that check what a message of theirs would reveal.
///
/// ```
/// let exported = zen_telemetry::testing::scrubbed("login failed: password=hunter2");
/// assert!(!exported.contains("hunter2"));
/// ```
pub fn scrubbed(message: &str) -> String {
    crate::scrub::scrub(message)
}
