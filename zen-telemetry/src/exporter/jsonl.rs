//! Local exporters: JSON lines to a file, readable lines to stdout.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use opentelemetry::trace::Status;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::json::{attributes_to_json, span_to_json};

/// A file that JSON lines are appended to, opened at the first write, not
/// before. Spans and metric points each have one.
#[derive(Debug)]
pub(crate) struct JsonLinesFile {
    path: PathBuf,
    writer: Mutex<Option<BufWriter<File>>>,
}

impl JsonLinesFile {
    pub(crate) fn new(path: PathBuf) -> Self {
        JsonLinesFile {
            path,
            writer: Mutex::new(None),
        }
    }

    /// Appends one line per item and flushes; the error names the file.
    pub(crate) fn append<T: serde::Serialize>(&self, items: impl IntoIterator<Item = T>) -> Result<(), String> {
        let write = || -> std::io::Result<()> {
            let mut guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
            if guard.is_none() {
                let file = OpenOptions::new().create(true).append(true).open(&self.path)?;
                *guard = Some(BufWriter::new(file));
            }
            let Some(writer) = guard.as_mut() else {
                return Ok(());
            };
            for item in items {
                serde_json::to_writer(&mut *writer, &item)?;
                writer.write_all(b"\n")?;
            }
            writer.flush()
        };
        write().map_err(|e| format!("writing {}: {e}", self.path.display()))
    }

    fn flush(&self) {
        let mut guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(writer) = guard.as_mut() {
            let _ = writer.flush();
        }
    }
}

/// Writes `text` to stdout at once and flushes it.
pub(crate) fn print(text: &str) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("writing to stdout: {e}"))
}

/// Appends one JSON object per finished span to a file. The file is opened at
/// the first export, not before.
#[derive(Debug)]
pub struct JsonLinesExporter {
    file: JsonLinesFile,
}

impl JsonLinesExporter {
    /// An exporter appending to `path`.
    pub fn new(path: PathBuf) -> Self {
        JsonLinesExporter {
            file: JsonLinesFile::new(path),
        }
    }
}

impl SpanExporter for JsonLinesExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.file
            .append(batch.iter().map(span_to_json))
            .map_err(OTelSdkError::InternalFailure)
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.file.flush();
        Ok(())
    }
}

/// Prints one readable line per finished span on standard output.
#[derive(Debug, Default)]
pub struct StdoutExporter;

impl StdoutExporter {
    fn line(span: &SpanData) -> String {
        let duration = span.end_time.duration_since(span.start_time).unwrap_or_default();
        let status = match &span.status {
            Status::Unset => "unset".to_owned(),
            Status::Ok => "ok".to_owned(),
            Status::Error { description } => format!("error({description})"),
        };
        let mut line = format!(
            "[zen-telemetry] {} {:.3}ms status={} trace={} span={}",
            span.name,
            duration.as_secs_f64() * 1000.0,
            status,
            span.span_context.trace_id(),
            span.span_context.span_id(),
        );
        if span.parent_span_id != opentelemetry::trace::SpanId::INVALID {
            line.push_str(&format!(" parent={}", span.parent_span_id));
        }
        if !span.attributes.is_empty() {
            line.push_str(&format!(" attributes={}", attributes_to_json(&span.attributes)));
        }
        for event in span.events.iter() {
            line.push_str(&format!(
                " event:{}={}",
                event.name,
                attributes_to_json(&event.attributes)
            ));
        }
        line
    }
}

impl SpanExporter for StdoutExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut text = String::new();
        for span in &batch {
            text.push_str(&Self::line(span));
            text.push('\n');
        }
        print(&text).map_err(OTelSdkError::InternalFailure)
    }
}
