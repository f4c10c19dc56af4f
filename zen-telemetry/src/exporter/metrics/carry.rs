//! Continuing series: this run's cumulative points added to what the slot
//! carried from earlier runs, one series at a time.
//!
//! Only monotonic sums and explicit-bucket histograms with cumulative
//! temporality continue: their values can only grow, so earlier runs' values
//! plus this run's are what one long process would have counted. Gauges,
//! up-down sums, exponential histograms and summaries are this process's own.
//! A carried series this run did not touch is sent again with its carried
//! value: every series, every export.

use std::collections::HashMap;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric::Data,
    number_data_point::Value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

/// One series: its metric (without points) under its scope, and its one point.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Series {
    pub(crate) scope: Option<InstrumentationScope>,
    pub(crate) header: Metric,
    /// The metric's data with exactly one point.
    pub(crate) data: Data,
}

/// Scope, metric name and attributes: what tells one series from another.
type SeriesKey = Vec<u8>;

/// The start times a point can get.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Starts {
    /// Of the carried series: they continue from there.
    pub(crate) carried: u64,
    /// Of this process: for a series whose carried point no longer fits
    /// (its buckets changed), which restarts.
    pub(crate) process: u64,
}

/// The carried series, as the slot held them when it was claimed.
#[derive(Debug, Default)]
pub(crate) struct Base {
    series: Vec<(SeriesKey, Series)>,
    index: HashMap<SeriesKey, usize>,
}

impl Base {
    pub(crate) fn new(carried: &ExportMetricsServiceRequest) -> Base {
        let series: Vec<_> = flatten(carried.clone())
            .into_iter()
            .filter(|(_, series)| continues(&series.data))
            .collect();
        let index = series
            .iter()
            .enumerate()
            .map(|(i, (key, _))| (key.clone(), i))
            .collect();
        Base { series, index }
    }

    /// `current` continued: each continuing series plus its carried value,
    /// then the carried series `current` lacks; every point at `time`.
    pub(crate) fn merge(&self, current: Vec<(SeriesKey, Series)>, starts: Starts, time: u64) -> Vec<Series> {
        let mut touched = vec![false; self.series.len()];
        let mut merged = Vec::with_capacity(current.len() + self.series.len());
        for (key, mut series) in current {
            if continues(&series.data) {
                let carried = self.index.get(&key).map(|&i| {
                    touched[i] = true;
                    &self.series[i].1.data
                });
                let start = match carried {
                    Some(carried) if !add(carried, &mut series.data) => starts.process,
                    _ => starts.carried,
                };
                set_start(&mut series.data, start);
            }
            set_time(&mut series.data, time);
            merged.push(series);
        }
        for ((_, series), touched) in self.series.iter().zip(touched) {
            if !touched {
                let mut series = series.clone();
                set_start(&mut series.data, starts.carried);
                set_time(&mut series.data, time);
                merged.push(series);
            }
        }
        merged
    }
}

/// The series of `request`, one point each, keyed.
pub(crate) fn flatten(request: ExportMetricsServiceRequest) -> Vec<(SeriesKey, Series)> {
    let mut flat = Vec::new();
    for scope_metrics in request.resource_metrics.into_iter().flat_map(|r| r.scope_metrics) {
        let scope = scope_metrics.scope;
        for mut metric in scope_metrics.metrics {
            let Some(data) = metric.data.take() else { continue };
            let header = metric;
            for (data, attributes) in one_point_each(data) {
                let key = series_key(scope.as_ref(), &header.name, &attributes);
                flat.push((
                    key,
                    Series {
                        scope: scope.clone(),
                        header: header.clone(),
                        data,
                    },
                ));
            }
        }
    }
    flat
}

/// What the slot keeps of an export: its continuing series.
pub(crate) fn continued(series: &[Series]) -> ExportMetricsServiceRequest {
    let mut request = ExportMetricsServiceRequest::default();
    let resource = None;
    for one in series.iter().filter(|one| continues(&one.data)) {
        let mut data = one.data.clone();
        // An exemplar belongs to the export it was seen in, not to the next run's.
        match &mut data {
            Data::Sum(sum) => sum.data_points.iter_mut().for_each(|p| p.exemplars.clear()),
            Data::Histogram(histogram) => histogram.data_points.iter_mut().for_each(|p| p.exemplars.clear()),
            _ => {}
        }
        push_point(metric_in(&mut request, &resource, &one.scope, &one.header), data);
    }
    request
}

/// True for the kinds whose cumulative values only grow.
fn continues(data: &Data) -> bool {
    let cumulative = AggregationTemporality::Cumulative as i32;
    match data {
        Data::Sum(sum) => sum.is_monotonic && sum.aggregation_temporality == cumulative,
        Data::Histogram(histogram) => histogram.aggregation_temporality == cumulative,
        _ => false,
    }
}

/// Adds `carried`'s one point to `current`'s; false (and `current` as it
/// was) when they do not fit together.
fn add(carried: &Data, current: &mut Data) -> bool {
    match (carried, current) {
        (Data::Sum(from), Data::Sum(to)) => match (from.data_points.first(), to.data_points.first_mut()) {
            (Some(from), Some(to)) => add_number(from, to),
            _ => false,
        },
        (Data::Histogram(from), Data::Histogram(to)) => match (from.data_points.first(), to.data_points.first_mut()) {
            (Some(from), Some(to)) => add_histogram(from, to),
            _ => false,
        },
        _ => false,
    }
}

fn add_number(from: &NumberDataPoint, to: &mut NumberDataPoint) -> bool {
    match (from.value, &mut to.value) {
        (Some(Value::AsInt(from)), Some(Value::AsInt(to))) => *to = to.saturating_add(from),
        (Some(Value::AsDouble(from)), Some(Value::AsDouble(to))) => *to += from,
        _ => return false,
    }
    true
}

fn add_histogram(from: &HistogramDataPoint, to: &mut HistogramDataPoint) -> bool {
    if from.explicit_bounds != to.explicit_bounds || from.bucket_counts.len() != to.bucket_counts.len() {
        return false;
    }
    to.count = to.count.saturating_add(from.count);
    to.sum = Some(to.sum.unwrap_or_default() + from.sum.unwrap_or_default());
    for (to, from) in to.bucket_counts.iter_mut().zip(&from.bucket_counts) {
        *to = to.saturating_add(*from);
    }
    // A run without calls has no extremes: the carried ones stand.
    to.min = match (to.min, from.min) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    to.max = match (to.max, from.max) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    true
}

/// Each point of `data` alone in a copy of it, with its attributes.
fn one_point_each(data: Data) -> Vec<(Data, Vec<KeyValue>)> {
    macro_rules! split {
        ($variant:ident, $data:ident) => {{
            let points = std::mem::take(&mut $data.data_points);
            points
                .into_iter()
                .map(|point| {
                    let attributes = point.attributes.clone();
                    let mut one = $data.clone();
                    one.data_points.push(point);
                    (Data::$variant(one), attributes)
                })
                .collect()
        }};
    }
    match data {
        Data::Sum(mut sum) => split!(Sum, sum),
        Data::Gauge(mut gauge) => split!(Gauge, gauge),
        Data::Histogram(mut histogram) => split!(Histogram, histogram),
        Data::ExponentialHistogram(mut histogram) => split!(ExponentialHistogram, histogram),
        Data::Summary(mut summary) => split!(Summary, summary),
    }
}

macro_rules! each_point {
    ($data:expr, |$point:ident| $body:expr) => {
        match $data {
            Data::Sum(d) => d.data_points.iter_mut().for_each(|$point| $body),
            Data::Gauge(d) => d.data_points.iter_mut().for_each(|$point| $body),
            Data::Histogram(d) => d.data_points.iter_mut().for_each(|$point| $body),
            Data::ExponentialHistogram(d) => d.data_points.iter_mut().for_each(|$point| $body),
            Data::Summary(d) => d.data_points.iter_mut().for_each(|$point| $body),
        }
    };
}

fn set_time(data: &mut Data, time: u64) {
    each_point!(data, |point| point.time_unix_nano = time);
}

fn set_start(data: &mut Data, start: u64) {
    each_point!(data, |point| point.start_time_unix_nano = start);
}

fn series_key(scope: Option<&InstrumentationScope>, name: &str, attributes: &[KeyValue]) -> SeriesKey {
    let mut key = scope.map(|scope| scope.name.as_bytes().to_vec()).unwrap_or_default();
    key.push(0);
    key.extend_from_slice(name.as_bytes());
    key.push(0);
    for attribute in attributes {
        attribute.encode(&mut key).unwrap_or_default();
    }
    key
}

/// The metric `header` in `request`, under its resource and scope, added
/// (with no points) if it is not there yet.
pub(crate) fn metric_in<'a>(
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
pub(crate) fn push_point(metric: &mut Metric, point: Data) {
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
    use opentelemetry_proto::tonic::metrics::v1::{Gauge, Histogram, Sum};

    use super::*;

    const STARTS: Starts = Starts {
        carried: 100,
        process: 900,
    };

    fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn counter(values: &[(&str, i64)]) -> Metric {
        Metric {
            name: "calls".to_owned(),
            data: Some(Data::Sum(Sum {
                data_points: values
                    .iter()
                    .map(|&(series, value)| NumberDataPoint {
                        attributes: vec![string_attribute("series", series)],
                        value: Some(Value::AsInt(value)),
                        start_time_unix_nano: 900,
                        ..Default::default()
                    })
                    .collect(),
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: true,
            })),
            ..Default::default()
        }
    }

    fn histogram(count: u64, buckets: Vec<u64>, bounds: Vec<f64>) -> Metric {
        Metric {
            name: "duration".to_owned(),
            data: Some(Data::Histogram(Histogram {
                data_points: vec![HistogramDataPoint {
                    count,
                    sum: Some(count as f64),
                    bucket_counts: buckets,
                    explicit_bounds: bounds,
                    min: Some(1.0),
                    max: Some(count as f64),
                    ..Default::default()
                }],
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
            })),
            ..Default::default()
        }
    }

    fn gauge(value: i64) -> Metric {
        Metric {
            name: "queue".to_owned(),
            data: Some(Data::Gauge(Gauge {
                data_points: vec![NumberDataPoint {
                    value: Some(Value::AsInt(value)),
                    ..Default::default()
                }],
            })),
            ..Default::default()
        }
    }

    fn values(series: &[Series]) -> Vec<(String, i64, u64, u64)> {
        series
            .iter()
            .filter_map(|one| match &one.data {
                Data::Sum(sum) => sum.data_points.first().map(|p| (p, &one.header.name)),
                Data::Gauge(gauge) => gauge.data_points.first().map(|p| (p, &one.header.name)),
                _ => None,
            })
            .map(|(point, name)| {
                let series = match point.attributes.first().and_then(|a| a.value.as_ref()) {
                    Some(value) => format!("{name}/{value:?}"),
                    None => name.clone(),
                };
                let value = match point.value {
                    Some(Value::AsInt(value)) => value,
                    _ => -1,
                };
                (series, value, point.start_time_unix_nano, point.time_unix_nano)
            })
            .collect()
    }

    #[test]
    fn a_run_continues_the_carried_sums_and_resends_those_it_did_not_touch() {
        let carried = request(vec![counter(&[("a", 5), ("b", 7)]), gauge(3)]);
        let base = Base::new(&carried);
        let current = flatten(request(vec![counter(&[("a", 2), ("c", 1)]), gauge(9)]));
        let merged = base.merge(current, STARTS, 1_000);
        let got = values(&merged);
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(
            got[0].0.starts_with("calls/") && got[0].1 == 7 && got[0].2 == 100,
            "a: 5 + 2 from the carried start: {got:?}"
        );
        assert_eq!((got[1].1, got[1].2), (1, 100), "c is new, from the carried start");
        assert_eq!((got[2].0.as_str(), got[2].1), ("queue", 9), "a gauge is this run's own");
        assert_eq!((got[3].1, got[3].2), (7, 100), "b, untouched, is sent again");
        assert!(got.iter().all(|g| g.3 == 1_000), "every point at the export's time");
        let kept = flatten(continued(&merged));
        assert_eq!(kept.len(), 3, "the slot keeps the sums, not the gauge");
    }

    #[test]
    fn histograms_add_bucket_by_bucket_and_restart_when_their_buckets_change() {
        let base = Base::new(&request(vec![histogram(3, vec![1, 2, 0], vec![0.1, 1.0])]));
        let merged = base.merge(
            flatten(request(vec![histogram(2, vec![0, 1, 1], vec![0.1, 1.0])])),
            STARTS,
            5,
        );
        let Data::Histogram(h) = &merged[0].data else {
            panic!("a histogram")
        };
        let point = &h.data_points[0];
        assert_eq!((point.count, point.bucket_counts.clone()), (5, vec![1, 3, 1]));
        assert_eq!((point.sum, point.min, point.max), (Some(5.0), Some(1.0), Some(3.0)));
        assert_eq!(point.start_time_unix_nano, 100);
        let rebucketed = base.merge(flatten(request(vec![histogram(2, vec![1, 1], vec![0.5])])), STARTS, 5);
        let Data::Histogram(h) = &rebucketed[0].data else {
            panic!("a histogram")
        };
        assert_eq!(
            (h.data_points[0].count, h.data_points[0].start_time_unix_nano),
            (2, 900),
            "a restart"
        );
    }
}
