//! `zen telemetry status --check`: one span and one metric point sent to
//! each configured destination, and what became of them in words a person
//! can act on. The library never prints per-span errors into its host's
//! stderr; this is where a person finds out.

use std::time::{Duration, Instant, SystemTime};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

use super::destination::Undelivered;
use super::metrics::string_attribute;
use super::sink::{Sink, sink};
use super::spool::Signal;
use crate::clock;
use crate::config::{Config, ExporterKind, OtlpProtocol, SpoolSettings};
use crate::sampling;

/// What one signal's check found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DestinationCheck {
    /// `traces` or `metrics`.
    pub signal: &'static str,
    /// The exporter the signal goes to.
    pub exporter: ExporterKind,
    /// Delivered, or why not.
    pub result: Result<(), String>,
}

/// Sends one check span and one check metric point to each network
/// destination of `config` (local exporters and `none` are not checked);
/// nothing is spooled. Nothing is sent while disabled. Blocks up to each
/// destination's timeout (at most 10 s); runs on a thread of its own, so a
/// caller inside a runtime may call it.
pub fn check_destinations(config: &Config) -> Vec<DestinationCheck> {
    if config.is_disabled() {
        return Vec::new();
    }
    let mut config = config.clone();
    // A check must not leave batches for later runs.
    config.spool = SpoolSettings {
        enabled: false,
        ..config.spool
    };
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                [
                    (Signal::Traces, config.resolved_exporter()),
                    (Signal::Metrics, config.resolved_metrics_exporter()),
                ]
                .into_iter()
                .filter(|(_, kind)| matches!(kind, ExporterKind::Otlp | ExporterKind::Gcp))
                .map(|(signal, kind)| DestinationCheck {
                    signal: signal.word(),
                    exporter: kind,
                    result: check_one(&config, kind, signal).map_err(|reason| explained(&config, kind, signal, reason)),
                })
                .collect()
            })
            .join()
            .unwrap_or_default()
    })
}

/// A gRPC failure that is not a refused connection or TLS may be an
/// OTLP/HTTP receiver: h2 then only sees a broken connection. Asking it
/// over HTTP/1.1 tells.
fn explained(config: &Config, kind: ExporterKind, signal: Signal, reason: String) -> String {
    let otlp = match signal {
        Signal::Traces => &config.otlp.traces,
        Signal::Metrics => &config.otlp.metrics,
    };
    if kind != ExporterKind::Otlp
        || otlp.protocol != OtlpProtocol::Grpc
        || reason.contains("connection refused")
        || reason.starts_with("TLS")
    {
        return reason;
    }
    let mut http = config.clone();
    for destination in http.otlp.both_mut() {
        destination.protocol = OtlpProtocol::HttpProtobuf;
    }
    match check_one(&http, kind, signal) {
        Err(answer) if !answer.starts_with("HTTP ") => reason,
        _ => format!(
            "{} answered HTTP/1.1 to gRPC: set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf ({reason})",
            otlp.endpoint_or_default()
        ),
    }
}

const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

fn check_one(config: &Config, kind: ExporterKind, signal: Signal) -> Result<(), String> {
    let Sink::Network { destination, .. } = sink(config, kind, signal)? else {
        return Ok(());
    };
    let deadline = Instant::now() + destination.timeout().min(CHECK_TIMEOUT);
    let resource = Resource {
        attributes: vec![string_attribute("service.name", &config.service_name)],
        ..Default::default()
    };
    let now = clock::unix_nanos(SystemTime::now());
    let delivered = match signal {
        Signal::Traces => {
            let span = Span {
                trace_id: sampling::random_u128().to_be_bytes().to_vec(),
                span_id: sampling::random_u64().to_be_bytes().to_vec(),
                name: "zen.telemetry.check".to_owned(),
                start_time_unix_nano: now,
                end_time_unix_nano: now,
                ..Default::default()
            };
            let request = ExportTraceServiceRequest {
                resource_spans: vec![ResourceSpans {
                    resource: Some(resource),
                    scope_spans: vec![ScopeSpans {
                        spans: vec![span],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            };
            destination.deliver(request, 1, deadline, Undelivered::Drop)
        }
        Signal::Metrics => {
            let point = NumberDataPoint {
                time_unix_nano: now,
                value: Some(number_data_point::Value::AsInt(1)),
                ..Default::default()
            };
            let metric = Metric {
                name: "zen.telemetry.check".to_owned(),
                description: "A point sent by `zen telemetry status --check`.".to_owned(),
                data: Some(metric::Data::Gauge(Gauge {
                    data_points: vec![point],
                })),
                ..Default::default()
            };
            let request = ExportMetricsServiceRequest {
                resource_metrics: vec![ResourceMetrics {
                    resource: Some(resource),
                    scope_metrics: vec![ScopeMetrics {
                        metrics: vec![metric],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            };
            destination.deliver(request, 1, deadline, Undelivered::Drop)
        }
    };
    match delivered {
        Ok(delivered) if delivered.rejected > 0 => Err(format!("{} took the request but rejected it", destination.url)),
        Ok(_) => Ok(()),
        Err(undelivered) => Err(undelivered.reason),
    }
}
