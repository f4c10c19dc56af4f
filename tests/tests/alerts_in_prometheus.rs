//! The alert rules `zen telemetry monitoring --metric-names prometheus`
//! writes, evaluated by a real Prometheus (`promtool test rules`) on series
//! the real exporter produced: the probe run as separate processes, one run
//! a minute, its continued series translated as Prometheus' OTLP receiver
//! names them (`zen_tests::series`). Each test's runs take about a second;
//! promtool places them one a minute, and a week apart where an alert
//! compares with last week.

use zen_orchestrator::monitoring::alerts::{self, Alert};
use zen_orchestrator::monitoring::objectives::Objectives;
use zen_orchestrator::monitoring::promql::{Dialect, Queries};
use zen_orchestrator::monitoring::rules;
use zen_tests::series::{Service, prometheus_series, promtool_available, promtool_test, promtool_values};

const PROBE: &str = env!("CARGO_BIN_EXE_zen-probe");
const SERVICE: &str = "zen-library";
const WEEK_MINUTES: usize = 7 * 24 * 60;

fn generated_alerts() -> Vec<Alert> {
    let queries = Queries::new(Dialect::Prometheus, SERVICE);
    alerts::alerts(SERVICE, &queries, &Objectives::default())
}

fn alert(rule_name: &str) -> Alert {
    generated_alerts()
        .into_iter()
        .find(|alert| alert.rule_name == rule_name)
        .unwrap_or_else(|| panic!("no alert {rule_name}"))
}

/// Runs `args` `times` times as the service.
fn runs(service: &Service, times: usize, args: &[&str]) {
    for _ in 0..times {
        service.run(args, &[]);
    }
}

/// The service's first exports as promtool input, one a minute: `weeks[i]`
/// of them in week `i`, each week's starting a week after the one before.
fn input_series(service: &Service, weeks: &[usize]) -> String {
    let exports = service.exports();
    let mut timeline: Vec<Option<usize>> = Vec::new();
    let mut next = 0;
    for (week, &count) in weeks.iter().enumerate() {
        timeline.resize(week * WEEK_MINUTES, None);
        timeline.extend((next..next + count).map(Some));
        next += count;
    }
    let series = prometheus_series(&exports);
    let mut yaml = String::new();
    for (name, values) in series {
        let placed: Vec<Option<f64>> = timeline
            .iter()
            .map(|export| export.and_then(|i| values.get(i).copied().flatten()))
            .collect();
        yaml.push_str(&format!(
            "      - series: '{name}'\n        values: '{}'\n",
            promtool_values(&placed)
        ));
    }
    yaml
}

/// Asserts with promtool that at `eval_minute` `alert` fires for exactly
/// the functions in `firing`: the generated rules file with that alert alone
/// (promtool evaluates every rule every minute up to `eval_minute`).
fn assert_fires(service: &Service, input: &str, eval_minute: usize, alert: &Alert, firing: &[&str]) {
    let rules = rules::rules_file(&format!("zen-telemetry/{SERVICE}"), std::slice::from_ref(alert));
    let quote = |text: &str| serde_json::Value::from(text).to_string();
    let expected: String = firing
        .iter()
        .map(|function| {
            format!(
                "          - exp_labels: {{severity: {}, function: {}}}\n            exp_annotations: {{summary: {}, description: {}}}\n",
                quote(alert.urgency.rule_label()),
                quote(function),
                quote(&alert.title),
                quote(&alert.description)
            )
        })
        .collect();
    let expected = if expected.is_empty() {
        " []\n".to_owned()
    } else {
        format!("\n{expected}")
    };
    let test = format!(
        "rule_files: [rules.yaml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n{input}    alert_rule_test:\n      - eval_time: {eval_minute}m\n        alertname: {}\n        exp_alerts:{expected}",
        alert.rule_name
    );
    promtool_test(service.dir(), &rules, &test);
}

#[test]
fn the_fast_burn_alert_fires_on_an_error_burst_above_the_budget_and_stays_silent_below() {
    if !promtool_available() {
        return;
    }
    let fast_burn = alert("ZenTelemetryErrorBudgetFastBurn");
    // An hour of 100 good calls a minute, then 20 minutes in which 80 % of
    // the calls fail, or 1 % (the default objective: 99 % succeed).
    for (percent, firing) in [("80", &["probe.maybe"][..]), ("1", &[][..])] {
        let service = Service::new(PROBE);
        runs(&service, 60, &["rare", "100", "0"]);
        runs(&service, 20, &["rare", "100", percent]);
        assert_eq!(service.exports().len(), 80);
        let input = input_series(&service, &[80]);
        assert_fires(&service, &input, 79, &fast_burn, firing);
    }
}

#[test]
fn the_fast_burn_alert_fires_on_an_error_burst_in_one_long_running_process() {
    if !promtool_available() {
        return;
    }
    let fast_burn = alert("ZenTelemetryErrorBudgetFastBurn");
    // One process: an hour of 100 good calls a minute, then 20 minutes in
    // which 80 % of the calls fail, or 1 (one call a minute: a rare error).
    // The metric thread exports every 50 ms; each export stands for a minute.
    for (schedule, firing) in [("60x0,20x80", &["probe.maybe"][..]), ("60x0,20x1", &[][..])] {
        let service = Service::new(PROBE);
        service.run(&["rounds", "100", schedule], &[("OTEL_METRIC_EXPORT_INTERVAL", "50")]);
        let exports = service.exports();
        assert!(exports.len() >= 80, "{} exports", exports.len());
        let instances: std::collections::BTreeSet<&str> = exports
            .iter()
            .flatten()
            .filter_map(|point| point["resource"]["service.instance.id"].as_str())
            .collect();
        assert_eq!(instances.len(), 1, "one process, one series: {instances:?}");
        let input = input_series(&service, &[80]);
        assert_fires(&service, &input, 79, &fast_burn, firing);
    }
}

#[test]
fn the_usage_anomaly_alert_fires_when_calls_stop_and_not_while_they_go_on() {
    if !promtool_available() {
        return;
    }
    let usage = alert("ZenTelemetryUsageAnomaly");
    let service = Service::new(PROBE);
    // An hour of calls last week, then, this week, the same again.
    runs(&service, 120, &["rare", "10", "0"]);
    let eval = WEEK_MINUTES + 75;
    let stopped = input_series(&service, &[60]);
    assert_fires(&service, &stopped, eval, &usage, &["probe.maybe"]);
    let going_on = input_series(&service, &[60, 60]);
    assert_fires(&service, &going_on, eval, &usage, &[]);
}

#[test]
fn the_latency_alert_fires_on_a_slowdown_against_last_week() {
    if !promtool_available() {
        return;
    }
    let latency = alert("ZenTelemetryLatencyDegradation");
    let service = Service::new(PROBE);
    // probe.timed's objective is 1 ms: last week its calls took no time,
    // this week 3 ms each.
    runs(&service, 60, &["timed", "10", "0"]);
    runs(&service, 25, &["timed", "10", "3000"]);
    let input = input_series(&service, &[60, 25]);
    assert_fires(&service, &input, WEEK_MINUTES + 24, &latency, &["probe.timed"]);
    // Before the slowdown, in last week's hour, nothing fires.
    assert_fires(&service, &input, 59, &latency, &[]);
}

#[test]
fn the_call_rate_query_is_within_ten_percent_of_the_true_rate() {
    if !promtool_available() {
        return;
    }
    // 20 runs of 100 calls, one run a minute: 100 / 60 calls a second.
    let service = Service::new(PROBE);
    runs(&service, 20, &["rare", "100", "0"]);
    let call_rate = Queries::new(Dialect::Prometheus, SERVICE).call_rate("10m", None);
    let rules = format!(
        "groups:\n  - name: rate\n    rules:\n      - alert: RateWithinTenPercent\n        expr: abs({call_rate} / (100 / 60) - 1) <= 0.1\n"
    );
    let input = input_series(&service, &[20]);
    let test = format!(
        "rule_files: [rules.yaml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n{input}    alert_rule_test:\n      - eval_time: 19m\n        alertname: RateWithinTenPercent\n        exp_alerts:\n          - exp_labels: {{function: probe.maybe}}\n"
    );
    promtool_test(service.dir(), &rules, &test);
}
