//! The span `#[traced]` records: zen's own implementation of the
//! `opentelemetry` `Span` trait.
//!
//! zen has already decided sampling and parenting before a span starts, so
//! going through the SDK tracer would repeat that work (builder, sampler call,
//! id generator, limits, tracer handle) on every recorded call. This span
//! holds only what a finished `SpanData` needs and hands it straight to the
//! pipeline's processors. It sits in the `Context` like any span, so code
//! inside a traced call can still add events and attributes to it through the
//! `opentelemetry` API, and its children (ours or theirs) parent to it. The
//! SDK's default span limits apply, as they do to SDK spans.

use std::borrow::Cow;
use std::cell::Cell;
use std::time::SystemTime;

use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, SpanRef, Status, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SpanLimits;

pub(crate) mod local;

use crate::exporter::{SpanExtras, StatusCode, TracedSpan};
use crate::pipeline::Pipeline;
use crate::{clock, sampling};

/// A recording span started by `#[traced]`.
pub(crate) struct ZenSpan {
    span_context: SpanContext,
    pipeline: &'static Pipeline,
    /// `None` once ended.
    data: Option<Record>,
}

#[derive(Debug)]
struct Record {
    parent_span_id: SpanId,
    parent_span_is_remote: bool,
    kind: SpanKind,
    /// Kept small, as the span is moved into its context and then its
    /// queue slot: a new name and an error's description are in `extras`.
    name: &'static str,
    start_time: SystemTime,
    status: StatusCode,
    /// Made at the first attribute, event, link, new name or error
    /// description.
    extras: Option<Box<SpanExtras>>,
}

impl Record {
    fn extras(&mut self) -> &mut SpanExtras {
        self.extras.get_or_insert_default()
    }

    fn error_description(&self) -> &str {
        self.extras.as_ref().map_or("", |extras| &extras.error_description)
    }
}

thread_local! {
    /// The status `end_with_status` passes beside the end.
    static STATUS_AT_END: Cell<Option<Status>> = const { Cell::new(None) };
}

/// Raises the status of `span`, a `ZenSpan`, to `status` and ends it at
/// `end_time`. The `opentelemetry` API reaches a span in a context through
/// its lock, once per call; passing the status beside the end takes the lock
/// once instead of twice.
pub(crate) fn end_with_status(span: &SpanRef<'_>, status: Status, end_time: SystemTime) {
    STATUS_AT_END.set(Some(status));
    span.end_with_timestamp(end_time);
    // Already taken by `ZenSpan::end_with_timestamp`; cleared in case not.
    STATUS_AT_END.set(None);
}

const LIMITS: SpanLimits = SpanLimits {
    max_events_per_span: 128,
    max_attributes_per_span: 128,
    max_links_per_span: 128,
    max_attributes_per_event: 128,
    max_attributes_per_link: 128,
};

impl ZenSpan {
    /// Starts a sampled span, child of `parent`'s span when that is valid,
    /// else the root of a new trace.
    pub(crate) fn start(
        pipeline: &'static Pipeline,
        name: &'static str,
        kind: SpanKind,
        parent: &Context,
        start_time: SystemTime,
    ) -> Self {
        let parent_span = parent.span();
        let parent = parent_span.span_context();
        let span = |span_context, parent_span_id, parent_span_is_remote| ZenSpan {
            span_context,
            pipeline,
            data: Some(Record {
                parent_span_id,
                parent_span_is_remote,
                kind,
                name,
                start_time,
                status: StatusCode::Unset,
                extras: None,
            }),
        };
        // Each branch builds its own span context: one chosen after the
        // branch would be copied out of the just-written temporary.
        if parent.is_valid() {
            let span_id = new_span_id();
            let flags = parent.trace_flags().with_sampled(true);
            let span_context = SpanContext::new(parent.trace_id(), span_id, flags, false, parent.trace_state().clone());
            span(span_context, parent.span_id(), parent.is_remote())
        } else {
            let trace_id = TraceId::from(sampling::random_u128());
            let span_id = new_span_id();
            let span_context = SpanContext::new(trace_id, span_id, TraceFlags::SAMPLED, false, TraceState::NONE);
            span(span_context, SpanId::INVALID, false)
        }
    }

    fn end_at(&mut self, end_time: SystemTime) {
        let Some(record) = &mut self.data else { return };
        // Read in place, not taken out first: the fields go straight from
        // the span to its queue slot, with no stack copy in between whose
        // just-written bytes would stall store forwarding when read back.
        self.pipeline.dispatch(
            #[inline(always)]
            || TracedSpan {
                span_context: self.span_context.clone(),
                parent_span_id: record.parent_span_id,
                parent_span_is_remote: record.parent_span_is_remote,
                kind: record.kind.clone(),
                name: record.name,
                start_time: record.start_time,
                end_time: end_time.max(record.start_time),
                status: record.status,
                extras: record.extras.take(),
            },
        );
        self.data = None;
    }
}

/// A span id: 64 bits of this thread's random generator (never zero),
/// unique across threads and processes as random ids are.
#[inline]
fn new_span_id() -> SpanId {
    SpanId::from(sampling::random_u64())
}

/// Keeps the first `limit` attributes; returns how many were dropped.
fn truncate(attributes: &mut Vec<KeyValue>, limit: u32) -> u32 {
    let limit = limit as usize;
    let dropped = attributes.len().saturating_sub(limit);
    attributes.truncate(limit);
    u32::try_from(dropped).unwrap_or(u32::MAX)
}

impl opentelemetry::trace::Span for ZenSpan {
    fn add_event_with_timestamp<T>(&mut self, name: T, timestamp: SystemTime, mut attributes: Vec<KeyValue>)
    where
        T: Into<Cow<'static, str>>,
    {
        let Some(record) = &mut self.data else { return };
        let events = &mut record.extras().events;
        if events.len() < LIMITS.max_events_per_span as usize {
            let dropped = truncate(&mut attributes, LIMITS.max_attributes_per_event);
            events.events.push(Event::new(name, timestamp, attributes, dropped));
        } else {
            events.dropped_count += 1;
        }
    }

    fn span_context(&self) -> &SpanContext {
        &self.span_context
    }

    fn is_recording(&self) -> bool {
        self.data.is_some()
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        let Some(record) = &mut self.data else { return };
        let extras = record.extras();
        if extras.attributes.len() < LIMITS.max_attributes_per_span as usize {
            extras.attributes.push(attribute);
        } else {
            extras.dropped_attributes_count += 1;
        }
    }

    fn set_status(&mut self, status: Status) {
        let Some(record) = &mut self.data else { return };
        // Only ever raised, in the SDK's order: Ok > Error > Unset, and
        // errors by description.
        match status {
            Status::Unset => {}
            Status::Ok => record.status = StatusCode::Ok,
            Status::Error { description } => {
                let raised = match record.status {
                    StatusCode::Unset => true,
                    StatusCode::Error => *description > *record.error_description(),
                    StatusCode::Ok => false,
                };
                if raised {
                    record.status = StatusCode::Error;
                    if !description.is_empty() || record.extras.is_some() {
                        record.extras().error_description = description;
                    }
                }
            }
        }
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        if let Some(record) = &mut self.data {
            record.extras().renamed = Some(new_name.into());
        }
    }

    fn add_link(&mut self, span_context: SpanContext, mut attributes: Vec<KeyValue>) {
        let Some(record) = &mut self.data else { return };
        let links = &mut record.extras().links;
        if links.len() < LIMITS.max_links_per_span as usize {
            let dropped = truncate(&mut attributes, LIMITS.max_attributes_per_link);
            links.links.push(Link::new(span_context, attributes, dropped));
        } else {
            links.dropped_count += 1;
        }
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        if let Some(status) = STATUS_AT_END.take() {
            self.set_status(status);
        }
        self.end_at(timestamp);
    }
}

impl Drop for ZenSpan {
    // A span dropped without `end` (its context outlived the call and was
    // dropped elsewhere) still ends, as SDK spans do.
    fn drop(&mut self) {
        if self.data.is_some() {
            self.end_at(clock::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_ids_stay_unique_across_8_threads_of_a_million_spans() {
        let threads: Vec<_> = (0..8)
            .map(|_| std::thread::spawn(|| (0..1_000_000).map(|_| new_span_id()).collect::<Vec<_>>()))
            .collect();
        let mut ids: Vec<SpanId> = threads.into_iter().flat_map(|t| t.join().unwrap_or_default()).collect();
        assert_eq!(ids.len(), 8_000_000);
        assert!(ids.iter().all(|id| *id != SpanId::INVALID));
        ids.sort_unstable_by_key(|id| u64::from_be_bytes(id.to_bytes()));
        ids.dedup();
        assert_eq!(ids.len(), 8_000_000, "every span id is unique");
    }

    /// A sampled call moves its span into its context and its queued form
    /// into a ring slot: each copy's cost grows with their size.
    #[test]
    fn a_span_and_its_queued_form_stay_small() {
        let (span, queued) = (size_of::<ZenSpan>(), size_of::<crate::exporter::Finished>());
        eprintln!("ZenSpan: {span} bytes, Finished: {queued} bytes");
        assert!(span <= 128, "ZenSpan is {span} bytes");
        assert!(queued <= 144, "Finished is {queued} bytes");
    }
}
