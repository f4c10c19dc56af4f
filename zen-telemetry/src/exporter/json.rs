//! One finished span as a JSON object (the `file` exporter's line format).

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;
use serde_json::{Map, json};

fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
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

pub(crate) fn attributes_to_json<'a>(attributes: impl IntoIterator<Item = &'a KeyValue>) -> serde_json::Value {
    let mut map = Map::new();
    for kv in attributes {
        map.insert(kv.key.as_str().to_owned(), value_to_json(&kv.value));
    }
    serde_json::Value::Object(map)
}

/// The JSON object for one span.
pub(crate) fn span_to_json(span: &SpanData) -> serde_json::Value {
    let start = unix_nanos(span.start_time);
    let end = unix_nanos(span.end_time);
    let (status, status_message) = match &span.status {
        Status::Unset => ("unset", None),
        Status::Ok => ("ok", None),
        Status::Error { description } => ("error", Some(description.to_string())),
    };
    let parent = (span.parent_span_id != SpanId::INVALID).then(|| span.parent_span_id.to_string());
    let events: Vec<_> = span
        .events
        .iter()
        .map(|event| {
            json!({
                "name": event.name.as_ref(),
                "time_unix_nano": unix_nanos(event.timestamp),
                "attributes": attributes_to_json(&event.attributes),
            })
        })
        .collect();
    json!({
        "name": span.name.as_ref(),
        "trace_id": span.span_context.trace_id().to_string(),
        "span_id": span.span_context.span_id().to_string(),
        "parent_span_id": parent,
        "kind": kind_name(&span.span_kind),
        "start_unix_nano": start,
        "end_unix_nano": end,
        "duration_ns": end.saturating_sub(start),
        "status": status,
        "status_message": status_message,
        "attributes": attributes_to_json(&span.attributes),
        "events": events,
    })
}
