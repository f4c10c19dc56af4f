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

/// Appends one JSON object per finished span to a file. The file is opened at
/// the first export, not before.
#[derive(Debug)]
pub struct JsonLinesExporter {
    path: PathBuf,
    writer: Mutex<Option<BufWriter<File>>>,
}

impl JsonLinesExporter {
    /// An exporter appending to `path`.
    pub fn new(path: PathBuf) -> Self {
        JsonLinesExporter {
            path,
            writer: Mutex::new(None),
        }
    }

    fn write_batch(&self, batch: &[SpanData]) -> std::io::Result<()> {
        let mut guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            let file = OpenOptions::new().create(true).append(true).open(&self.path)?;
            *guard = Some(BufWriter::new(file));
        }
        let Some(writer) = guard.as_mut() else {
            return Ok(());
        };
        for span in batch {
            serde_json::to_writer(&mut *writer, &span_to_json(span))?;
            writer.write_all(b"\n")?;
        }
        writer.flush()
    }
}

impl SpanExporter for JsonLinesExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.write_batch(&batch)
            .map_err(|e| OTelSdkError::InternalFailure(format!("writing {}: {e}", self.path.display())))
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        let mut guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(writer) = guard.as_mut() {
            let _ = writer.flush();
        }
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
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|e| OTelSdkError::InternalFailure(format!("writing to stdout: {e}")))
    }
}
