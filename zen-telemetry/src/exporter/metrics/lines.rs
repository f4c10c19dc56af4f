//! Local metric export: one JSON object per data point, appended to a file
//! or printed on stdout (`docs/jsonl-format.md` describes the fields).

use std::path::PathBuf;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Exemplar, exemplar, metric::Data, number_data_point,
};
use serde_json::{Map, Value, json};

use crate::exporter::jsonl::{self, JsonLinesFile};

/// Where the lines go.
#[derive(Debug)]
pub(crate) enum Lines {
    /// Appended to a file, opened at the first export.
    File(JsonLinesFile),
    /// Printed on standard output, each prefixed like the span lines.
    Stdout,
}

impl Lines {
    pub(crate) fn file(path: PathBuf) -> Lines {
        Lines::File(JsonLinesFile::new(path))
    }

    pub(crate) fn send(&self, request: &ExportMetricsServiceRequest) -> Result<(), String> {
        let points = point_objects(request);
        match self {
            Lines::File(file) => file.append(&points),
            Lines::Stdout => {
                let mut text = String::new();
                for point in &points {
                    text.push_str("[zen-telemetry] metric ");
                    text.push_str(&point.to_string());
                    text.push('\n');
                }
                jsonl::print(&text)
            }
        }
    }
}

/// One object per data point, carrying its metric, scope and resource.
fn point_objects(request: &ExportMetricsServiceRequest) -> Vec<Value> {
    let mut objects = Vec::new();
    for resource_metrics in &request.resource_metrics {
        let resource = resource_metrics
            .resource
            .as_ref()
            .map(|r| attributes(&r.attributes))
            .unwrap_or_default();
        for scope_metrics in &resource_metrics.scope_metrics {
            let scope = scope_metrics.scope.as_ref().map(|s| s.name.clone()).unwrap_or_default();
            for metric in &scope_metrics.metrics {
                let head = |kind: &str, temporality: Option<i32>| {
                    let mut object = Map::new();
                    object.insert("metric".to_owned(), json!(metric.name));
                    object.insert("kind".to_owned(), json!(kind));
                    object.insert("unit".to_owned(), json!(metric.unit));
                    if let Some(temporality) = temporality {
                        let name = AggregationTemporality::try_from(temporality).map_or("unspecified", |t| match t {
                            AggregationTemporality::Cumulative => "cumulative",
                            AggregationTemporality::Delta => "delta",
                            AggregationTemporality::Unspecified => "unspecified",
                        });
                        object.insert("temporality".to_owned(), json!(name));
                    }
                    object.insert("scope".to_owned(), json!(scope));
                    object.insert("resource".to_owned(), Value::Object(resource.clone()));
                    object
                };
                // Each data kind: its points, each with its own fields added.
                macro_rules! each_point {
                    ($data:expr, $kind:literal, $temporality:expr, |$object:ident, $point:ident| $fields:block) => {
                        for $point in &$data.data_points {
                            let mut $object = head($kind, $temporality);
                            $fields
                            $object.insert("attributes".to_owned(), Value::Object(attributes(&$point.attributes)));
                            $object.insert("start_time_unix_nano".to_owned(), json!($point.start_time_unix_nano));
                            $object.insert("time_unix_nano".to_owned(), json!($point.time_unix_nano));
                            objects.push(Value::Object($object));
                        }
                    };
                }
                match &metric.data {
                    Some(Data::Sum(sum)) => {
                        each_point!(sum, "sum", Some(sum.aggregation_temporality), |object, point| {
                            object.insert("monotonic".to_owned(), json!(sum.is_monotonic));
                            object.insert("value".to_owned(), number(point.value));
                        })
                    }
                    Some(Data::Gauge(gauge)) => each_point!(gauge, "gauge", None, |object, point| {
                        object.insert("value".to_owned(), number(point.value));
                    }),
                    Some(Data::Histogram(histogram)) => {
                        each_point!(
                            histogram,
                            "histogram",
                            Some(histogram.aggregation_temporality),
                            |object, point| {
                                object.insert("count".to_owned(), json!(point.count));
                                object.insert("sum".to_owned(), json!(point.sum));
                                object.insert("bucket_counts".to_owned(), json!(point.bucket_counts));
                                object.insert("explicit_bounds".to_owned(), json!(point.explicit_bounds));
                                if !point.exemplars.is_empty() {
                                    object.insert("exemplars".to_owned(), exemplars(&point.exemplars));
                                }
                            }
                        )
                    }
                    Some(Data::ExponentialHistogram(histogram)) => each_point!(
                        histogram,
                        "exponential_histogram",
                        Some(histogram.aggregation_temporality),
                        |object, point| {
                            object.insert("count".to_owned(), json!(point.count));
                            object.insert("sum".to_owned(), json!(point.sum));
                            object.insert("scale".to_owned(), json!(point.scale));
                        }
                    ),
                    Some(Data::Summary(summary)) => each_point!(summary, "summary", None, |object, point| {
                        object.insert("count".to_owned(), json!(point.count));
                        object.insert("sum".to_owned(), json!(point.sum));
                    }),
                    None => {}
                }
            }
        }
    }
    objects
}

fn exemplars(exemplars: &[Exemplar]) -> Value {
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    exemplars
        .iter()
        .map(|e| {
            let value = match e.value {
                Some(exemplar::Value::AsDouble(x)) => json!(x),
                Some(exemplar::Value::AsInt(n)) => json!(n),
                None => Value::Null,
            };
            json!({
                "trace_id": hex(&e.trace_id),
                "span_id": hex(&e.span_id),
                "value": value,
                "time_unix_nano": e.time_unix_nano,
            })
        })
        .collect()
}

fn number(value: Option<number_data_point::Value>) -> Value {
    match value {
        Some(number_data_point::Value::AsInt(n)) => json!(n),
        Some(number_data_point::Value::AsDouble(x)) => json!(x),
        None => Value::Null,
    }
}

fn attributes(list: &[KeyValue]) -> Map<String, Value> {
    list.iter()
        .map(|kv| (kv.key.clone(), kv.value.as_ref().map_or(Value::Null, any_value_json)))
        .collect()
}

fn any_value_json(value: &AnyValue) -> Value {
    match &value.value {
        Some(any_value::Value::StringValue(s)) => json!(s),
        Some(any_value::Value::BoolValue(b)) => json!(b),
        Some(any_value::Value::IntValue(i)) => json!(i),
        Some(any_value::Value::DoubleValue(d)) => json!(d),
        Some(any_value::Value::ArrayValue(array)) => Value::Array(array.values.iter().map(any_value_json).collect()),
        Some(other) => json!(format!("{other:?}")),
        None => Value::Null,
    }
}
