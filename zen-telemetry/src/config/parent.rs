//! The W3C trace context a process is started in (`TRACEPARENT`,
//! `TRACESTATE`), checked against the W3C grammar.

use std::collections::HashMap;

use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceState};
use opentelemetry_sdk::propagation::TraceContextPropagator;

use super::env::EnvReader;

/// The parent `TRACEPARENT` (with `TRACESTATE`) names; `None` when unset
/// or invalid, which is warned about, as a `TRACESTATE` that is not a W3C
/// list is (the parent then holds without it).
pub(crate) fn read(reader: &mut EnvReader<'_>) -> Option<SpanContext> {
    let traceparent = reader.non_empty("TRACEPARENT")?;
    let mut tracestate = reader.non_empty("TRACESTATE");
    if let Some(state) = &tracestate
        && state.parse::<TraceState>().is_err()
    {
        reader.warn(
            "TRACESTATE",
            state.clone(),
            "a W3C tracestate list, key=value members separated by commas; ignoring it",
        );
        tracestate = None;
    }
    let parent = remote_parent(&traceparent, tracestate.as_deref());
    if parent.is_none() {
        reader.warn(
            "TRACEPARENT",
            traceparent,
            "W3C trace context, 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>; ignoring it",
        );
    }
    parent
}

/// The remote parent a W3C `traceparent` (and `tracestate`) names; `None`
/// when `traceparent` is malformed.
pub(crate) fn remote_parent(traceparent: &str, tracestate: Option<&str>) -> Option<SpanContext> {
    let traceparent = traceparent.trim();
    if !well_formed_traceparent(traceparent) {
        return None;
    }
    let mut carrier = HashMap::new();
    carrier.insert("traceparent".to_owned(), traceparent.to_owned());
    if let Some(state) = tracestate {
        carrier.insert("tracestate".to_owned(), state.to_owned());
    }
    let cx = TraceContextPropagator::new().extract_with_context(&Context::new(), &carrier);
    let parent = cx.span().span_context().clone();
    parent.is_valid().then_some(parent)
}

/// The W3C `traceparent` shape: `vv-<32 hex>-<16 hex>-<2 hex>`, lower case,
/// version `ff` invalid; version `00` has exactly these four fields, a later
/// version may append `-…`.
///
/// Checked here because the SDK parser is lenient: it parses each field with
/// `from_str_radix`, so `0-1-1-1` or `00-+1-…` would become a parent.
fn well_formed_traceparent(value: &str) -> bool {
    const LEN: usize = 55;
    let bytes = value.as_bytes();
    if bytes.len() < LEN {
        return false;
    }
    let hex = |range: std::ops::Range<usize>| {
        bytes[range]
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    };
    let fields = hex(0..2)
        && bytes[2] == b'-'
        && hex(3..35)
        && bytes[35] == b'-'
        && hex(36..52)
        && bytes[52] == b'-'
        && hex(53..55);
    if !fields {
        return false;
    }
    match &bytes[0..2] {
        b"ff" => false,
        b"00" => bytes.len() == LEN,
        _ => bytes.len() == LEN || bytes[LEN] == b'-',
    }
}
