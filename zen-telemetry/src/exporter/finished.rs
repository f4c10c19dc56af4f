//! A finished span as it waits in the queue.
//!
//! A `#[traced]` span is queued in a compact form (`TracedSpan`, 144 bytes
//! in a `Finished` against a `SpanData`'s 352): the traced call pays for
//! copying only that, and the export thread builds the `SpanData` exporters
//! take. What most spans never have (attributes, events, links, a new name,
//! an error description) lives behind one pointer that is null for them.

use std::borrow::Cow;
use std::sync::LazyLock;
use std::time::SystemTime;

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

/// A finished span waiting for the export thread.
#[derive(Debug)]
pub(crate) enum Finished {
    /// A `#[traced]` span.
    Traced(TracedSpan),
    /// A span made through the `opentelemetry` API; the SDK built its `SpanData`.
    Api(Box<SpanData>),
}

impl Finished {
    pub(crate) fn into_span_data(self) -> SpanData {
        match self {
            Finished::Traced(span) => span.into_span_data(),
            Finished::Api(span) => *span,
        }
    }
}

/// A finished `#[traced]` span.
#[derive(Clone, Debug)]
pub(crate) struct TracedSpan {
    pub(crate) span_context: SpanContext,
    pub(crate) parent_span_id: SpanId,
    pub(crate) parent_span_is_remote: bool,
    pub(crate) kind: SpanKind,
    /// The function's name; a name given through the `opentelemetry` API
    /// is in `extras`.
    pub(crate) name: &'static str,
    pub(crate) start_time: SystemTime,
    pub(crate) end_time: SystemTime,
    /// An error's description is in `extras`.
    pub(crate) status: StatusCode,
    /// `None` while the span has no attributes, events, links, new name or
    /// error description.
    pub(crate) extras: Option<Box<SpanExtras>>,
}

/// A span's status without its description, so a span without an error
/// message carries no string. Declared in the order the SDK ranks
/// statuses: a status is only ever raised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum StatusCode {
    #[default]
    Unset,
    Error,
    Ok,
}

/// What a span may carry beyond its identity, times and status code.
#[derive(Clone, Debug, Default)]
pub(crate) struct SpanExtras {
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) dropped_attributes_count: u32,
    pub(crate) events: SpanEvents,
    pub(crate) links: SpanLinks,
    /// The name given through the `opentelemetry` API, if any.
    pub(crate) renamed: Option<Cow<'static, str>>,
    /// The description of an error status.
    pub(crate) error_description: Cow<'static, str>,
}

/// The name and status `name`, `status` and `extras` stand for, in the
/// forms a `SpanData` holds them; takes them out of `extras`.
pub(crate) fn name_and_status(
    name: &'static str,
    status: StatusCode,
    extras: &mut SpanExtras,
) -> (Cow<'static, str>, Status) {
    let name = extras.renamed.take().unwrap_or(Cow::Borrowed(name));
    let status = match status {
        StatusCode::Unset => Status::Unset,
        StatusCode::Error => Status::Error {
            description: std::mem::take(&mut extras.error_description),
        },
        StatusCode::Ok => Status::Ok,
    };
    (name, status)
}

/// The instrumentation scope of every `#[traced]` span.
pub(crate) fn traced_scope() -> &'static InstrumentationScope {
    static SCOPE: LazyLock<InstrumentationScope> =
        LazyLock::new(|| InstrumentationScope::builder("zen-telemetry").build());
    &SCOPE
}

impl TracedSpan {
    pub(crate) fn into_span_data(self) -> SpanData {
        let mut extras = self.extras.map(|extras| *extras).unwrap_or_default();
        let (name, status) = name_and_status(self.name, self.status, &mut extras);
        SpanData {
            span_context: self.span_context,
            parent_span_id: self.parent_span_id,
            parent_span_is_remote: self.parent_span_is_remote,
            span_kind: self.kind,
            name,
            start_time: self.start_time,
            end_time: self.end_time,
            attributes: extras.attributes,
            dropped_attributes_count: extras.dropped_attributes_count,
            events: extras.events,
            links: extras.links,
            status,
            instrumentation_scope: traced_scope().clone(),
        }
    }
}

/// A span with nothing but `name` set, for tests that fill in the rest.
#[cfg(test)]
pub(crate) fn plain_span_data(name: impl Into<Cow<'static, str>>) -> SpanData {
    SpanData {
        span_context: SpanContext::empty_context(),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: name.into(),
        start_time: std::time::UNIX_EPOCH,
        end_time: std::time::UNIX_EPOCH,
        attributes: Vec::new(),
        dropped_attributes_count: 0,
        events: Default::default(),
        links: Default::default(),
        status: Status::Unset,
        instrumentation_scope: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The traced path copies a `Finished` into its ring, which holds the
    /// queue size of them: it stays well under a `SpanData`.
    #[test]
    fn a_queued_span_is_a_fraction_of_span_data() {
        let (queued, full) = (size_of::<Finished>(), size_of::<SpanData>());
        eprintln!("Finished: {queued} bytes, SpanData: {full} bytes");
        assert!(queued * 2 <= full, "{queued} bytes queued for a {full}-byte SpanData");
    }
}
