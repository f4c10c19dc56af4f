//! `tracing` interop: [`tracing_layer`] sends `tracing` spans and events
//! through zen's sampler and pipeline.
//!
//! Built on `tracing-opentelemetry`, which already maps `tracing` spans to
//! OpenTelemetry spans, fields to attributes and `error!` to span status, and
//! takes its parent from the OpenTelemetry context when a `tracing` span has
//! none (and puts its own span in that context while entered), which is how
//! both nestings with `#[traced]` work. We add the one thing it leaves out:
//! an event outside any `tracing` span, inside a `#[traced]` call, goes on
//! that call's span instead of nowhere.
//!
//! Privacy: source locations (file paths) and thread names are not recorded;
//! messages of events on our spans are scrubbed like `#[traced]` errors. The fields you give `tracing` spans and events are exported as
//! attributes, as `attrs(...)` are: name only what may leave the machine.

use std::fmt::{self, Write as _};

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::{pipeline, scrub, span};

/// A `tracing_subscriber` layer that records `tracing` spans and events with
/// zen's pipeline; `None` while telemetry is off (an `Option` of a layer is
/// a layer that does nothing), so the opt-out covers `tracing` too.
///
/// Nothing is installed globally: add it to a subscriber of your own.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let subscriber = tracing_subscriber::registry().with(zen_telemetry::tracing_layer());
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::info_span!("load").in_scope(|| tracing::info!(rows = 3, "loaded"));
/// });
/// ```
///
/// With it, `tracing` spans opened inside a `#[traced]` call are its
/// children, a `#[traced]` call inside a `tracing` span is that span's child,
/// and `tracing` events land on the innermost span of either kind. An
/// `error!` marks a `tracing` span failed; a `#[traced]` call's status stays
/// what its result says, with the event on it. An unsampled `#[traced]` root
/// keeps the `tracing` spans inside it unsampled too.
pub fn tracing_layer<S>() -> Option<impl Layer<S>>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    if !pipeline::is_on() {
        return None;
    }
    let tracer = pipeline::pipeline().provider.tracer("zen-telemetry.tracing");
    let spans = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_tracked_inactivity(false);
    Some(spans.and_then(EventsOnTracedSpans))
}

/// Puts events that have no `tracing` span on the active `#[traced]` span.
struct EventsOnTracedSpans;

impl<S> Layer<S> for EventsOnTracedSpans
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let in_tracing_span = event.parent().is_some() || (event.is_contextual() && ctx.lookup_current().is_some());
        if in_tracing_span {
            return; // tracing-opentelemetry records it on that span.
        }
        if !span::local::current_is_recording() {
            return;
        }
        // Recorded first: a field's `Debug` may call traced code, which the
        // annotation (holding this thread's span stack) must not run.
        let mut fields = Fields::default();
        event.record(&mut fields);
        span::local::annotate_current(|span| {
            let metadata = event.metadata();
            let message = fields.message.as_deref().map(scrub::scrub);
            let mut attributes = vec![
                KeyValue::new("level", metadata.level().as_str()),
                KeyValue::new("target", metadata.target()),
            ];
            attributes.extend(fields.values);
            let name = message.unwrap_or_else(|| metadata.name().to_owned());
            span.event(name.into(), attributes);
        });
    }
}

/// An event's `message` and its other fields as attributes.
#[derive(Default)]
struct Fields {
    message: Option<String>,
    values: Vec<KeyValue>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        self.record_text(field, text);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_text(field, value.to_owned());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.values.push(KeyValue::new(field.name(), value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.values
            .push(KeyValue::new(field.name(), i64::try_from(value).unwrap_or(i64::MAX)));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.values.push(KeyValue::new(field.name(), value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.values.push(KeyValue::new(field.name(), value));
    }
}

impl Fields {
    fn record_text(&mut self, field: &Field, text: String) {
        if field.name() == "message" {
            self.message = Some(text);
        } else {
            self.values.push(KeyValue::new(field.name(), text));
        }
    }
}
