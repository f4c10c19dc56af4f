//! Switches the overhead benchmark uses to compare configurations in one
//! process. Hidden, not for applications, and no semver promise: it lives
//! apart from `__private` so generated code never depends on it.

use crate::config::Config;
use crate::pipeline::{self, InitError};
use crate::{exporter, sampling};

/// Turns recording on (`Some(true)`), off, or back to the configuration (`None`).
pub fn set_on(on: Option<bool>) {
    pipeline::force_state(on);
}

/// Counts and times traced calls (`true`) or not, as `ZEN_TELEMETRY_METRICS` would.
pub fn set_metrics(on: bool) {
    crate::state::set_metrics(on);
}

/// Puts sync calls' whole spans into the OpenTelemetry context (`true`), as
/// `ZEN_TELEMETRY_MUTABLE_SPANS` would, or only their span context.
pub fn set_mutable_spans(on: bool) {
    crate::state::set_mutable_spans(on);
}

/// Sets the root sampling rate.
pub fn set_sample_rate(rate: f64) {
    sampling::set_rate(rate);
}

/// `init_with`, exporting through `exporter` (behind the usual batch
/// processor and counters) instead of the configured one, so a benchmark
/// can give zen and its anchors the same exporter.
pub fn init_with_exporter<E>(config: Config, exporter: E) -> Result<(), InitError>
where
    E: opentelemetry_sdk::trace::SpanExporter + 'static,
{
    pipeline::override_processor(Box::new(move |config: &Config| {
        exporter::CountingBatchProcessor::new(exporter::SdkExport(exporter), &config.batch)
    }))?;
    pipeline::init_with(config)
}

/// One metric export of `series` series, for the metric export bench.
pub struct MetricExport(crate::exporter::metrics::ExportWork);

impl MetricExport {
    /// A counter with `series` attribute sets; with `slots`, the series
    /// continue in a slot under it (written at every export).
    pub fn new(series: usize, slots: Option<&std::path::Path>) -> MetricExport {
        MetricExport(crate::exporter::metrics::ExportWork::new(series, slots))
    }

    /// The SDK's share, as its OTLP exporter would do it: collect, convert,
    /// encode. Returns the encoded bytes.
    pub fn sdk_export(&self) -> usize {
        self.0.sdk_export()
    }

    /// Our export: collect, continue, write the slot, cut into requests of
    /// 200 points, encode. Returns the encoded bytes.
    pub fn export(&mut self) -> usize {
        self.0.export()
    }
}

/// A call site of the bench's own, counting as a traced function's does.
pub struct CallCounter(crate::calls::CallSite);

impl CallCounter {
    /// An empty call site (in a `static`).
    pub const fn new() -> CallCounter {
        CallCounter(crate::calls::CallSite::new("bench.counted", "bench"))
    }

    /// Counts a call of `nanos`, as an unsampled call is counted.
    #[inline]
    pub fn count(&'static self, nanos: u64) {
        self.0.record(crate::calls::CallResult::Ok, nanos);
    }

    /// Counts a sampled call of `nanos` and keeps it as its bucket's
    /// exemplar, as a recorded call is counted.
    #[inline]
    pub fn count_sampled(&'static self, nanos: u64, trace_id: u128, span_id: u64) {
        let exemplar = crate::calls::Exemplar {
            trace_id,
            span_id,
            time_unix_nano: nanos,
            nanos,
        };
        self.0.record_sampled(crate::calls::CallResult::Ok, &exemplar);
    }
}

impl Default for CallCounter {
    fn default() -> Self {
        CallCounter::new()
    }
}
