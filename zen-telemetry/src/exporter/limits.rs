//! Google's Telemetry API limits, applied before export so an oversized span
//! is shortened instead of rejected with its whole batch.

use std::borrow::Cow;

use opentelemetry::trace::Status;
use opentelemetry::{Array, Key, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::SpanData;

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
    if span.events.events.len() > MAX_EVENTS {
        let dropped = span.events.events.len() - MAX_EVENTS;
        span.events.events.truncate(MAX_EVENTS);
        span.events.dropped_count = span
            .events
            .dropped_count
            .saturating_add(u32::try_from(dropped).unwrap_or(u32::MAX));
    }
    for event in &mut span.events.events {
        shorten_cow(&mut event.name, MAX_NAME_BYTES);
        shorten_attributes(&mut event.attributes);
    }
    for link in &mut span.links.links {
        shorten_attributes(&mut link.attributes);
    }
    if let Status::Error { description } = &mut span.status {
        shorten_cow(description, MAX_STRING_BYTES);
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

    #[test]
    fn spans_within_the_limits_are_untouched() {
        let mut span = span_with("ok".to_owned(), vec![KeyValue::new("k", "v")], 3);
        span.status = Status::error("short");
        let before = span.clone();
        apply(&mut span);
        assert_eq!(span, before);
    }
}
