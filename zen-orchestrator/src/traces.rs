//! `zen traces FILE`: draws the JSONL written by zen-telemetry's `file`
//! exporter as one indented waterfall per trace: span names, durations, a bar
//! scaled to the trace, errors highlighted. Malformed lines are skipped and counted.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::IsTerminal;

use serde_json::Value;

/// Width of the waterfall bar, in columns.
pub const BAR_WIDTH: usize = 40;
const MAX_NAME_WIDTH: usize = 56;

/// One span read from the file: the line format zen-telemetry's `file`
/// exporter writes.
pub use zen_telemetry::exporter::JsonSpan as SpanRecord;

/// Reads one line; `None` when it is not a span object. An end before the
/// start is read as the start, and an empty status message as none.
fn read_span(line: &str) -> Option<SpanRecord> {
    let mut span: SpanRecord = serde_json::from_str(line).ok()?;
    span.end_unix_nano = span.end_unix_nano.max(span.start_unix_nano);
    span.status_message = span.status_message.filter(|m| !m.is_empty());
    Some(span)
}

/// A span's duration in nanoseconds.
pub fn duration(span: &SpanRecord) -> u64 {
    span.end_unix_nano - span.start_unix_nano
}

/// The spans of a file and how many lines could not be read.
#[derive(Debug, Default)]
pub struct TraceFile {
    /// Spans, in file order.
    pub spans: Vec<SpanRecord>,
    /// Lines that were not a span object.
    pub malformed: usize,
}

/// Reads JSONL text.
pub fn parse(text: &str) -> TraceFile {
    let mut file = TraceFile::default();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match read_span(line) {
            Some(span) => file.spans.push(span),
            None => file.malformed += 1,
        }
    }
    file
}

/// Formats nanoseconds: `850ns`, `12.5µs`, `3.2ms`, `1.25s`.
pub fn format_nanos(nanos: u64) -> String {
    let n = nanos as f64;
    if nanos < 1_000 {
        format!("{nanos}ns")
    } else if nanos < 1_000_000 {
        format!("{:.1}µs", n / 1e3)
    } else if nanos < 1_000_000_000 {
        format!("{:.1}ms", n / 1e6)
    } else {
        format!("{:.2}s", n / 1e9)
    }
}

struct Style {
    colour: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// Whether to use ANSI colour on stdout: a terminal and no `NO_COLOR`.
pub fn colour_wanted() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// One trace laid out for drawing: its spans depth first, children after
/// their parent in start order, each with its depth.
#[derive(Debug)]
pub struct Trace<'a> {
    /// The trace id.
    pub trace_id: &'a str,
    /// Its earliest start.
    pub start: u64,
    /// Its latest end.
    pub end: u64,
    /// `(depth, span)`, in drawing order.
    pub rows: Vec<(usize, &'a SpanRecord)>,
}

impl Trace<'_> {
    /// How long the trace took, at least 1 ns (bars are scaled to it).
    pub fn span_nanos(&self) -> u64 {
        (self.end - self.start).max(1)
    }
}

/// Every trace of the file, the earliest first.
pub fn layout(file: &TraceFile) -> Vec<Trace<'_>> {
    let mut traces: BTreeMap<&str, Vec<&SpanRecord>> = BTreeMap::new();
    for span in &file.spans {
        traces.entry(span.trace_id.as_str()).or_default().push(span);
    }
    let mut ordered: Vec<Trace<'_>> = traces.into_iter().map(|(id, spans)| lay_out(id, &spans)).collect();
    ordered.sort_by_key(|trace| (trace.start, trace.trace_id));
    ordered
}

fn lay_out<'a>(trace_id: &'a str, spans: &[&'a SpanRecord]) -> Trace<'a> {
    let start = spans.iter().map(|s| s.start_unix_nano).min().unwrap_or(0);
    let end = spans.iter().map(|s| s.end_unix_nano).max().unwrap_or(start);
    let ids: HashSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    let mut children: HashMap<&str, Vec<&SpanRecord>> = HashMap::new();
    let mut roots = Vec::new();
    for span in spans {
        match span.parent_span_id.as_deref() {
            Some(parent) if ids.contains(parent) && parent != span.span_id => {
                children.entry(parent).or_default().push(span)
            }
            _ => roots.push(*span),
        }
    }
    let by_start = |a: &&SpanRecord, b: &&SpanRecord| {
        a.start_unix_nano
            .cmp(&b.start_unix_nano)
            .then_with(|| a.name.cmp(&b.name))
    };
    roots.sort_by(by_start);
    for list in children.values_mut() {
        list.sort_by(by_start);
    }
    let mut rows: Vec<(usize, &SpanRecord)> = Vec::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<(usize, &SpanRecord)> = roots.iter().rev().map(|s| (0, *s)).collect();
    while let Some((depth, span)) = stack.pop() {
        if !seen.insert(span.span_id.as_str()) {
            continue;
        }
        rows.push((depth, span));
        if let Some(kids) = children.get(span.span_id.as_str()) {
            stack.extend(kids.iter().rev().map(|k| (depth + 1, *k)));
        }
    }
    Trace {
        trace_id,
        start,
        end,
        rows,
    }
}

/// The closing line: traces, spans, errors and skipped lines.
pub fn summary(file: &TraceFile, traces: usize) -> String {
    let errors = file.spans.iter().filter(|s| s.is_error()).count();
    let mut line = format!("{traces} trace(s), {} span(s), {errors} error(s)", file.spans.len());
    if file.malformed > 0 {
        line.push_str(&format!("; skipped {} malformed line(s)", file.malformed));
    }
    line
}

/// Draws every trace in the file.
pub fn render(file: &TraceFile, colour: bool) -> String {
    let style = Style { colour };
    let traces = layout(file);
    let mut out = String::new();
    for trace in &traces {
        render_trace(&mut out, trace, &style);
        out.push('\n');
    }
    out.push_str(&summary(file, traces.len()));
    out.push('\n');
    out
}

/// The span's name, with the zen instance it ran for.
pub fn label(span: &SpanRecord) -> String {
    match span.attributes.get("zen.instance.name").and_then(Value::as_str) {
        Some(instance) => format!("{} [{instance}]", span.name),
        None => span.name.clone(),
    }
}

fn render_trace(out: &mut String, trace: &Trace<'_>, style: &Style) {
    let (t0, t1, total) = (trace.start, trace.end, trace.span_nanos());
    let rows = &trace.rows;
    let header = format!(
        "trace {}  {} span(s)  {}",
        trace.trace_id,
        rows.len(),
        format_nanos(t1 - t0)
    );
    out.push_str(&style.paint("1", &header));
    out.push('\n');
    let names: Vec<String> = rows
        .iter()
        .map(|(depth, span)| {
            let text = format!("{}{}", "  ".repeat(*depth), label(span));
            if text.chars().count() > MAX_NAME_WIDTH {
                let cut: String = text.chars().take(MAX_NAME_WIDTH - 1).collect();
                format!("{cut}…")
            } else {
                text
            }
        })
        .collect();
    let name_width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    for ((_, span), name) in rows.iter().zip(&names) {
        let offset = (((span.start_unix_nano - t0) as f64 / total as f64) * BAR_WIDTH as f64).floor() as usize;
        let offset = offset.min(BAR_WIDTH - 1);
        let length =
            (((duration(span) as f64 / total as f64) * BAR_WIDTH as f64).round() as usize).clamp(1, BAR_WIDTH - offset);
        let glyph = if span.is_error() { "▓" } else { "█" };
        let bar = format!(
            "{}{}{}",
            " ".repeat(offset),
            style.paint(if span.is_error() { "31" } else { "36" }, &glyph.repeat(length)),
            " ".repeat(BAR_WIDTH - offset - length)
        );
        let padded_name = format!("{name:<name_width$}");
        let name_cell = if span.is_error() {
            style.paint("31;1", &padded_name)
        } else {
            padded_name
        };
        let mut line = format!("  {name_cell}  {:>8}  |{bar}|", format_nanos(duration(span)));
        if span.is_error() {
            let message = span.status_message.as_deref().unwrap_or("error");
            line.push_str(&style.paint("31", &format!("  ✗ {message}")));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// `zen traces FILE`: the rendered text, or an error message.
pub fn render_file(path: &std::path::Path, colour: bool) -> Result<String, String> {
    Ok(render(&read_file(path)?, colour))
}

/// Reads a JSONL trace file; an error when it cannot be read or holds no span.
pub fn read_file(path: &std::path::Path) -> Result<TraceFile, String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let file = parse(&String::from_utf8_lossy(&text));
    if file.spans.is_empty() {
        let mut message = format!("{}: no spans", path.display());
        if file.malformed > 0 {
            message.push_str(&format!(" ({} malformed line(s) skipped)", file.malformed));
        }
        return Err(message);
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(name: &str, id: &str, parent: Option<&str>, start: u64, end: u64, status: &str) -> String {
        serde_json::json!({
            "name": name, "trace_id": "t1", "span_id": id, "parent_span_id": parent, "kind": "internal",
            "start_unix_nano": start, "end_unix_nano": end, "duration_ns": end - start,
            "status": status, "status_message": if status == "error" { Some("boom") } else { None },
            "attributes": {}, "events": []
        })
        .to_string()
    }

    #[test]
    fn waterfall_indents_children_and_scales_bars() {
        let text = [
            line("root", "a", None, 0, 4_000_000_000, "ok"),
            line("child", "b", Some("a"), 2_000_000_000, 4_000_000_000, "error"),
            "garbage".to_owned(),
        ]
        .join("\n");
        let file = parse(&text);
        assert_eq!(file.malformed, 1);
        let out = render(&file, false);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "trace t1  2 span(s)  4.00s");
        assert!(
            lines[1].starts_with("  root        4.00s  |████████████████████████████████████████|"),
            "{out}"
        );
        assert!(
            lines[2].starts_with("    child     2.00s  |                    ▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓|  ✗ boom"),
            "{out}"
        );
        assert!(out.contains("skipped 1 malformed line(s)"));
        assert!(!out.contains('\x1b'));
        assert!(render(&file, true).contains("\x1b[31"));
    }

    #[test]
    fn formats() {
        assert_eq!(format_nanos(850), "850ns");
        assert_eq!(format_nanos(12_500), "12.5µs");
        assert_eq!(format_nanos(3_200_000), "3.2ms");
    }
}
