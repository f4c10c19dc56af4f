//! Building the pipeline: the exporter's processor, the provider for spans
//! made through the `opentelemetry` API, and the fan-out both end into.
//!
//! ```text
//!  #[traced] span ──┐
//!                   ├──> Fanout ──> exporter's CountingBatchProcessor ──> export thread
//!  OTel-API span ───┘      │        (or a bench's processor, see override_processor)
//!  (SdkTracerProvider)     └──────> observer (the testing API's capture), when set
//! ```

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry::trace::SpanId;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{SdkTracerProvider, Span, SpanData, SpanProcessor};

use super::manager::{self, InitError};
use crate::config::{Config, ExporterKind};
use crate::{diag, exporter, sampling, state};

/// Builds the span processor in place of the configured exporter (benchmarks
/// compare pipelines with the same exporter on every side).
pub(crate) type ProcessorFactory = Box<dyn FnOnce(&Config) -> Result<exporter::CountingBatchProcessor, String> + Send>;
static PROCESSOR_OVERRIDE: Mutex<Option<ProcessorFactory>> = Mutex::new(None);

/// Sees every finished span besides the exporter. A hook rather than a
/// processor built in, so the testing API plugs in from above without the
/// pipeline knowing it, whether it registers before or after the build.
pub(crate) type Observer = fn(&SpanData);
static OBSERVER: OnceLock<Observer> = OnceLock::new();

/// Registers the observer; the first registration wins.
#[cfg(feature = "testing")]
pub(crate) fn set_observer(observer: Observer) {
    let _ = OBSERVER.set(observer);
}

/// Replaces the configured exporter before the pipeline starts.
pub(crate) fn override_processor(factory: ProcessorFactory) -> Result<(), InitError> {
    if manager::has_started() {
        return Err(InitError::AlreadyStarted);
    }
    *PROCESSOR_OVERRIDE.lock().unwrap_or_else(|p| p.into_inner()) = Some(factory);
    Ok(())
}

/// The running pipeline.
pub(crate) struct Pipeline {
    /// For spans made directly through the `opentelemetry` API, and shutdown.
    pub(crate) provider: SdkTracerProvider,
    /// What `#[traced]` spans end into directly, skipping the provider.
    fanout: Arc<Fanout>,
    /// Users' instruments; `None` when metrics are off.
    pub(crate) meter_provider: Option<SdkMeterProvider>,
    /// The thread sending metric points; `None` with nowhere to send them.
    pub(crate) metric_export: Option<exporter::metrics::MetricExport>,
}

impl Pipeline {
    /// Hands the finished `#[traced]` span `make` builds to the observer and
    /// the processors; built where it is queued, not moved there.
    #[inline]
    pub(crate) fn dispatch(&self, make: impl FnOnce() -> exporter::TracedSpan) {
        self.fanout.on_traced(make);
    }
}

/// Builds the pipeline for `config`. Never fails: an exporter that cannot
/// start is reported once and turns recording off.
pub(crate) fn build(config: &Config) -> Pipeline {
    let resource = resource(config);
    // Disabled, the pipeline only exists for an in-memory capture: nothing
    // is exported, whatever exporter or processor was asked for.
    let disabled = config.is_disabled();
    let (destination, metrics_destination) = if disabled {
        (ExporterKind::None, ExporterKind::None)
    } else {
        (config.resolved_exporter(), config.resolved_metrics_exporter())
    };
    let factory = PROCESSOR_OVERRIDE.lock().unwrap_or_else(|p| p.into_inner()).take();
    let factory = factory.filter(|_| !disabled);
    let processor = match factory {
        Some(make) => make(config).map(Some),
        None => exporter::batch_processor(config, destination),
    };
    let mut exporting = true;
    let exporter = match processor {
        Ok(Some(mut processor)) => {
            // Set before the processor is shared.
            processor.set_resource(&resource);
            Some(processor)
        }
        Ok(None) => None,
        Err(error) => {
            diag::stderr_line(&format!(
                "zen-telemetry: warning: cannot start the {destination} exporter: {error}; spans are not exported"
            ));
            state::no_destination();
            diag::debug_line(|| "no exporter; recording stopped".to_owned());
            exporting = false;
            None
        }
    };
    let metric_export = if config.metrics && exporting {
        exporter::metrics::MetricExport::start(config, metrics_destination, &resource).unwrap_or_else(|error| {
            diag::stderr_line(&format!(
                "zen-telemetry: warning: cannot start the {metrics_destination} metric export: {error}; metrics are not exported"
            ));
            None
        })
    } else {
        None
    };
    let meter_provider = config.metrics.then(|| {
        let builder = SdkMeterProvider::builder().with_resource(resource.clone());
        match &metric_export {
            Some(export) => builder.with_reader(export.reader()),
            None => builder,
        }
        .build()
    });
    let fanout = Arc::new(Fanout { exporter });
    let provider = SdkTracerProvider::builder()
        .with_sampler(sampling::ZenSampler)
        .with_id_generator(sampling::ZenIds)
        .with_resource(resource)
        .with_max_attributes_per_span(config.span_limits.attribute_count)
        .with_max_events_per_span(config.span_limits.event_count)
        .with_span_processor(SharedFanout(fanout.clone()))
        .build();
    Pipeline {
        provider,
        fanout,
        meter_provider,
        metric_export,
    }
}

/// The resource: service and SDK identity and a random id of this process
/// (Google needs an instance for metric points); nothing about the host or user.
pub(crate) fn resource(config: &Config) -> Resource {
    use opentelemetry_sdk::trace::IdGenerator;
    let instance_id = opentelemetry_sdk::trace::RandomIdGenerator::default().new_trace_id();
    let own = config
        .resource_attributes
        .iter()
        .map(|(key, value)| opentelemetry::KeyValue::new(key.clone(), value.clone()));
    // The user's first: a key zen sets below keeps zen's value.
    Resource::builder_empty()
        .with_attributes(own)
        .with_detector(Box::new(opentelemetry_sdk::resource::TelemetryResourceDetector))
        .with_service_name(config.service_name.clone())
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            config.service_version.clone(),
        ))
        .with_attribute(opentelemetry::KeyValue::new(
            "service.instance.id",
            instance_id.to_string(),
        ))
        .build()
}

/// The observer, then the exporter's processor. One processor for the
/// provider too, so `#[traced]` and OTel-API spans take the same path.
#[derive(Debug)]
struct Fanout {
    exporter: Option<exporter::CountingBatchProcessor>,
}

impl Fanout {
    #[inline]
    fn on_traced(&self, make: impl FnOnce() -> exporter::TracedSpan) {
        if let Some(observe) = OBSERVER.get() {
            let span = make();
            observe(&span.clone().into_span_data());
            if let Some(exporter) = &self.exporter {
                exporter.enqueue(|| exporter::Finished::Traced(span));
            }
        } else if let Some(exporter) = &self.exporter {
            exporter.enqueue(
                #[inline(always)]
                || exporter::Finished::Traced(make()),
            );
        }
    }

    fn on_end(&self, mut span: SpanData) {
        join_process_parent(&mut span);
        if let Some(observe) = OBSERVER.get() {
            observe(&span);
        }
        if let Some(exporter) = &self.exporter {
            exporter.on_end(span);
        }
    }
}

/// A root the SDK started has no parent span id, though its trace is the
/// process parent's (`sampling::ZenIds`): it gets the process parent as its
/// remote parent, as a `#[traced]` root does.
fn join_process_parent(span: &mut SpanData) {
    if span.parent_span_id == SpanId::INVALID
        && let Some(parent) = sampling::process_parent()
        && span.span_context.trace_id() == parent.trace_id()
    {
        span.parent_span_id = parent.span_id();
        span.parent_span_is_remote = true;
    }
}

/// The fan-out as the provider's one processor.
#[derive(Debug)]
struct SharedFanout(Arc<Fanout>);

impl SpanProcessor for SharedFanout {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        if let Some(exporter) = &self.0.exporter {
            exporter.on_start(span, cx);
        }
    }

    fn on_end(&self, span: SpanData) {
        self.0.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.exporter.as_ref().map_or(Ok(()), SpanProcessor::force_flush)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0
            .exporter
            .as_ref()
            .map_or(Ok(()), |exporter| exporter.shutdown_with_timeout(timeout))
    }
}
