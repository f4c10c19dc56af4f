//! `zen traces FILE --html OUT.html`: the same waterfalls as `zen traces`,
//! as one self-contained HTML page: inline CSS, no script and no network
//! asset, so it opens offline and from an e-mail attachment alike. Each span
//! shows its name, duration, status and attributes; error spans are marked.

use std::fmt::Write;

use serde_json::Value;

use crate::traces::{self, Trace, TraceFile};

const STYLE: &str = "\
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#1d2330;background:#fff}\
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.05em;margin:1.6em 0 .4em;font-family:ui-monospace,monospace}\
.summary{color:#5a6272;margin:0 0 1em}\
.span{display:grid;grid-template-columns:minmax(18em,34%) 1fr;gap:.8em;align-items:start;padding:.15em 0;border-top:1px solid #eef0f4}\
.label{font-family:ui-monospace,monospace;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}\
.duration{color:#5a6272;margin-left:.6em}\
.status{margin-left:.6em;font-weight:600}\
.track{position:relative;height:1.1em;background:#f5f6f9;border-radius:3px;margin-top:.15em}\
.bar{position:absolute;top:0;bottom:0;min-width:2px;background:#3b82c4;border-radius:3px}\
.error .bar{background:#d23c3c}.error .label{color:#b42323}.error .status{color:#b42323}\
details{grid-column:1/3;margin:-.3em 0 .1em 1.2em;font-size:.85em;color:#3a4252}summary{cursor:pointer;color:#5a6272}\
table{border-collapse:collapse;font-family:ui-monospace,monospace;font-size:.92em}\
th,td{text-align:left;padding:.1em .8em .1em 0;vertical-align:top}th{color:#5a6272;font-weight:normal}";

/// The page for `file` (laid out as `traces`), whose name is `title`.
pub fn render(file: &TraceFile, traces: &[Trace<'_>], title: &str) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>zen traces: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>zen traces: {}</h1>\n<p class=\"summary\">{}</p>\n",
        escape(title),
        escape(title),
        escape(&traces::summary(file, traces.len()))
    );
    for trace in traces {
        let total = trace.span_nanos() as f64;
        let _ = writeln!(
            html,
            "<section class=\"trace\" data-trace-id=\"{}\">\n<h2>trace {} · {} span(s) · {}</h2>",
            escape(trace.trace_id),
            escape(trace.trace_id),
            trace.rows.len(),
            traces::format_nanos(trace.end - trace.start)
        );
        for (depth, span) in &trace.rows {
            let left = (span.start_unix_nano - trace.start) as f64 / total * 100.0;
            let width = traces::duration(span) as f64 / total * 100.0;
            let status = if span.is_error() {
                format!(
                    "<span class=\"status\">✗ error: {}</span>",
                    escape(span.status_message.as_deref().unwrap_or("error"))
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                html,
                "<div class=\"span{}\" data-span-id=\"{}\" data-depth=\"{depth}\">\n\
                 <div class=\"label\" style=\"padding-left:{:.1}em\" title=\"{}\">{}<span class=\"duration\">{}</span>{status}</div>\n\
                 <div class=\"track\"><div class=\"bar\" style=\"left:{left:.3}%;width:{width:.3}%\"></div></div>",
                if span.is_error() { " error" } else { "" },
                escape(&span.span_id),
                *depth as f64 * 1.2,
                escape(&span.name),
                escape(&traces::label(span)),
                traces::format_nanos(traces::duration(span)),
            );
            if !span.attributes.is_empty() {
                let _ = write!(
                    html,
                    "<details><summary>{} attribute(s)</summary><table>",
                    span.attributes.len()
                );
                for (key, value) in &span.attributes {
                    let value = match value {
                        Value::String(text) => text.clone(),
                        other => other.to_string(),
                    };
                    let _ = write!(html, "<tr><th>{}</th><td>{}</td></tr>", escape(key), escape(&value));
                }
                html.push_str("</table></details>\n");
            }
            html.push_str("</div>\n");
        }
        html.push_str("</section>\n");
    }
    html.push_str("</body>\n</html>\n");
    html
}

/// Text as HTML text or attribute value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `zen traces FILE --html OUT`: writes the page; returns what to print.
pub fn write_file(path: &std::path::Path, out: &std::path::Path) -> Result<String, String> {
    let file = traces::read_file(path)?;
    let laid_out = traces::layout(&file);
    let title = path
        .file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    std::fs::write(out, render(&file, &laid_out, &title))
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(format!(
        "wrote {} ({})\n",
        out.display(),
        traces::summary(&file, laid_out.len())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_is_escaped_and_errors_marked() {
        let line = |name: &str, id: &str, status: &str, message: &str| {
            format!(
                r#"{{"name":"{name}","trace_id":"t1","span_id":"{id}","parent_span_id":null,"kind":"internal","start_unix_nano":1000,"end_unix_nano":3000,"status":"{status}","status_message":"{message}","attributes":{{"k":"<b>&\"x\""}},"events":[]}}"#
            )
        };
        let text = format!(
            "{}\n{}\n",
            line("ok<script>", "a1", "ok", ""),
            line("bad", "b2", "error", "boom <now>")
        );
        let file = traces::parse(&text);
        let html = render(&file, &traces::layout(&file), "t & t");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("ok&lt;script&gt;"), "{html}");
        assert!(html.contains("<td>&lt;b&gt;&amp;&quot;x&quot;</td>"), "{html}");
        assert!(html.contains("<div class=\"span error\" data-span-id=\"b2\""), "{html}");
        assert!(html.contains("✗ error: boom &lt;now&gt;"), "{html}");
        assert!(html.contains("<title>zen traces: t &amp; t</title>"), "{html}");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no network assets"
        );
    }
}
