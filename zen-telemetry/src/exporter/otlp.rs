//! OTLP/gRPC export, configured by the standard `OTEL_EXPORTER_OTLP_*` variables.

use std::time::Duration;

use super::on_runtime::{OnRuntime, tokio_runtime};

/// The OTLP exporter, running on the private runtime.
pub(crate) fn exporter(timeout: Duration) -> Result<OnRuntime<opentelemetry_otlp::SpanExporter>, String> {
    let runtime = tokio_runtime()?;
    // tonic spawns its connection task while building, so build inside the runtime.
    let _entered = runtime.enter();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()
        .map_err(|e| format!("cannot build the OTLP exporter: {e}"))?;
    Ok(OnRuntime::new(exporter, runtime.handle().clone(), timeout))
}
