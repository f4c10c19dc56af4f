//! An export's points: the SDK instruments' collection plus every traced
//! function's counts, with the series that did not change since the last
//! delivered export left out, cut into requests of at most
//! [`MAX_POINTS_PER_REQUEST`] points.

use std::collections::HashMap;
use std::time::SystemTime;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    metric::Data, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_sdk::metrics::data::ResourceMetrics as SdkResourceMetrics;
use prost::Message;

use crate::calls::objective::{OBJECTIVE_LATENCY_ATTRIBUTE, OBJECTIVE_SUCCESS_ATTRIBUTE};
use crate::calls::{
    self, BUCKET_BOUNDS_SECONDS, CALLS_METRIC, CallResult, DURATION_METRIC, FUNCTION_ATTRIBUTE, MODULE_ATTRIBUTE,
    RESULT_ATTRIBUTE,
};
use crate::clock::unix_nanos;

/// Google's Telemetry API takes at most this many points in one request.
pub(crate) const MAX_POINTS_PER_REQUEST: usize = 200;

/// A series: its metric's name and its encoded attributes.
pub(crate) type SeriesKey = Vec<u8>;

/// What an export sends: requests, each with the series it delivers.
pub(crate) struct Batch {
    pub(crate) request: ExportMetricsServiceRequest,
    /// The series in `request`, one per point, for [`Points::delivered`].
    pub(crate) series: Vec<(SeriesKey, u64)>,
}

/// Builds each export's requests and remembers what was delivered.
pub(crate) struct Points {
    resource: Resource,
    scope: InstrumentationScope,
    /// When counting began: every cumulative series starts here.
    start_time_unix_nano: u64,
    /// Each delivered series' last value, as a fingerprint.
    delivered: HashMap<SeriesKey, u64>,
}

impl Points {
    pub(crate) fn new(resource: &opentelemetry_sdk::Resource) -> Points {
        Points {
            resource: resource.into(),
            scope: InstrumentationScope {
                name: "zen-telemetry".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                ..Default::default()
            },
            start_time_unix_nano: unix_nanos(SystemTime::now()),
            delivered: HashMap::new(),
        }
    }

    /// This export's requests: `sdk`'s metrics and the traced functions',
    /// changed series only, at most `max_points` points each.
    pub(crate) fn batches(&self, sdk: &SdkResourceMetrics, max_points: usize) -> Vec<Batch> {
        let mut request = ExportMetricsServiceRequest::from(sdk);
        let functions = self.function_metrics(unix_nanos(SystemTime::now()));
        if !functions.is_empty() {
            let scope = ScopeMetrics {
                scope: Some(self.scope.clone()),
                metrics: functions,
                schema_url: String::new(),
            };
            match request.resource_metrics.first_mut() {
                Some(resource_metrics) => resource_metrics.scope_metrics.push(scope),
                None => request.resource_metrics.push(ResourceMetrics {
                    resource: Some(self.resource.clone()),
                    scope_metrics: vec![scope],
                    schema_url: String::new(),
                }),
            }
        }
        self.split(request, max_points.max(1))
    }

    /// Marks a batch's series as delivered, so they are left out until they change.
    pub(crate) fn delivered(&mut self, series: Vec<(SeriesKey, u64)>) {
        self.delivered.extend(series);
    }

    fn function_metrics(&self, now: u64) -> Vec<Metric> {
        let mut calls = Vec::new();
        let mut durations = Vec::new();
        for site in calls::sites() {
            let counts = site.counts();
            let attributes = || {
                vec![
                    string_attribute(FUNCTION_ATTRIBUTE, site.name),
                    string_attribute(MODULE_ATTRIBUTE, site.module),
                ]
            };
            for result in CallResult::ALL {
                let count = counts.calls(result);
                if count == 0 {
                    continue;
                }
                let mut attributes = attributes();
                attributes.push(string_attribute(RESULT_ATTRIBUTE, result.as_str()));
                if let Some(objective) = site.objective.success_label() {
                    attributes.push(string_attribute(OBJECTIVE_SUCCESS_ATTRIBUTE, objective));
                }
                calls.push(NumberDataPoint {
                    attributes,
                    start_time_unix_nano: self.start_time_unix_nano,
                    time_unix_nano: now,
                    value: Some(number_data_point::Value::AsInt(
                        i64::try_from(count).unwrap_or(i64::MAX),
                    )),
                    ..Default::default()
                });
            }
            let mut duration_attributes = attributes();
            if let Some(objective) = site.objective.latency_label() {
                duration_attributes.push(string_attribute(OBJECTIVE_LATENCY_ATTRIBUTE, objective));
            }
            durations.push(HistogramDataPoint {
                attributes: duration_attributes,
                start_time_unix_nano: self.start_time_unix_nano,
                time_unix_nano: now,
                count: counts.total(),
                sum: Some(counts.sum_ns as f64 / 1e9),
                bucket_counts: counts.buckets.to_vec(),
                explicit_bounds: BUCKET_BOUNDS_SECONDS.to_vec(),
                ..Default::default()
            });
        }
        if calls.is_empty() {
            return Vec::new();
        }
        let cumulative = AggregationTemporality::Cumulative as i32;
        vec![
            Metric {
                name: CALLS_METRIC.to_owned(),
                description: "Calls of traced functions, by result".to_owned(),
                data: Some(Data::Sum(Sum {
                    data_points: calls,
                    aggregation_temporality: cumulative,
                    is_monotonic: true,
                })),
                ..Default::default()
            },
            Metric {
                name: DURATION_METRIC.to_owned(),
                description: "Durations of traced function calls".to_owned(),
                unit: "s".to_owned(),
                data: Some(Data::Histogram(Histogram {
                    data_points: durations,
                    aggregation_temporality: cumulative,
                })),
                ..Default::default()
            },
        ]
    }

    /// Cuts `request` into batches of changed series, `max_points` at most each.
    fn split(&self, request: ExportMetricsServiceRequest, max_points: usize) -> Vec<Batch> {
        let mut batches: Vec<Batch> = Vec::new();
        for resource_metrics in request.resource_metrics {
            for scope_metrics in resource_metrics.scope_metrics {
                for metric in scope_metrics.metrics {
                    let Some(data) = metric.data.clone() else { continue };
                    let header = Metric { data: None, ..metric };
                    for (point, key, fingerprint) in self.changed_points(&header.name, data) {
                        let full = batches.last().is_none_or(|batch| batch.series.len() >= max_points);
                        if full {
                            batches.push(Batch {
                                request: ExportMetricsServiceRequest::default(),
                                series: Vec::new(),
                            });
                        }
                        let Some(batch) = batches.last_mut() else { continue };
                        let metric = metric_in(
                            &mut batch.request,
                            &resource_metrics.resource,
                            &scope_metrics.scope,
                            &header,
                        );
                        push_point(metric, point);
                        batch.series.push((key, fingerprint));
                    }
                }
            }
        }
        batches
    }

    /// The points of `data` whose value differs from the one last delivered,
    /// each as a one-point `Data` with its series key and fingerprint.
    fn changed_points(&self, name: &str, data: Data) -> Vec<(Data, SeriesKey, u64)> {
        let keyed = |attributes: &[KeyValue], fingerprint: u64| {
            let key = series_key(name, attributes);
            (self.delivered.get(&key) != Some(&fingerprint)).then_some((key, fingerprint))
        };
        let mut changed = Vec::new();
        // Each arm: take the points out, then keep each changed one in a copy
        // of the (now empty) data, so a point keeps its temporality.
        macro_rules! split_points {
            ($variant:ident, $data:ident, $fingerprint:expr) => {{
                let points = std::mem::take(&mut $data.data_points);
                for point in points {
                    let fingerprint: u64 = $fingerprint(&point);
                    if let Some((key, fingerprint)) = keyed(&point.attributes, fingerprint) {
                        let mut one = $data.clone();
                        one.data_points.push(point);
                        changed.push((Data::$variant(one), key, fingerprint));
                    }
                }
            }};
        }
        match data {
            Data::Sum(mut sum) => split_points!(Sum, sum, number_fingerprint),
            Data::Gauge(mut gauge) => split_points!(Gauge, gauge, number_fingerprint),
            Data::Histogram(mut histogram) => split_points!(Histogram, histogram, |p: &HistogramDataPoint| {
                count_sum_fingerprint(p.count, p.sum.unwrap_or_default())
            }),
            Data::ExponentialHistogram(mut histogram) => split_points!(
                ExponentialHistogram,
                histogram,
                |p: &opentelemetry_proto::tonic::metrics::v1::ExponentialHistogramDataPoint| {
                    count_sum_fingerprint(p.count, p.sum.unwrap_or_default())
                }
            ),
            Data::Summary(mut summary) => split_points!(
                Summary,
                summary,
                |p: &opentelemetry_proto::tonic::metrics::v1::SummaryDataPoint| count_sum_fingerprint(p.count, p.sum)
            ),
        }
        changed
    }
}

fn count_sum_fingerprint(count: u64, sum: f64) -> u64 {
    count ^ sum.to_bits().rotate_left(32)
}

fn number_fingerprint(point: &NumberDataPoint) -> u64 {
    match point.value {
        Some(number_data_point::Value::AsInt(value)) => value as u64,
        Some(number_data_point::Value::AsDouble(value)) => value.to_bits(),
        None => 0,
    }
}

fn series_key(name: &str, attributes: &[KeyValue]) -> SeriesKey {
    let mut key = name.as_bytes().to_vec();
    key.push(0);
    for attribute in attributes {
        attribute.encode(&mut key).unwrap_or_default();
    }
    key
}

/// The metric `header` in `request`, under its resource and scope, added
/// (with no points) if it is not there yet.
fn metric_in<'a>(
    request: &'a mut ExportMetricsServiceRequest,
    resource: &Option<Resource>,
    scope: &Option<InstrumentationScope>,
    header: &Metric,
) -> &'a mut Metric {
    let resource_index = match request.resource_metrics.iter().position(|r| &r.resource == resource) {
        Some(index) => index,
        None => {
            request.resource_metrics.push(ResourceMetrics {
                resource: resource.clone(),
                ..Default::default()
            });
            request.resource_metrics.len() - 1
        }
    };
    let scopes = &mut request.resource_metrics[resource_index].scope_metrics;
    let scope_index = match scopes.iter().position(|s| &s.scope == scope) {
        Some(index) => index,
        None => {
            scopes.push(ScopeMetrics {
                scope: scope.clone(),
                ..Default::default()
            });
            scopes.len() - 1
        }
    };
    let metrics = &mut scopes[scope_index].metrics;
    let metric_index = match metrics.iter().position(|m| m.name == header.name) {
        Some(index) => index,
        None => {
            metrics.push(header.clone());
            metrics.len() - 1
        }
    };
    &mut metrics[metric_index]
}

/// Adds a one-point `Data` to `metric`.
fn push_point(metric: &mut Metric, point: Data) {
    match (&mut metric.data, point) {
        (Some(Data::Sum(to)), Data::Sum(from)) => to.data_points.extend(from.data_points),
        (Some(Data::Gauge(to)), Data::Gauge(from)) => to.data_points.extend(from.data_points),
        (Some(Data::Histogram(to)), Data::Histogram(from)) => to.data_points.extend(from.data_points),
        (Some(Data::ExponentialHistogram(to)), Data::ExponentialHistogram(from)) => {
            to.data_points.extend(from.data_points)
        }
        (Some(Data::Summary(to)), Data::Summary(from)) => to.data_points.extend(from.data_points),
        (slot, point) => *slot = Some(point),
    }
}

/// An OTLP string attribute.
pub(crate) fn string_attribute(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_with(values: &[i64]) -> ExportMetricsServiceRequest {
        let data_points = values
            .iter()
            .enumerate()
            .map(|(series, &value)| NumberDataPoint {
                attributes: vec![string_attribute("series", &series.to_string())],
                value: Some(number_data_point::Value::AsInt(value)),
                ..Default::default()
            })
            .collect();
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![Metric {
                        name: "orders".to_owned(),
                        data: Some(Data::Sum(Sum {
                            data_points,
                            aggregation_temporality: AggregationTemporality::Cumulative as i32,
                            is_monotonic: true,
                        })),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn requests_hold_at_most_the_limit_and_only_undelivered_changes() {
        let mut points = Points::new(&opentelemetry_sdk::Resource::builder_empty().build());
        let values: Vec<i64> = (0..450).collect();
        let batches = points.split(request_with(&values), MAX_POINTS_PER_REQUEST);
        let sizes: Vec<usize> = batches.iter().map(|b| b.series.len()).collect();
        assert_eq!(sizes, [200, 200, 50]);
        for batch in batches.into_iter().take(2) {
            points.delivered(batch.series);
        }
        // The third request failed: its 50 series go again; the delivered stay out.
        let again = points.split(request_with(&values), MAX_POINTS_PER_REQUEST);
        assert_eq!(again.iter().map(|b| b.series.len()).collect::<Vec<_>>(), [50]);
        // One delivered series changed.
        let mut changed = values.clone();
        changed[3] += 1;
        let batches = points.split(request_with(&changed), MAX_POINTS_PER_REQUEST);
        assert_eq!(batches.iter().map(|b| b.series.len()).sum::<usize>(), 51);
        let Some(Data::Sum(sum)) = &batches[0].request.resource_metrics[0].scope_metrics[0].metrics[0].data else {
            panic!("a sum");
        };
        assert!(sum.is_monotonic, "a point keeps its metric's kind");
    }
}
