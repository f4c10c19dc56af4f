//! One finished span as a JSON object: the `file` exporter's line format,
//! and what `zen traces` reads back. One definition for both sides; the
//! format is described in `docs/jsonl-format.md`.

use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};

use crate::clock::unix_nanos;

/// One line of the `file` exporter's output: a finished span.
///
/// Readers are lenient where writers of older versions may differ: a missing
/// `kind`, `status`, `attributes` or `events` takes its default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JsonSpan {
    /// The span name.
    pub name: String,
    /// Trace id, 32 lowercase hex digits.
    pub trace_id: String,
    /// Span id, 16 lowercase hex digits.
    pub span_id: String,
    /// The parent's span id; `null` for a root.
    #[serde(default)]
    pub parent_span_id: Option<String>,
    /// `internal`, `server`, `client`, `producer` or `consumer`.
    #[serde(default = "internal")]
    pub kind: String,
    /// Start, nanoseconds since the Unix epoch.
    pub start_unix_nano: u64,
    /// End, nanoseconds since the Unix epoch.
    pub end_unix_nano: u64,
    /// `end_unix_nano - start_unix_nano`.
    #[serde(default)]
    pub duration_ns: u64,
    /// `ok`, `error` or `unset`.
    #[serde(default = "unset")]
    pub status: String,
    /// The error description, for `error` (scrubbed, as exported).
    #[serde(default)]
    pub status_message: Option<String>,
    /// Attributes by key.
    #[serde(default)]
    pub attributes: Map<String, serde_json::Value>,
    /// Events, in the order they were added.
    #[serde(default)]
    pub events: Vec<JsonEvent>,
}

/// One span event of a [`JsonSpan`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JsonEvent {
    /// The event name, e.g. `exception`.
    pub name: String,
    /// When it happened, nanoseconds since the Unix epoch.
    pub time_unix_nano: u64,
    /// Attributes by key.
    #[serde(default)]
    pub attributes: Map<String, serde_json::Value>,
}

fn internal() -> String {
    "internal".to_owned()
}

fn unset() -> String {
    "unset".to_owned()
}

impl JsonSpan {
    /// True when the span's status is `error`.
    pub fn is_error(&self) -> bool {
        self.status == "error"
    }
}

pub(crate) fn kind_name(kind: &SpanKind) -> &'static str {
    match kind {
        SpanKind::Internal => "internal",
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
    }
}

fn value_to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Bool(b) => json!(b),
        Value::I64(i) => json!(i),
        Value::F64(f) => json!(f),
        Value::String(s) => json!(s.as_str()),
        Value::Array(array) => match array {
            Array::Bool(v) => json!(v),
            Array::I64(v) => json!(v),
            Array::F64(v) => json!(v),
            Array::String(v) => json!(v.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
            other => json!(other.to_string()),
        },
        other => json!(other.to_string()),
    }
}

fn attributes_map<'a>(attributes: impl IntoIterator<Item = &'a KeyValue>) -> Map<String, serde_json::Value> {
    attributes
        .into_iter()
        .map(|kv| (kv.key.as_str().to_owned(), value_to_json(&kv.value)))
        .collect()
}

pub(crate) fn attributes_to_json<'a>(attributes: impl IntoIterator<Item = &'a KeyValue>) -> serde_json::Value {
    serde_json::Value::Object(attributes_map(attributes))
}

/// The line for one span.
pub(crate) fn span_to_json(span: &SpanData) -> JsonSpan {
    let start = unix_nanos(span.start_time);
    let end = unix_nanos(span.end_time);
    let (status, status_message) = match &span.status {
        Status::Unset => ("unset", None),
        Status::Ok => ("ok", None),
        Status::Error { description } => ("error", Some(description.to_string())),
    };
    JsonSpan {
        name: span.name.to_string(),
        trace_id: span.span_context.trace_id().to_string(),
        span_id: span.span_context.span_id().to_string(),
        parent_span_id: (span.parent_span_id != SpanId::INVALID).then(|| span.parent_span_id.to_string()),
        kind: kind_name(&span.span_kind).to_owned(),
        start_unix_nano: start,
        end_unix_nano: end,
        duration_ns: end.saturating_sub(start),
        status: status.to_owned(),
        status_message,
        attributes: attributes_map(&span.attributes),
        events: span
            .events
            .iter()
            .map(|event| JsonEvent {
                name: event.name.to_string(),
                time_unix_nano: unix_nanos(event.timestamp),
                attributes: attributes_map(&event.attributes),
            })
            .collect(),
    }
}
