//! The telemetry manager: on/off state, lazy pipeline, flush at exit.
//!
//! Loading the program only reads the environment (a `ctor` constructor, and
//! again lazily should the linker have dropped it). The provider, exporter
//! and threads are created at the first span that will be recorded.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, Span, SpanData, SpanProcessor};

use crate::config::{Config, ExporterKind};
use crate::{diag, exporter, sampling, stats};

const UNINIT: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

/// Whether traced calls start spans. The only thing the hot path reads.
static STATE: AtomicU8 = AtomicU8::new(UNINIT);
static CONFIG: Mutex<Option<Config>> = Mutex::new(None);
static PIPELINE: OnceLock<Option<Pipeline>> = OnceLock::new();
static SHUT_DOWN: AtomicBool = AtomicBool::new(false);
/// Builds the span processor in place of the configured exporter (benchmarks
/// compare pipelines with the same exporter on every side).
type ProcessorFactory = Box<dyn FnOnce(&Config) -> Result<exporter::CountingBatchProcessor, String> + Send>;
static PROCESSOR_OVERRIDE: Mutex<Option<ProcessorFactory>> = Mutex::new(None);
/// Set when the exporter found no destination after start; keeps recording off.
static NO_DESTINATION: AtomicBool = AtomicBool::new(false);
/// `Config::error_messages`, read on every recorded failure without the lock.
static ERROR_MESSAGES: AtomicBool = AtomicBool::new(true);

pub(crate) struct Pipeline {
    /// For spans made directly through the `opentelemetry` API, and shutdown.
    pub(crate) provider: SdkTracerProvider,
    /// The provider's processors, which `#[traced]` spans end into directly.
    processors: Vec<Arc<dyn SpanProcessor>>,
    /// The scope of `#[traced]` spans.
    pub(crate) scope: InstrumentationScope,
}

impl Pipeline {
    /// Hands a finished `#[traced]` span to every processor.
    pub(crate) fn dispatch(&self, span: SpanData) {
        match self.processors.as_slice() {
            [] => {}
            [only] => only.on_end(span),
            [rest @ .., last] => {
                for processor in rest {
                    processor.on_end(span.clone());
                }
                last.on_end(span);
            }
        }
    }
}

/// A processor shared by the provider and [`Pipeline::dispatch`]. Its
/// resource is set before it is shared.
#[derive(Debug)]
struct SharedProcessor(Arc<dyn SpanProcessor>);

impl SpanProcessor for SharedProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.0.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        self.0.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn shutdown(&self) -> OTelSdkResult {
        self.0.shutdown()
    }
}

#[ctor::ctor]
unsafe fn load_at_start() {
    is_on();
}

/// True when traced calls should start spans.
#[inline(always)]
pub(crate) fn is_on() -> bool {
    match STATE.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => load_from_env(),
    }
}

/// True only once telemetry is known to be off: one load and one compare.
/// Before the configuration is loaded this is false, and the caller takes its
/// slow path, which loads it.
#[inline(always)]
pub(crate) fn is_known_off() -> bool {
    STATE.load(Ordering::Relaxed) == OFF
}

#[cold]
fn load_from_env() -> bool {
    let mut guard = lock_config();
    if guard.is_none() {
        let (config, warnings) = Config::from_env();
        for warning in &warnings {
            diag::stderr_line(&warning.to_string());
        }
        apply(&config);
        *guard = Some(config);
    }
    STATE.load(Ordering::Relaxed) == ON
}

fn lock_config() -> std::sync::MutexGuard<'static, Option<Config>> {
    CONFIG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn apply(config: &Config) {
    diag::set_debug(config.debug);
    ERROR_MESSAGES.store(config.error_messages, Ordering::Relaxed);
    sampling::set_rate(config.sample_rate);
    let on = config.will_record() && !SHUT_DOWN.load(Ordering::Relaxed) && !NO_DESTINATION.load(Ordering::Relaxed);
    STATE.store(if on { ON } else { OFF }, Ordering::Relaxed);
    diag::debug_line(|| {
        format!(
            "{} (sample rate {}, service {} {}, exporter {} -> {}{})",
            match &config.disabled_by {
                Some(by) => format!("disabled by {by}"),
                None => "enabled".to_owned(),
            },
            config.sample_rate,
            config.service_name,
            config.service_version,
            config.exporter,
            config.resolved_exporter(),
            if config.resolved_exporter() == ExporterKind::File {
                format!(" {}", config.file_path.display())
            } else {
                String::new()
            }
        )
    });
}

/// Whether failed spans may carry the (scrubbed) error or panic text.
pub(crate) fn error_messages() -> bool {
    ERROR_MESSAGES.load(Ordering::Relaxed)
}

/// Overrides `error_messages` until the configuration is applied again (testing API).
#[cfg(feature = "testing")]
pub(crate) fn set_error_messages(on: bool) {
    ERROR_MESSAGES.store(on, Ordering::Relaxed);
}

/// The configuration in force.
pub(crate) fn config() -> Config {
    is_on();
    lock_config().clone().unwrap_or_default()
}

/// Replaces the configuration before the pipeline starts.
pub(crate) fn configure(config: Config) -> Result<(), crate::InitError> {
    if PIPELINE.get().is_some() {
        return Err(crate::InitError::AlreadyStarted);
    }
    let mut guard = lock_config();
    apply(&config);
    *guard = Some(config);
    Ok(())
}

/// The pipeline, built on first use. `None` when it could not be built.
pub(crate) fn pipeline() -> Option<&'static Pipeline> {
    PIPELINE.get_or_init(build_pipeline).as_ref()
}

fn build_pipeline() -> Option<Pipeline> {
    crate::clock::enable_if_trusted();
    let config = config();
    let resource = resource(&config);
    let destination = config.resolved_exporter();
    let factory = PROCESSOR_OVERRIDE.lock().unwrap_or_else(|p| p.into_inner()).take();
    let processor = match factory {
        Some(make) => make(&config).map(Some),
        None => exporter::batch_processor(&config, destination),
    };
    let mut processors: Vec<Box<dyn SpanProcessor>> = Vec::new();
    match processor {
        Ok(Some(processor)) => processors.push(Box::new(processor)),
        Ok(None) => {}
        Err(error) => {
            diag::stderr_line(&format!(
                "zen-telemetry: warning: cannot start the {destination} exporter: {error}; spans are not exported"
            ));
            no_destination("no exporter");
        }
    }
    #[cfg(feature = "testing")]
    processors.push(Box::new(crate::testing::CaptureProcessor));

    let mut builder = SdkTracerProvider::builder()
        .with_sampler(sampling::ZenSampler)
        .with_resource(resource.clone());
    let processors: Vec<Arc<dyn SpanProcessor>> = processors
        .into_iter()
        .map(|mut processor| {
            processor.set_resource(&resource);
            Arc::from(processor)
        })
        .collect();
    for processor in &processors {
        builder = builder.with_span_processor(SharedProcessor(processor.clone()));
    }
    let provider = builder.build();
    register_exit_flush();
    Some(Pipeline {
        provider,
        processors,
        scope: InstrumentationScope::builder("zen-telemetry").build(),
    })
}

/// The resource: service and SDK identity, nothing about the host or user.
pub(crate) fn resource(config: &Config) -> Resource {
    Resource::builder_empty()
        .with_detector(Box::new(opentelemetry_sdk::resource::TelemetryResourceDetector))
        .with_service_name(config.service_name.clone())
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            config.service_version.clone(),
        ))
        .build()
}

fn register_exit_flush() {
    extern "C" fn flush_at_exit() {
        shutdown();
    }
    // SAFETY: registers a plain `extern "C"` function with no captured state.
    unsafe {
        libc::atexit(flush_at_exit);
    }
}

/// Stops recording and flushes what was recorded, within the shutdown timeout.
pub(crate) fn shutdown() {
    if SHUT_DOWN.swap(true, Ordering::SeqCst) {
        return;
    }
    STATE.store(OFF, Ordering::SeqCst);
    let timeout = lock_config().as_ref().map(|c| c.shutdown_timeout).unwrap_or_default();
    if let Some(Some(pipeline)) = PIPELINE.get()
        && let Err(error) = pipeline.provider.shutdown_with_timeout(timeout)
    {
        diag::debug_line(|| format!("shutdown: {error}"));
    }
    let totals = stats::stats();
    if totals.spans_dropped > 0 || totals.spans_failed > 0 {
        diag::debug_line(|| loss_summary(&totals));
    }
}

/// One line saying where the recorded spans went, for when some were lost.
fn loss_summary(totals: &stats::Stats) -> String {
    let mut line = format!(
        "{} spans recorded, {} exported, {} dropped (queue full), {} failed",
        totals.spans_recorded, totals.spans_exported, totals.spans_dropped, totals.spans_failed
    );
    // Spans still queued or in flight when the shutdown timeout ran out.
    let unsent = totals
        .spans_recorded
        .saturating_sub(totals.spans_exported + totals.spans_dropped + totals.spans_failed);
    if unsent > 0 {
        line.push_str(&format!(", {unsent} not sent by the shutdown timeout"));
    }
    line
}

/// Keeps an `auto` exporter from sending captured spans anywhere: tests
/// capture in memory and must not reach a real backend by accident.
#[cfg(feature = "testing")]
pub(crate) fn keep_auto_local() {
    is_on();
    if PIPELINE.get().is_some() {
        return;
    }
    if let Some(config) = lock_config().as_mut()
        && config.exporter == ExporterKind::Auto
    {
        config.exporter = ExporterKind::None;
    }
}

/// The exporter found nowhere to send spans (e.g. no Google Cloud project
/// on the metadata server): stop recording, as if none were configured.
pub(crate) fn no_destination(reason: &str) {
    NO_DESTINATION.store(true, Ordering::SeqCst);
    STATE.store(OFF, Ordering::SeqCst);
    diag::debug_line(|| format!("{reason}; recording stopped"));
}

/// Replaces the configured exporter before the pipeline starts.
pub(crate) fn override_processor(factory: ProcessorFactory) -> Result<(), crate::InitError> {
    if PIPELINE.get().is_some() {
        return Err(crate::InitError::AlreadyStarted);
    }
    *PROCESSOR_OVERRIDE.lock().unwrap_or_else(|p| p.into_inner()) = Some(factory);
    Ok(())
}

/// Turns recording on or off regardless of configuration (testing API, benchmarks).
pub(crate) fn force_state(on: Option<bool>) {
    match on {
        Some(true) => STATE.store(ON, Ordering::SeqCst),
        Some(false) => STATE.store(OFF, Ordering::SeqCst),
        None => {
            let config = config();
            apply(&config);
        }
    }
}
