//! The PromQL that the dashboard, the alert policies and the rules file
//! share. Every metric and label name comes from the constants the exporters
//! themselves use (`zen_telemetry`'s and [`usage_metrics`]'), so a renamed
//! metric cannot leave a stale query behind.

use zen_telemetry::{
    CALLS_METRIC, CallResult, DURATION_METRIC, FUNCTION_ATTRIBUTE, LATENCY_OBJECTIVES_MS, MODULE_ATTRIBUTE,
    OBJECTIVE_LATENCY_ATTRIBUTE, OBJECTIVE_SUCCESS_ATTRIBUTE, RESULT_ATTRIBUTE, SUCCESS_OBJECTIVES,
};

use super::objectives;
use crate::usage_metrics;

/// The label every series gets from the resource's `service.name`, in Cloud
/// Monitoring (Managed Service for Prometheus) and in Prometheus' OTLP receiver.
pub const SERVICE_LABEL: &str = "job";
/// The label of a histogram's bucket series: its upper bound in seconds.
pub const BUCKET_LABEL: &str = "le";

/// How the backend names OTLP metrics in PromQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The names as sent, as Cloud Monitoring keeps them for points that come
    /// through the Telemetry API: a name with dots is quoted
    /// (`{"function.calls"}`) and a histogram's buckets are `<name>_bucket`
    /// (<https://cloud.google.com/stackdriver/docs/otlp-metrics/overview>,
    /// <https://cloud.google.com/monitoring/promql>).
    Otlp,
    /// Prometheus' OTLP receiver with its default translation
    /// (`UnderscoreEscapingWithSuffixes`), and the collector's
    /// `googlemanagedprometheus` exporter: dots become underscores, the unit
    /// and `_total` are appended (`function_calls_total`).
    Prometheus,
}

/// What kind of OTLP instrument a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A monotonic cumulative sum.
    Counter,
    /// An explicit-bucket histogram; queries read its buckets.
    Histogram,
}

/// One exported metric, as its exporter names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// The OTLP name.
    pub name: &'static str,
    /// Counter or histogram.
    pub kind: Kind,
    /// The OTLP unit (`""` for a plain count).
    pub unit: &'static str,
    /// The point attributes, which become labels.
    pub labels: &'static [&'static str],
}

/// `function.calls`, by function, module and result (and the success
/// objective a function declares).
pub const FUNCTION_CALLS: Metric = Metric {
    name: CALLS_METRIC,
    kind: Kind::Counter,
    unit: "",
    labels: &[
        FUNCTION_ATTRIBUTE,
        MODULE_ATTRIBUTE,
        RESULT_ATTRIBUTE,
        OBJECTIVE_SUCCESS_ATTRIBUTE,
    ],
};
/// `function.calls.duration`, in seconds, by function and module (and the
/// latency objective a function declares).
pub const FUNCTION_DURATION: Metric = Metric {
    name: DURATION_METRIC,
    kind: Kind::Histogram,
    unit: "s",
    labels: &[FUNCTION_ATTRIBUTE, MODULE_ATTRIBUTE, OBJECTIVE_LATENCY_ATTRIBUTE],
};
/// zen's `zen.runs`.
pub const ZEN_RUNS: Metric = Metric {
    name: usage_metrics::RUNS,
    kind: Kind::Counter,
    unit: "",
    labels: &[usage_metrics::OUTCOME_ATTRIBUTE],
};
/// zen's `zen.instances`.
pub const ZEN_INSTANCES: Metric = Metric {
    name: usage_metrics::INSTANCES,
    kind: Kind::Counter,
    unit: "",
    labels: &[usage_metrics::STATUS_ATTRIBUTE, usage_metrics::KIND_ATTRIBUTE],
};
/// zen's `zen.tokens`.
pub const ZEN_TOKENS: Metric = Metric {
    name: usage_metrics::TOKENS,
    kind: Kind::Counter,
    unit: "",
    labels: &[usage_metrics::KIND_ATTRIBUTE],
};
/// zen's `zen.cost`, in USD.
pub const ZEN_COST: Metric = Metric {
    name: usage_metrics::COST,
    kind: Kind::Counter,
    unit: usage_metrics::COST_UNIT,
    labels: &[],
};

/// Every metric a query may read.
pub const METRICS: [Metric; 6] = [
    FUNCTION_CALLS,
    FUNCTION_DURATION,
    ZEN_RUNS,
    ZEN_INSTANCES,
    ZEN_TOKENS,
    ZEN_COST,
];

impl Dialect {
    /// The series name a query selects: the counter itself, or a histogram's buckets.
    pub fn series_name(self, metric: &Metric) -> String {
        let base = match self {
            Dialect::Otlp => metric.name.to_owned(),
            Dialect::Prometheus => {
                let mut name = metric
                    .name
                    .replace(|c: char| !c.is_ascii_alphanumeric() && c != ':', "_");
                match metric.unit {
                    "" | "1" => {}
                    "s" => name.push_str("_seconds"),
                    unit => {
                        name.push('_');
                        name.push_str(unit);
                    }
                }
                if metric.kind == Kind::Counter {
                    name.push_str("_total");
                }
                name
            }
        };
        match metric.kind {
            Kind::Counter => base,
            Kind::Histogram => format!("{base}_bucket"),
        }
    }

    /// The labels a series of `metric` carries.
    pub fn series_labels(self, metric: &Metric) -> Vec<&'static str> {
        let mut labels = metric.labels.to_vec();
        labels.push(SERVICE_LABEL);
        if metric.kind == Kind::Histogram {
            labels.push(BUCKET_LABEL);
        }
        labels
    }
}

/// A duration in PromQL's notation: `5m`, `1h`, `3d`, `1w`.
pub type Window = &'static str;

/// Queries over one service's series.
#[derive(Debug, Clone)]
pub struct Queries {
    dialect: Dialect,
    service: String,
}

impl Queries {
    /// Queries for the series whose `job` is `service`.
    pub fn new(dialect: Dialect, service: &str) -> Queries {
        Queries {
            dialect,
            service: service.to_owned(),
        }
    }

    /// `metric`'s series of this service, with extra matchers: `(label, "="
    /// or "=~", value)`.
    fn select(&self, metric: &Metric, extra: &[(&str, &str, String)]) -> String {
        let name = self.dialect.series_name(metric);
        let mut matchers = vec![format!("{SERVICE_LABEL}={}", quote(&self.service))];
        matchers.extend(
            extra
                .iter()
                .map(|(label, op, value)| format!("{label}{op}{}", quote(value))),
        );
        if is_plain_name(&name) {
            format!("{name}{{{}}}", matchers.join(", "))
        } else {
            format!("{{{}, {}}}", quote(&name), matchers.join(", "))
        }
    }

    /// Calls per second of each function over `window`, optionally a week ago.
    pub fn call_rate(&self, window: Window, offset: Option<Window>) -> String {
        let calls = self.select(&FUNCTION_CALLS, &[]);
        format!(
            "sum by ({FUNCTION_ATTRIBUTE}) (rate({calls}[{window}]{}))",
            offset_clause(offset)
        )
    }

    /// Failed calls (errors and panics) per second of each function.
    pub fn failure_rate(&self, window: Window) -> String {
        let failed = [CallResult::Error, CallResult::Panic].map(CallResult::as_str).join("|");
        let calls = self.select(&FUNCTION_CALLS, &[(RESULT_ATTRIBUTE, "=~", failed)]);
        format!("sum by ({FUNCTION_ATTRIBUTE}) (rate({calls}[{window}]))")
    }

    /// The fraction of each function's calls that failed over `window`.
    pub fn error_ratio(&self, window: Window) -> String {
        format!("({}) / ({})", self.failure_rate(window), self.call_rate(window, None))
    }

    /// Failed calls of each function over `window`, the most first.
    pub fn top_failures(&self, count: usize, window: Window) -> String {
        let failed = [CallResult::Error, CallResult::Panic].map(CallResult::as_str).join("|");
        let calls = self.select(&FUNCTION_CALLS, &[(RESULT_ATTRIBUTE, "=~", failed)]);
        format!("topk({count}, sum by ({FUNCTION_ATTRIBUTE}) (increase({calls}[{window}])))")
    }

    /// Each function's `quantile` latency in seconds over `window`.
    pub fn latency(&self, quantile: f64, window: Window, offset: Option<Window>) -> String {
        let buckets = self.select(&FUNCTION_DURATION, &[]);
        format!(
            "histogram_quantile({quantile}, sum by ({FUNCTION_ATTRIBUTE}, {BUCKET_LABEL}) (rate({buckets}[{window}]{})))",
            offset_clause(offset)
        )
    }

    /// The functions with at least `min_per_hour` calls per hour over `window`.
    pub fn busy(&self, window: Window, offset: Option<Window>, min_per_hour: f64) -> String {
        format!("{} * 3600 >= {min_per_hour}", self.call_rate(window, offset))
    }

    /// Each function's error budget (a fraction), for the functions called
    /// within `window`: the one its `objective_success` label declares, else
    /// `default_budget`. PromQL cannot read a number from a label, so each
    /// allowed objective is one arm: a zero vector of its functions plus its
    /// budget (`label=""` selects the series without the label).
    pub fn error_budget(&self, window: Window, default_budget: f64) -> String {
        let arms = SUCCESS_OBJECTIVES
            .iter()
            .map(|(percent, label)| (*label, objectives::error_budget(*percent)))
            .chain([("", default_budget)]);
        self.per_function_constant(&FUNCTION_CALLS, OBJECTIVE_SUCCESS_ATTRIBUTE, arms, window)
    }

    /// Each function's latency objective in seconds, for the functions called
    /// within `window`: its `objective_latency_ms` label's, else `default_seconds`.
    pub fn latency_objective(&self, window: Window, default_seconds: f64) -> String {
        let arms = LATENCY_OBJECTIVES_MS
            .iter()
            .map(|(ms, label)| (*label, objectives::seconds(*ms)))
            .chain([("", default_seconds)]);
        self.per_function_constant(&FUNCTION_DURATION, OBJECTIVE_LATENCY_ATTRIBUTE, arms, window)
    }

    fn per_function_constant<'a>(
        &self,
        metric: &Metric,
        label: &str,
        arms: impl Iterator<Item = (&'a str, f64)>,
        window: Window,
    ) -> String {
        let arms: Vec<String> = arms
            .map(|(value, constant)| {
                let series = self.select(metric, &[(label, "=", value.to_owned())]);
                format!("(0 * max by ({FUNCTION_ATTRIBUTE}) (count_over_time({series}[{window}])) + {constant})")
            })
            .collect();
        format!("({})", arms.join(" or "))
    }

    /// A zen usage metric's increase over `window`, summed by `by` (or in total).
    pub fn usage_increase(&self, metric: &Metric, by: Option<&str>, window: Window) -> String {
        let series = self.select(metric, &[]);
        let by = by.map(|label| format!(" by ({label})")).unwrap_or_default();
        format!("sum{by} (increase({series}[{window}]))")
    }
}

fn offset_clause(offset: Option<Window>) -> String {
    offset.map(|o| format!(" offset {o}")).unwrap_or_default()
}

/// A PromQL double-quoted string (Go escapes, which JSON's are a subset of).
fn quote(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// Whether `name` may stand bare before `{`: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
fn is_plain_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_each_backend() {
        let cloud = Dialect::Otlp;
        let prometheus = Dialect::Prometheus;
        assert_eq!(cloud.series_name(&FUNCTION_CALLS), "function.calls");
        assert_eq!(cloud.series_name(&FUNCTION_DURATION), "function.calls.duration_bucket");
        assert_eq!(prometheus.series_name(&FUNCTION_CALLS), "function_calls_total");
        assert_eq!(
            prometheus.series_name(&FUNCTION_DURATION),
            "function_calls_duration_seconds_bucket"
        );
        assert_eq!(prometheus.series_name(&ZEN_COST), "zen_cost_USD_total");
    }

    #[test]
    fn dotted_names_are_quoted_and_user_text_escaped() {
        let queries = Queries::new(Dialect::Otlp, r#"my "svc""#);
        assert_eq!(
            queries.call_rate("5m", Some("1w")),
            r#"sum by (function) (rate({"function.calls", job="my \"svc\""}[5m] offset 1w))"#
        );
        let queries = Queries::new(Dialect::Prometheus, "svc");
        assert_eq!(
            queries.failure_rate("1h"),
            r#"sum by (function) (rate(function_calls_total{job="svc", result=~"error|panic"}[1h]))"#
        );
    }
}
