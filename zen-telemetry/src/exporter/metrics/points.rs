//! An export's points: the SDK instruments' collection plus every traced
//! function's counts, continued from what earlier runs left in the slot
//! (`carry.rs`), every series every time, cut into requests of at most
//! [`MAX_POINTS_PER_REQUEST`] points.

use std::time::SystemTime;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Exemplar as OtlpExemplar, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, exemplar, metric::Data, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_sdk::metrics::data::ResourceMetrics as SdkResourceMetrics;

pub(crate) use super::carry::string_attribute;
use super::carry::{self, Series, metric_in, push_point};
use super::slot::{Carried, Slot};
use crate::calls::objective::{OBJECTIVE_LATENCY_ATTRIBUTE, OBJECTIVE_SUCCESS_ATTRIBUTE};
use crate::calls::{
    self, BUCKET_BOUNDS_SECONDS, CALLS_METRIC, CallResult, DURATION_METRIC, FUNCTION_ATTRIBUTE, MODULE_ATTRIBUTE,
    RESULT_ATTRIBUTE,
};
use crate::clock::unix_nanos;
use crate::diag;

/// Google's Telemetry API takes at most this many points in one request.
pub(crate) const MAX_POINTS_PER_REQUEST: usize = 200;

/// The resource attribute that tells one process's (or slot's) series from another's.
const INSTANCE_ATTRIBUTE: &str = "service.instance.id";

/// One export: its requests, each with its number of points.
pub(crate) struct Export {
    pub(crate) requests: Vec<(ExportMetricsServiceRequest, u64)>,
}

/// Builds each export's requests, continuing the carried series.
pub(crate) struct Points {
    resource: Resource,
    scope: InstrumentationScope,
    /// When this process began counting: the start of series that cannot continue.
    process_start_unix_nano: u64,
    carried: Carried,
    /// The carried points, one series each, as the slot held them at claim.
    base: carry::Base,
    /// Where `carried` is kept; `None`: series of this process only.
    slot: Option<Slot>,
    /// The last export's time: a bucket's exemplar is a call since then.
    exemplars_after: u64,
}

impl Points {
    /// Points under `resource`, series of this process until
    /// [`continue_from`](Self::continue_from) says otherwise.
    pub(crate) fn new(resource: &opentelemetry_sdk::Resource) -> Points {
        let process_start_unix_nano = unix_nanos(SystemTime::now());
        let resource: Resource = resource.into();
        let mut carried = Carried::fresh(process_start_unix_nano);
        if let Some(own) = resource
            .attributes
            .iter()
            .find(|a| a.key == INSTANCE_ATTRIBUTE)
            .and_then(|a| a.value.as_ref())
            .and_then(|v| match &v.value {
                Some(any_value::Value::StringValue(id)) => Some(id.clone()),
                _ => None,
            })
        {
            carried.instance_id = own;
        }
        Points {
            base: carry::Base::default(),
            resource,
            scope: InstrumentationScope {
                name: "zen-telemetry".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                ..Default::default()
            },
            process_start_unix_nano,
            carried,
            slot: None,
            exemplars_after: 0,
        }
    }

    /// From now on the series are `carried`'s, kept in `slot`.
    pub(crate) fn continue_from(&mut self, slot: Slot, carried: Carried) {
        self.resource.attributes.retain(|a| a.key != INSTANCE_ATTRIBUTE);
        self.resource
            .attributes
            .push(string_attribute(INSTANCE_ATTRIBUTE, &carried.instance_id));
        self.base = carry::Base::new(&carried.points);
        self.carried = carried;
        self.slot = Some(slot);
    }

    /// True when the series continue from run to run.
    pub(crate) fn continues(&self) -> bool {
        self.slot.is_some()
    }

    /// When a point of these series was last sent, in this run or an earlier one.
    pub(crate) fn sent_unix_nano(&self) -> u64 {
        self.carried.sent_unix_nano
    }

    /// This export: `sdk`'s metrics and the traced functions', added to the
    /// carried values, every series, at most `max_points` points a request.
    /// The slot is updated first, as if they will be sent (`sending`), so no
    /// backend ever sees more than the slot holds.
    pub(crate) fn export(&mut self, sdk: &SdkResourceMetrics, max_points: usize, sending: bool) -> Export {
        let now = unix_nanos(SystemTime::now());
        // Strictly after the last point sent: a backend drops an older one.
        let time = now.max(self.carried.sent_unix_nano.saturating_add(1_000_000));
        let mut current = ExportMetricsServiceRequest::from(sdk);
        let functions = self.function_metrics();
        self.exemplars_after = now;
        if !functions.is_empty() {
            current.resource_metrics.push(ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(self.scope.clone()),
                    metrics: functions,
                    schema_url: String::new(),
                }],
                ..Default::default()
            });
        }
        let starts = carry::Starts {
            carried: self.carried.start_unix_nano,
            process: self.process_start_unix_nano,
        };
        let series = self.base.merge(carry::flatten(current), starts, time);
        if sending {
            self.carried.sent_unix_nano = time;
        }
        if let Some(slot) = &self.slot {
            self.carried.points = carry::continued(&series);
            if let Err(error) = slot.save(&self.carried) {
                diag::debug_line(|| format!("saving the metric slot: {error}"));
            }
        }
        Export {
            requests: self.requests(series, max_points.max(1)),
        }
    }

    fn requests(&self, series: Vec<Series>, max_points: usize) -> Vec<(ExportMetricsServiceRequest, u64)> {
        let mut requests: Vec<(ExportMetricsServiceRequest, u64)> = Vec::new();
        let resource = Some(self.resource.clone());
        for one in series {
            if requests.last().is_none_or(|(_, points)| *points >= max_points as u64) {
                requests.push((ExportMetricsServiceRequest::default(), 0));
            }
            let Some((request, points)) = requests.last_mut() else {
                continue;
            };
            push_point(metric_in(request, &resource, &one.scope, &one.header), one.data);
            *points += 1;
        }
        requests
    }

    fn function_metrics(&self) -> Vec<Metric> {
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
                count: counts.total(),
                sum: Some(counts.sum_ns as f64 / 1e9),
                bucket_counts: counts.buckets.to_vec(),
                explicit_bounds: BUCKET_BOUNDS_SECONDS.to_vec(),
                exemplars: site
                    .exemplars()
                    .into_iter()
                    .flatten()
                    .filter(|exemplar| exemplar.time_unix_nano > self.exemplars_after)
                    .map(|exemplar| OtlpExemplar {
                        time_unix_nano: exemplar.time_unix_nano,
                        span_id: exemplar.span_id.to_be_bytes().to_vec(),
                        trace_id: exemplar.trace_id.to_be_bytes().to_vec(),
                        value: Some(exemplar::Value::AsDouble(exemplar.nanos as f64 / 1e9)),
                        ..Default::default()
                    })
                    .collect(),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter_series(n: usize) -> Vec<Series> {
        (0..n)
            .map(|i| Series {
                scope: None,
                header: Metric {
                    name: "orders".to_owned(),
                    ..Default::default()
                },
                data: Data::Sum(Sum {
                    data_points: vec![NumberDataPoint {
                        attributes: vec![string_attribute("shard", &i.to_string())],
                        value: Some(number_data_point::Value::AsInt(1)),
                        ..Default::default()
                    }],
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                    is_monotonic: true,
                }),
            })
            .collect()
    }

    #[test]
    fn requests_hold_at_most_the_limit_under_the_slot_s_identity() {
        let resource = opentelemetry_sdk::Resource::builder_empty()
            .with_attribute(opentelemetry::KeyValue::new(INSTANCE_ATTRIBUTE, "per-process"))
            .build();
        let mut carried = Carried::fresh(1);
        carried.instance_id = "from-the-slot".to_owned();
        let root = tempfile::tempdir().expect("a temporary directory");
        let (slot, _) = Slot::claim(root.path(), "svc", 1).expect("claim").expect("a free slot");
        let mut points = Points::new(&resource);
        points.continue_from(slot, carried);
        let requests = points.requests(counter_series(450), MAX_POINTS_PER_REQUEST);
        let sizes: Vec<u64> = requests.iter().map(|(_, points)| *points).collect();
        assert_eq!(sizes, [200, 200, 50]);
        for (request, _) in &requests {
            let resource = request.resource_metrics[0].resource.as_ref().expect("a resource");
            let ids: Vec<_> = resource
                .attributes
                .iter()
                .filter(|a| a.key == INSTANCE_ATTRIBUTE)
                .collect();
            assert_eq!(ids.len(), 1);
            assert_eq!(ids[0].value, string_attribute("", "from-the-slot").value);
            let Some(Data::Sum(sum)) = &request.resource_metrics[0].scope_metrics[0].metrics[0].data else {
                panic!("a sum");
            };
            assert!(sum.is_monotonic, "a point keeps its metric's kind");
        }
    }
}
