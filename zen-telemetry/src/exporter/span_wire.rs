//! Span export requests written straight to OTLP protobuf bytes.
//!
//! opentelemetry-proto's conversion builds a message tree first: per span a
//! `Vec` for each id, a `String` for the name, a status, and a hash-map
//! lookup of its scope, all allocated, then encoded and freed. At
//! saturation that was most of the export thread's time. Here a span's
//! scalar fields (ids, trace state, name, kind, times, flags) are written as
//! protobuf fields without building anything; its status (a small message
//! that allocates only for an error's text) and what most spans lack
//! (attributes, events, links) still go through opentelemetry-proto's own
//! messages and conversions, field by field. The resource stays
//! a typed message until the request is encoded, so Google's attributes can
//! still be added to it. Protobuf concatenates repeated fields, so the
//! hand-written spans follow the prost-encoded rest of their message. A
//! `#[traced]` span is written from its queued form, so its `SpanData` is
//! never built, and goes into its scope without a scope comparison.

use std::borrow::Cow;
use std::time::SystemTime;

use opentelemetry::InstrumentationScope;
use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{self as proto, ResourceSpans, ScopeSpans, SpanFlags, span, status};
use opentelemetry_proto::transform::common::tonic::{Attributes, ResourceAttributesWithSchema};
use opentelemetry_sdk::trace::SpanData;
use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};

use super::finished::{Finished, SpanExtras, TracedSpan, name_and_status, traced_scope};
use crate::clock::unix_nanos;

/// An `ExportTraceServiceRequest` of one resource's spans.
#[derive(Debug)]
pub(crate) struct SpanRequest {
    /// The resource, with no scopes: they are `scopes`, already encoded.
    resource_spans: ResourceSpans,
    /// Each scope's `ScopeSpans` message body.
    scopes: Vec<(InstrumentationScope, Vec<u8>)>,
    /// Where `#[traced]` spans go in `scopes`, once one has.
    traced_scope: Option<usize>,
    /// Bytes a scope's body starts with room for.
    expected_len: usize,
    scratch: Vec<u8>,
}

impl SpanRequest {
    /// An empty request for about `spans` spans of `resource`.
    pub(crate) fn new(resource: &ResourceAttributesWithSchema, spans: usize) -> SpanRequest {
        SpanRequest {
            resource_spans: ResourceSpans {
                resource: Some(Resource {
                    attributes: resource.attributes.0.clone(),
                    dropped_attributes_count: 0,
                    entity_refs: Vec::new(),
                }),
                scope_spans: Vec::new(),
                schema_url: resource.schema_url.clone().unwrap_or_default(),
            },
            scopes: Vec::new(),
            traced_scope: None,
            // A span without attributes or events takes about 80 bytes.
            expected_len: spans * 96,
            scratch: Vec::new(),
        }
    }

    /// Adds a finished span. A `#[traced]` span is written from its compact
    /// form, without a `SpanData`, into the one scope they all share.
    pub(crate) fn push(&mut self, span: Finished) {
        match span {
            Finished::Traced(span) => {
                let index = match self.traced_scope {
                    Some(index) => index,
                    None => {
                        let index = self.scope_index(traced_scope());
                        self.traced_scope = Some(index);
                        index
                    }
                };
                self.write(index, SpanParts::from(span));
            }
            Finished::Api(span) => self.push_data(*span),
        }
    }

    /// Adds a span the SDK built, under its own scope.
    pub(crate) fn push_data(&mut self, span: SpanData) {
        let index = self.scope_index(&span.instrumentation_scope);
        self.write(index, SpanParts::from(span));
    }

    /// The index of `scope` in `scopes`, added when new. Nearly always one
    /// scope (`#[traced]`'s), so a scan, not a map.
    fn scope_index(&mut self, scope: &InstrumentationScope) -> usize {
        if let Some(index) = self.scopes.iter().position(|(known, _)| known == scope) {
            return index;
        }
        let head = ScopeSpans {
            scope: Some((scope, None).into()),
            schema_url: scope.schema_url().map(ToOwned::to_owned).unwrap_or_default(),
            spans: Vec::new(),
        };
        let mut body = Vec::with_capacity(self.expected_len);
        head.encode_raw(&mut body);
        self.scopes.push((scope.clone(), body));
        self.scopes.len() - 1
    }

    fn write(&mut self, scope: usize, span: SpanParts) {
        self.scratch.clear();
        write_span(span, &mut self.scratch);
        let body = &mut self.scopes[scope].1;
        // `ScopeSpans.spans` is field 2.
        encode_key(2, WireType::LengthDelimited, body);
        encode_varint(self.scratch.len() as u64, body);
        body.extend_from_slice(&self.scratch);
    }

    /// The resource, for Google's attributes.
    pub(crate) fn resource(&mut self) -> &mut Resource {
        self.resource_spans.resource.get_or_insert_with(Default::default)
    }

    /// The request's protobuf bytes; none for no spans, as prost would.
    pub(crate) fn encode(&self) -> Vec<u8> {
        if self.scopes.is_empty() {
            return Vec::new();
        }
        let scopes_len: usize = self
            .scopes
            .iter()
            .map(|(_, body)| 1 + encoded_len_varint(body.len() as u64) + body.len())
            .sum();
        let body_len = self.resource_spans.encoded_len() + scopes_len;
        let mut out = Vec::with_capacity(1 + encoded_len_varint(body_len as u64) + body_len);
        // `ExportTraceServiceRequest.resource_spans` is field 1.
        encode_key(1, WireType::LengthDelimited, &mut out);
        encode_varint(body_len as u64, &mut out);
        self.resource_spans.encode_raw(&mut out);
        for (_, body) in &self.scopes {
            // `ResourceSpans.scope_spans` is field 2.
            encode_key(2, WireType::LengthDelimited, &mut out);
            encode_varint(body.len() as u64, &mut out);
            out.extend_from_slice(body);
        }
        out
    }
}

/// What a span's message is written from: a `SpanData`'s fields, or a
/// `TracedSpan`'s without building the `SpanData`.
struct SpanParts {
    span_context: SpanContext,
    parent_span_id: SpanId,
    parent_span_is_remote: bool,
    kind: SpanKind,
    name: Cow<'static, str>,
    start_time: SystemTime,
    end_time: SystemTime,
    status: Status,
    extras: SpanExtras,
}

impl From<SpanData> for SpanParts {
    fn from(span: SpanData) -> SpanParts {
        SpanParts {
            span_context: span.span_context,
            parent_span_id: span.parent_span_id,
            parent_span_is_remote: span.parent_span_is_remote,
            kind: span.span_kind,
            name: span.name,
            start_time: span.start_time,
            end_time: span.end_time,
            status: span.status,
            extras: SpanExtras {
                attributes: span.attributes,
                dropped_attributes_count: span.dropped_attributes_count,
                events: span.events,
                links: span.links,
                ..SpanExtras::default()
            },
        }
    }
}

impl From<TracedSpan> for SpanParts {
    fn from(span: TracedSpan) -> SpanParts {
        let mut extras = span.extras.map(|extras| *extras).unwrap_or_default();
        let (name, status) = name_and_status(span.name, span.status, &mut extras);
        SpanParts {
            span_context: span.span_context,
            parent_span_id: span.parent_span_id,
            parent_span_is_remote: span.parent_span_is_remote,
            kind: span.kind,
            name,
            start_time: span.start_time,
            end_time: span.end_time,
            status,
            extras,
        }
    }
}

/// Writes `span` as the body of an OTLP `Span` message.
fn write_span(span: SpanParts, out: &mut Vec<u8>) {
    let context = &span.span_context;
    bytes_field(1, &context.trace_id().to_bytes(), out);
    bytes_field(2, &context.span_id().to_bytes(), out);
    let trace_state = context.trace_state().header();
    bytes_field(3, trace_state.as_bytes(), out);
    if span.parent_span_id != SpanId::INVALID {
        bytes_field(4, &span.parent_span_id.to_bytes(), out);
    }
    bytes_field(5, span.name.as_bytes(), out);
    varint_field(6, kind_number(&span.kind), out);
    fixed64_field(7, unix_nanos(span.start_time), out);
    fixed64_field(8, unix_nanos(span.end_time), out);
    let extras = span.extras;
    for attribute in Attributes::from(extras.attributes).0 {
        prost::encoding::message::encode(9, &attribute, out);
    }
    varint_field(10, u64::from(extras.dropped_attributes_count), out);
    for event in extras.events.events {
        let event = span::Event {
            time_unix_nano: unix_nanos(event.timestamp),
            name: event.name.into(),
            attributes: Attributes::from(event.attributes).0,
            dropped_attributes_count: event.dropped_attributes_count,
        };
        prost::encoding::message::encode(11, &event, out);
    }
    varint_field(12, u64::from(extras.events.dropped_count), out);
    for link in extras.links.links {
        prost::encoding::message::encode(13, &span::Link::from(link), out);
    }
    varint_field(14, u64::from(extras.links.dropped_count), out);
    let status = proto::Status {
        code: status::StatusCode::from(&span.status).into(),
        message: match span.status {
            Status::Error { description } => description.into_owned(),
            Status::Ok | Status::Unset => String::new(),
        },
    };
    // Always present, as opentelemetry-proto writes it.
    prost::encoding::message::encode(15, &status, out);
    // The context's remote bit is known, and set when it is (as in
    // opentelemetry-proto's `build_span_flags`).
    let mut flags = u32::from(context.trace_flags().to_u8()) | SpanFlags::ContextHasIsRemoteMask as u32;
    if span.parent_span_is_remote {
        flags |= SpanFlags::ContextIsRemoteMask as u32;
    }
    // `fixed32 flags = 16`.
    encode_key(16, WireType::ThirtyTwoBit, out);
    out.extend_from_slice(&flags.to_le_bytes());
}

fn kind_number(kind: &SpanKind) -> u64 {
    let kind: span::SpanKind = kind.clone().into();
    kind as u64
}

/// A length-delimited field; left out when empty, as proto3 does.
fn bytes_field(tag: u32, value: &[u8], out: &mut Vec<u8>) {
    if value.is_empty() {
        return;
    }
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(value.len() as u64, out);
    out.extend_from_slice(value);
}

/// A varint field; left out when zero, as proto3 does.
fn varint_field(tag: u32, value: u64, out: &mut Vec<u8>) {
    if value == 0 {
        return;
    }
    encode_key(tag, WireType::Varint, out);
    encode_varint(value, out);
}

fn fixed64_field(tag: u32, value: u64, out: &mut Vec<u8>) {
    if value == 0 {
        return;
    }
    encode_key(tag, WireType::SixtyFourBit, out);
    out.extend_from_slice(&value.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::time::{Duration, UNIX_EPOCH};

    use opentelemetry::trace::{Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
    use opentelemetry::{InstrumentationScope, KeyValue};
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
    use opentelemetry_sdk::Resource;
    use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
    use prost::Message;

    use super::*;
    use crate::exporter::finished::StatusCode;

    fn span(n: u64, scope: &InstrumentationScope) -> SpanData {
        let trace_state = if n.is_multiple_of(3) {
            TraceState::from_key_value([("zen", "t61rcWkgMzE")]).unwrap_or_default()
        } else {
            TraceState::NONE
        };
        let flags = if n.is_multiple_of(2) {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        let mut events = SpanEvents::default();
        let mut links = SpanLinks::default();
        let mut attributes = Vec::new();
        if n % 4 == 1 {
            attributes = vec![
                KeyValue::new("text", "héllo"),
                KeyValue::new("count", n as i64),
                KeyValue::new("ratio", 0.25),
                KeyValue::new("flag", true),
            ];
            events.events.push(Event::new(
                "exception",
                UNIX_EPOCH + Duration::from_nanos(1_700_000_000_000_000_500),
                vec![KeyValue::new("exception.type", "io::Error")],
                2,
            ));
            events.dropped_count = 3;
            let linked = SpanContext::new(
                TraceId::from(7),
                SpanId::from(8),
                TraceFlags::SAMPLED,
                true,
                trace_state.clone(),
            );
            links
                .links
                .push(Link::new(linked, vec![KeyValue::new("why", "retry")], 1));
            links.dropped_count = 1;
        }
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(u128::from(n) << 64 | 0xabc),
                SpanId::from(n + 1),
                flags,
                false,
                trace_state,
            ),
            parent_span_id: if n.is_multiple_of(2) {
                SpanId::INVALID
            } else {
                SpanId::from(n + 1000)
            },
            parent_span_is_remote: n.is_multiple_of(5),
            span_kind: [
                SpanKind::Internal,
                SpanKind::Server,
                SpanKind::Client,
                SpanKind::Producer,
                SpanKind::Consumer,
            ][n as usize % 5]
                .clone(),
            name: Cow::Owned(format!("span-{n}")),
            start_time: UNIX_EPOCH + Duration::from_nanos(1_700_000_000_000_000_000 + n),
            end_time: UNIX_EPOCH + Duration::from_nanos(1_700_000_000_000_100_000 + n),
            attributes,
            dropped_attributes_count: (n % 4) as u32,
            events,
            links,
            status: match n % 3 {
                0 => Status::Unset,
                1 => Status::Ok,
                _ => Status::error(format!("failed {n}")),
            },
            instrumentation_scope: scope.clone(),
        }
    }

    /// Decoded with prost, the hand-written request is the one
    /// opentelemetry-proto's conversion builds, span for span and field
    /// for field, across kinds, statuses, flags, trace states, parents,
    /// attributes, events, links and two scopes.
    #[test]
    fn requests_decode_to_what_opentelemetry_proto_builds() {
        let traced = InstrumentationScope::builder("zen-telemetry").build();
        let other = InstrumentationScope::builder("other")
            .with_version("1.2")
            .with_schema_url("https://opentelemetry.io/schemas/1.21.0")
            .build();
        let spans: Vec<SpanData> = (0..40)
            .map(|n| span(n, if n % 7 == 3 { &other } else { &traced }))
            .collect();
        let resource: ResourceAttributesWithSchema = (&Resource::builder_empty()
            .with_service_name("svc")
            .with_schema_url([KeyValue::new("service.version", "1")], "https://example.com/schema")
            .build())
            .into();
        let expected = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(spans.clone(), &resource),
        };
        let mut request = SpanRequest::new(&resource, spans.len());
        spans.into_iter().for_each(|span| request.push_data(span));
        let decoded = decode(&request.encode());
        assert_eq!(decoded, expected);
        assert_eq!(decoded.resource_spans[0].scope_spans.len(), 2);
        assert_eq!(
            decoded.resource_spans[0]
                .scope_spans
                .iter()
                .map(|s| s.spans.len())
                .sum::<usize>(),
            40
        );
    }

    fn decode(bytes: &[u8]) -> ExportTraceServiceRequest {
        match ExportTraceServiceRequest::decode(bytes) {
            Ok(decoded) => decoded,
            Err(error) => panic!("our bytes do not decode: {error}"),
        }
    }

    /// A `#[traced]` span written from its queued form, mixed with SDK spans
    /// of another scope, is the request its `SpanData` would have made.
    #[test]
    fn traced_spans_are_written_without_their_span_data() {
        let other = InstrumentationScope::builder("other").with_version("2").build();
        let traced: Vec<TracedSpan> = (0..12)
            .map(|n| {
                let data = span(n, traced_scope());
                let mut extras = SpanExtras {
                    attributes: data.attributes,
                    dropped_attributes_count: data.dropped_attributes_count,
                    events: data.events,
                    links: data.links,
                    ..SpanExtras::default()
                };
                // Every other span keeps its function's name.
                if n % 2 == 1 {
                    extras.renamed = Some(data.name);
                }
                let status = match data.status {
                    Status::Unset => StatusCode::Unset,
                    Status::Ok => StatusCode::Ok,
                    Status::Error { description } => {
                        extras.error_description = description;
                        StatusCode::Error
                    }
                };
                let has_extras = !(extras.attributes.is_empty()
                    && extras.events.is_empty()
                    && extras.links.is_empty()
                    && extras.renamed.is_none()
                    && extras.error_description.is_empty());
                TracedSpan {
                    span_context: data.span_context,
                    parent_span_id: data.parent_span_id,
                    parent_span_is_remote: data.parent_span_is_remote,
                    kind: data.span_kind,
                    name: "traced_function",
                    start_time: data.start_time,
                    end_time: data.end_time,
                    status,
                    extras: has_extras.then(|| Box::new(extras)),
                }
            })
            .collect();
        let api = span(100, &other);
        let mut finished: Vec<Finished> = traced.iter().cloned().map(Finished::Traced).collect();
        finished.insert(5, Finished::Api(Box::new(api.clone())));
        let mut as_data: Vec<SpanData> = traced.into_iter().map(TracedSpan::into_span_data).collect();
        as_data.insert(5, api);
        let resource: ResourceAttributesWithSchema =
            (&Resource::builder_empty().with_service_name("svc").build()).into();
        let expected = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(as_data, &resource),
        };
        let mut request = SpanRequest::new(&resource, finished.len());
        finished.into_iter().for_each(|span| request.push(span));
        assert_eq!(decode(&request.encode()), expected);
    }

    #[test]
    fn no_spans_encode_to_an_empty_request() {
        let request = SpanRequest::new(&ResourceAttributesWithSchema::default(), 0);
        assert!(request.encode().is_empty());
        assert_eq!(ExportTraceServiceRequest::default().encode_to_vec(), request.encode());
    }
}
