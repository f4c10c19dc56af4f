//! Metric export: every traced function's counts and the instruments of
//! [`crate::meter_provider`], sent every `OTEL_METRIC_EXPORT_INTERVAL` and
//! once more at shutdown, by one thread of our own.
//!
//! ```text
//!  calls::sites() ────────────┐
//!                             ├──> points (changed series only, ≤ 200 a request) ──> exporter::sink: destination (OTLP, Telemetry API; spooled at exit)
//!  SdkMeterProvider ──> ManualReader ─┘                                           └─> lines (file, stdout)
//! ```
//!
//! The SDK's `PeriodicReader` does not fit: it exports nothing when no SDK
//! instrument has data (the traced functions' points live outside the SDK),
//! and its shutdown waits a fixed 5 s, not `ZEN_TELEMETRY_SHUTDOWN_TIMEOUT_MS`.
//! So the SDK aggregates users' instruments and a `ManualReader` hands them
//! to our thread.

mod lines;
mod points;

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{InstrumentKind, ManualReader, Pipeline, Temporality};

#[cfg(feature = "otlp")]
use super::destination::{Destination, Undelivered};
#[cfg(feature = "otlp")]
use super::resend::Resend;
use super::sink::{Sink, sink};
use super::spool::Signal;
use crate::config::{Config, ExporterKind};
use crate::{diag, stats};
use points::MAX_POINTS_PER_REQUEST;
#[cfg(feature = "otlp")]
pub(crate) use points::string_attribute;

/// Where the metric thread sends points.
#[derive(Debug)]
enum Points {
    #[cfg(feature = "otlp")]
    Network(Arc<Destination>, Resend),
    Lines(lines::Lines),
}

impl Points {
    /// Sends one request; a network destination spools it at the `last`
    /// export when it cannot deliver it. Returns the points rejected.
    fn send(
        &self,
        request: ExportMetricsServiceRequest,
        points: u64,
        deadline: Instant,
        last: bool,
    ) -> Result<u64, String> {
        match self {
            #[cfg(feature = "otlp")]
            Points::Network(destination, _) => {
                let undelivered = if last { Undelivered::Spool } else { Undelivered::Drop };
                destination
                    .deliver(request, points, deadline, undelivered)
                    .map(|delivered| delivered.rejected)
                    .map_err(|undelivered| undelivered.reason)
            }
            Points::Lines(lines) => {
                let _ = (points, deadline, last);
                lines.send(&request).map(|()| 0)
            }
        }
    }

    /// The destination's resending of its spool; when more is due.
    fn housekeeping(&mut self) -> Option<Duration> {
        match self {
            #[cfg(feature = "otlp")]
            Points::Network(_, resend) => resend.housekeeping(),
            Points::Lines(_) => None,
        }
    }
}

/// What the thread is asked for: export a last time until `deadline`,
/// answer on `done`, and stop.
#[derive(Debug)]
struct Shutdown {
    deadline: Instant,
    done: mpsc::Sender<()>,
}

/// The running metric export.
#[derive(Debug)]
pub(crate) struct MetricExport {
    shutdown: Mutex<mpsc::Sender<Shutdown>>,
    reader: Arc<ManualReader>,
}

impl MetricExport {
    /// Starts exporting to `destination`; `Ok(None)` when there is nowhere to send.
    pub(crate) fn start(
        config: &Config,
        destination: ExporterKind,
        resource: &Resource,
    ) -> Result<Option<MetricExport>, String> {
        let timeout = config.metric_export_timeout;
        let sink = match sink(config, destination, Signal::Metrics)? {
            Sink::None => return Ok(None),
            Sink::Stdout => Points::Lines(lines::Lines::Stdout),
            Sink::File(path) => Points::Lines(lines::Lines::file(path)),
            #[cfg(feature = "otlp")]
            Sink::Network { destination, .. } => {
                Points::Network(destination.clone(), Resend::new(destination, Signal::Metrics))
            }
        };
        let reader = Arc::new(
            ManualReader::builder()
                .with_temporality(Temporality::Cumulative)
                .build(),
        );
        let (shutdown, inbox) = mpsc::channel();
        let worker = Worker {
            points: points::Points::new(resource),
            sink,
            reader: reader.clone(),
            interval: config.metric_export_interval,
            timeout,
        };
        std::thread::Builder::new()
            .name("zen-telemetry-metrics".to_owned())
            .spawn(move || worker.run(&inbox))
            .map_err(|e| format!("cannot start the metrics thread: {e}"))?;
        Ok(Some(MetricExport {
            shutdown: Mutex::new(shutdown),
            reader,
        }))
    }

    /// The reader to register with the meter provider.
    pub(crate) fn reader(&self) -> SharedReader {
        SharedReader(self.reader.clone())
    }

    /// Asks for a last export, after which the thread stops.
    pub(crate) fn begin_shutdown(&self, deadline: Instant) -> Answer {
        let (done, answer) = mpsc::channel();
        let sent = self
            .shutdown
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(Shutdown { deadline, done })
            .is_ok();
        Answer(sent.then_some(answer))
    }
}

/// The export thread's answer to come.
#[derive(Debug)]
pub(crate) struct Answer(Option<mpsc::Receiver<()>>);

impl Answer {
    /// Waits for it until `deadline`. False if the thread did not answer in time.
    pub(crate) fn wait(self, deadline: Instant) -> bool {
        self.0.is_some_and(|answer| {
            answer
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .is_ok()
        })
    }
}

/// The export thread's state.
struct Worker {
    points: points::Points,
    sink: Points,
    reader: Arc<ManualReader>,
    interval: Duration,
    timeout: Duration,
}

impl Worker {
    fn run(mut self, inbox: &mpsc::Receiver<Shutdown>) {
        let mut next = Instant::now() + self.interval;
        loop {
            let wake = match self.sink.housekeeping() {
                Some(resend) => next.min(Instant::now() + resend),
                None => next,
            };
            match inbox.recv_timeout(wake.saturating_duration_since(Instant::now())) {
                Err(RecvTimeoutError::Timeout) => {
                    if Instant::now() >= next {
                        self.export(Instant::now() + self.timeout.min(self.interval), false);
                        next = (next + self.interval).max(Instant::now());
                    }
                }
                Ok(Shutdown { deadline, done }) => {
                    self.export(deadline, true);
                    let _ = done.send(());
                    return;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Sends what changed. During the run a failed request stops this
    /// export, and its series (still marked undelivered) go again with the
    /// next one, superseding it (the points are cumulative); at the `last`
    /// export every request is made, and what fails is spooled.
    fn export(&mut self, deadline: Instant, last: bool) {
        let mut collected = ResourceMetrics::default();
        if let Err(error) = self.reader.collect(&mut collected) {
            diag::debug_line(|| format!("collecting metrics: {error}"));
        }
        let batches = self.points.batches(&collected, MAX_POINTS_PER_REQUEST);
        let mut unsent = batches.iter().map(|batch| batch.series.len() as u64).sum::<u64>();
        for batch in batches {
            let points = batch.series.len() as u64;
            match self.sink.send(batch.request, points, deadline, last) {
                Ok(rejected) => {
                    // What the backend rejected is counted by the destination.
                    self.points.delivered(batch.series);
                    stats::add_metric_points_exported(points.saturating_sub(rejected));
                    unsent -= points;
                }
                Err(error) => {
                    diag::debug_line(|| format!("metric export failed: {error}"));
                    if !last {
                        break;
                    }
                }
            }
        }
        if unsent > 0 {
            stats::add_metric_points_failed(unsent);
        }
    }
}

/// The `ManualReader` shared between the meter provider and our thread.
#[derive(Debug, Clone)]
pub(crate) struct SharedReader(Arc<ManualReader>);

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline);
    }

    fn collect(&self, metrics: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(metrics)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}
