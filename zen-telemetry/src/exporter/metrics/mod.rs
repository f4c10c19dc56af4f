//! Metric export: every traced function's counts and the instruments of
//! [`crate::meter_provider`], sent every `OTEL_METRIC_EXPORT_INTERVAL` and
//! once more at shutdown, by one thread of our own.
//!
//! ```text
//!  calls::sites() ────────────┐      slot (earlier runs' values)
//!                             ├──> points + carry (every series, ≤ 200 a request) ──> exporter::sink: destination (OTLP, Telemetry API)
//!  SdkMeterProvider ──> ManualReader ─┘        │ saved before sending                  └─> lines (file, stdout)
//!                                              v
//!                                            slot
//! ```
//!
//! Series continue from run to run (`slot.rs`, `carry.rs`) unless
//! `ZEN_TELEMETRY_METRICS_ACROSS_RUNS=false`. Then an undelivered last
//! export is kept by the slot, and the next export, of this run or the
//! next, sends it superseded; without continuation it is spooled.
//!
//! The SDK's `PeriodicReader` does not fit: it exports nothing when no SDK
//! instrument has data (the traced functions' points live outside the SDK),
//! and its shutdown waits a fixed 5 s, not `ZEN_TELEMETRY_SHUTDOWN_TIMEOUT_MS`.
//! So the SDK aggregates users' instruments and a `ManualReader` hands them
//! to our thread.

mod carry;
mod lines;
mod points;
mod slot;

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
    /// Sends one request; a network destination spools it when it cannot
    /// deliver it and `spool` is asked. Returns the points rejected.
    fn send(
        &self,
        request: ExportMetricsServiceRequest,
        points: u64,
        deadline: Instant,
        spool: bool,
    ) -> Result<u64, String> {
        match self {
            #[cfg(feature = "otlp")]
            Points::Network(destination, _) => {
                let undelivered = if spool { Undelivered::Spool } else { Undelivered::Drop };
                destination
                    .deliver(request, points, deadline, undelivered)
                    .map(|delivered| delivered.rejected)
                    .map_err(|undelivered| undelivered.reason)
            }
            Points::Lines(lines) => {
                let _ = (points, deadline, spool);
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

/// Cloud Monitoring takes the points of one time series at least this far
/// apart: "The Cloud Monitoring API requires that the end times of points
/// written to a time series be at least 10 seconds apart"
/// (<https://cloud.google.com/monitoring/quotas>, "Rate at which data can
/// be written to a single time series"); the Telemetry API writes there.
const GOOGLE_SPACING: Duration = Duration::from_secs(10);

/// Claims the slot of `service` under `root` for `points`, when one is free.
fn claim_slot(points: &mut points::Points, root: &std::path::Path, service: &str) {
    let now = crate::clock::unix_nanos(std::time::SystemTime::now());
    match slot::Slot::claim(root, service, now) {
        Ok(Some((slot, carried))) => points.continue_from(slot, carried),
        Ok(None) => diag::debug_line(|| {
            format!(
                "every {} metric slot is taken: series of this process only",
                slot::SLOTS
            )
        }),
        Err(error) => diag::debug_line(|| format!("cannot claim a metric slot under {}: {error}", root.display())),
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
        let spacing = match destination {
            ExporterKind::Gcp => GOOGLE_SPACING,
            _ => Duration::ZERO,
        };
        let mut interval = config.metric_export_interval;
        if interval < spacing {
            diag::stderr_line(&format!(
                "zen-telemetry: warning: OTEL_METRIC_EXPORT_INTERVAL={} ms is shorter than Google Cloud takes \
                 points of one series ({} s apart at least); using {} s",
                interval.as_millis(),
                spacing.as_secs(),
                spacing.as_secs()
            ));
            interval = spacing;
        }
        let worker = Worker {
            points: points::Points::new(resource),
            slot: config
                .series_root
                .clone()
                .filter(|_| config.metrics_across_runs)
                .map(|root| (root, config.service_name.clone())),
            sink,
            reader: reader.clone(),
            interval,
            spacing,
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
    /// Where the series may continue (slot root, service), until the first
    /// export claims a slot there: not before, so a process that never
    /// exports (its exporter found no destination) writes no slot.
    slot: Option<(std::path::PathBuf, String)>,
    /// The least time between two points of one series.
    spacing: Duration,
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

    /// Sends every series. During the run a failed request stops this
    /// export, and the next one supersedes it (the points are cumulative).
    /// At the `last` export every request is made; what fails is kept by
    /// the slot for the next run, or spooled when the series do not continue.
    /// An export that would follow the last sent one too closely is left to
    /// the next export, or (the last) to the next run.
    fn export(&mut self, deadline: Instant, last: bool) {
        if let Some((root, service)) = self.slot.take()
            && !crate::state::has_no_destination()
        {
            claim_slot(&mut self.points, &root, &service);
        }
        let since_sent =
            crate::clock::unix_nanos(std::time::SystemTime::now()).saturating_sub(self.points.sent_unix_nano());
        let too_early = u128::from(since_sent) < self.spacing.as_nanos();
        if too_early && !last {
            return;
        }
        let collected = collect(&self.reader);
        let export = self.points.export(&collected, MAX_POINTS_PER_REQUEST, !too_early);
        let mut unsent = export.requests.iter().map(|(_, points)| points).sum::<u64>();
        if too_early {
            match self.points.continues() {
                true => diag::debug_line(|| "the last metric export comes too soon: the slot keeps it".to_owned()),
                false => stats::add_metric_points_failed(unsent),
            }
            return;
        }
        let spool = last && !self.points.continues();
        for (request, points) in export.requests {
            match self.sink.send(request, points, deadline, spool) {
                Ok(rejected) => {
                    // What the backend rejected is counted by the destination.
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

/// What the SDK's instruments hold now (nothing, with a debug line, if the
/// reader fails).
fn collect(reader: &ManualReader) -> ResourceMetrics {
    let mut collected = ResourceMetrics::default();
    if let Err(error) = reader.collect(&mut collected) {
        diag::debug_line(|| format!("collecting metrics: {error}"));
    }
    collected
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

/// One export's work without its thread or sink, for the metric export
/// bench: collect the SDK's instruments, continue the series, write the
/// slot, encode the requests.
pub(crate) struct ExportWork {
    _provider: opentelemetry_sdk::metrics::SdkMeterProvider,
    reader: Arc<ManualReader>,
    points: points::Points,
}

impl ExportWork {
    /// Counters with `series` attribute sets in all, each added to once; the
    /// series continue in a slot under `slots` when given.
    pub(crate) fn new(series: usize, slots: Option<&std::path::Path>) -> ExportWork {
        use opentelemetry::metrics::MeterProvider as _;
        let reader = Arc::new(
            ManualReader::builder()
                .with_temporality(Temporality::Cumulative)
                .build(),
        );
        let resource = Resource::builder_empty().build();
        let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
            .with_resource(resource.clone())
            .with_reader(SharedReader(reader.clone()))
            .build();
        // The SDK keeps at most 2 000 series an instrument: 1 000 a counter.
        let meter = provider.meter("bench");
        let counters: Vec<_> = (0..series.div_ceil(1000))
            .map(|n| meter.u64_counter(format!("bench.orders.{n}")).build())
            .collect();
        for shard in 0..series {
            counters[shard / 1000].add(1, &[opentelemetry::KeyValue::new("shard", shard as i64)]);
        }
        let mut points = points::Points::new(&resource);
        if let Some(root) = slots {
            claim_slot(&mut points, root, "bench");
        }
        ExportWork {
            _provider: provider,
            reader,
            points,
        }
    }

    /// What an SDK exporter does: collect, convert to OTLP, encode. Returns the bytes.
    pub(crate) fn sdk_export(&self) -> usize {
        use prost::Message as _;
        ExportMetricsServiceRequest::from(&collect(&self.reader)).encoded_len()
    }

    /// What our metric thread does. Returns the bytes.
    pub(crate) fn export(&mut self) -> usize {
        use prost::Message as _;
        let export = self.points.export(&collect(&self.reader), MAX_POINTS_PER_REQUEST, true);
        export.requests.iter().map(|(request, _)| request.encoded_len()).sum()
    }
}
