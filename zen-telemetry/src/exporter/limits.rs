//! Google's Telemetry API limits, applied before export so an oversized span
//! is shortened instead of rejected with its whole batch.

use std::borrow::Cow;

use opentelemetry::trace::Status;
use opentelemetry::{Array, Key, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents};

use super::finished::TracedSpan;

/// Span and event names, in bytes.
pub(crate) const MAX_NAME_BYTES: usize = 1024;
/// Attribute keys, in bytes.
pub(crate) const MAX_KEY_BYTES: usize = 512;
/// String attribute values (and the status message), in bytes.
pub(crate) const MAX_STRING_BYTES: usize = 64 * 1024;
/// Events per span; later ones are dropped and counted.
pub(crate) const MAX_EVENTS: usize = 256;

/// Shortens whatever in `span` exceeds the limits.
pub(crate) fn apply(span: &mut SpanData) {
    shorten_cow(&mut span.name, MAX_NAME_BYTES);
    shorten_attributes(&mut span.attributes);
    shorten_events(&mut span.events);
    for link in &mut span.links.links {
        shorten_attributes(&mut link.attributes);
    }
    if let Status::Error { description } = &mut span.status {
        shorten_cow(description, MAX_STRING_BYTES);
    }
}

/// Shortens whatever in a `#[traced]` span exceeds the limits, in its
/// compact form, so it is encoded directly like any other span. Most spans
/// have no extras and only the name is looked at.
pub(crate) fn apply_traced(span: &mut TracedSpan) {
    if span.name.len() > MAX_NAME_BYTES && span.extras.as_ref().is_none_or(|extras| extras.renamed.is_none()) {
        span.extras.get_or_insert_default().renamed = Some(Cow::Borrowed(prefix(span.name, MAX_NAME_BYTES)));
    }
    let Some(extras) = span.extras.as_deref_mut() else {
        return;
    };
    if let Some(name) = &mut extras.renamed {
        shorten_cow(name, MAX_NAME_BYTES);
    }
    shorten_attributes(&mut extras.attributes);
    shorten_events(&mut extras.events);
    for link in &mut extras.links.links {
        shorten_attributes(&mut link.attributes);
    }
    shorten_cow(&mut extras.error_description, MAX_STRING_BYTES);
}

fn shorten_events(events: &mut SpanEvents) {
    if events.events.len() > MAX_EVENTS {
        let dropped = events.events.len() - MAX_EVENTS;
        events.events.truncate(MAX_EVENTS);
        events.dropped_count = events
            .dropped_count
            .saturating_add(u32::try_from(dropped).unwrap_or(u32::MAX));
    }
    for event in &mut events.events {
        shorten_cow(&mut event.name, MAX_NAME_BYTES);
        shorten_attributes(&mut event.attributes);
    }
}

/// The longest prefix of `text` that fits in `max` bytes and ends on a
/// character boundary.
pub(crate) fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn shorten_cow(text: &mut Cow<'static, str>, max: usize) {
    if text.len() > max {
        *text = Cow::Owned(prefix(text, max).to_owned());
    }
}

fn shorten_attributes(attributes: &mut [KeyValue]) {
    for kv in attributes {
        if kv.key.as_str().len() > MAX_KEY_BYTES {
            kv.key = Key::new(prefix(kv.key.as_str(), MAX_KEY_BYTES).to_owned());
        }
        match &mut kv.value {
            Value::String(s) => shorten_string(s),
            Value::Array(Array::String(items)) => items.iter_mut().for_each(shorten_string),
            _ => {}
        }
    }
}

fn shorten_string(value: &mut StringValue) {
    if value.as_str().len() > MAX_STRING_BYTES {
        *value = StringValue::from(prefix(value.as_str(), MAX_STRING_BYTES).to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_respects_char_boundaries() {
        assert_eq!(prefix("abc", 5), "abc");
        assert_eq!(prefix("abc", 2), "ab");
        // "é" is two bytes: cutting inside it backs off to before it.
        assert_eq!(prefix("aé", 2), "a");
        assert_eq!(prefix("日本語", 4), "日");
        assert_eq!(prefix("日本語", 0), "");
        assert_eq!(prefix("🦀🦀", 7), "🦀");
    }

    fn span_with(name: String, attributes: Vec<KeyValue>, events: usize) -> SpanData {
        use opentelemetry::trace::Event;
        let mut span = crate::exporter::finished::plain_span_data(name);
        span.attributes = attributes;
        span.events.events = (0..events)
            .map(|i| Event::new(format!("event-{i}"), std::time::SystemTime::now(), Vec::new(), 0))
            .collect();
        span.status = Status::error("ö".repeat(40_000));
        span
    }

    #[test]
    fn oversized_spans_are_cut_to_the_limits() {
        let long_key = "k".repeat(600);
        let mut span = span_with(
            "名".repeat(500),
            vec![
                KeyValue::new(long_key, "short"),
                KeyValue::new("value", "ß".repeat(40_000)),
                KeyValue::new(
                    "list",
                    Value::Array(Array::String(vec![StringValue::from("x".repeat(70_000))])),
                ),
                KeyValue::new("number", 7),
            ],
            300,
        );
        apply(&mut span);
        // 1024 is not a multiple of 3: the cut backs off to a whole character.
        assert_eq!(span.name.len(), 1023);
        assert_eq!(span.attributes[0].key.as_str().len(), MAX_KEY_BYTES);
        assert_eq!(span.attributes[1].value.as_str().len(), MAX_STRING_BYTES);
        match &span.attributes[2].value {
            Value::Array(Array::String(items)) => assert_eq!(items[0].as_str().len(), MAX_STRING_BYTES),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(span.attributes[3].value, Value::I64(7));
        assert_eq!(span.events.events.len(), MAX_EVENTS);
        assert_eq!(span.events.dropped_count, 44);
        match &span.status {
            Status::Error { description } => assert_eq!(description.len(), MAX_STRING_BYTES),
            other => panic!("unexpected {other:?}"),
        }
    }

    /// The compact form is cut exactly as its `SpanData` would be.
    #[test]
    fn traced_spans_are_cut_as_their_span_data_would_be() {
        let long_name: &'static str = "名".repeat(500).leak();
        let mut extras = super::super::finished::SpanExtras {
            attributes: vec![KeyValue::new("k".repeat(600), "ß".repeat(40_000))],
            error_description: "ö".repeat(40_000).into(),
            ..Default::default()
        };
        extras.events.events = (0..300)
            .map(|i| opentelemetry::trace::Event::new(format!("event-{i}"), std::time::UNIX_EPOCH, Vec::new(), 0))
            .collect();
        let mut traced = TracedSpan {
            name: long_name,
            status: super::super::finished::StatusCode::Error,
            extras: Some(Box::new(extras)),
            ..plain_traced()
        };
        let mut as_data = traced.clone().into_span_data();
        apply(&mut as_data);
        apply_traced(&mut traced);
        assert_eq!(traced.into_span_data(), as_data);

        let mut plain = plain_traced();
        apply_traced(&mut plain);
        assert!(plain.extras.is_none(), "a span within the limits gains nothing");
        let mut long = TracedSpan {
            name: long_name,
            ..plain_traced()
        };
        apply_traced(&mut long);
        assert_eq!(long.into_span_data().name.len(), 1023);
    }

    fn plain_traced() -> TracedSpan {
        TracedSpan {
            span_context: opentelemetry::trace::SpanContext::empty_context(),
            parent_span_id: opentelemetry::trace::SpanId::INVALID,
            parent_span_is_remote: false,
            kind: opentelemetry::trace::SpanKind::Internal,
            name: "plain",
            start_time: std::time::UNIX_EPOCH,
            end_time: std::time::UNIX_EPOCH,
            status: super::super::finished::StatusCode::Unset,
            extras: None,
        }
    }

    #[test]
    fn spans_within_the_limits_are_untouched() {
        let mut span = span_with("ok".to_owned(), vec![KeyValue::new("k", "v")], 3);
        span.status = Status::error("short");
        let before = span.clone();
        apply(&mut span);
        assert_eq!(span, before);
    }
}
