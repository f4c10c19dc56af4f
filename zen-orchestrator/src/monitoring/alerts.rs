//! The alerts, defined once: the alert policies and the Prometheus rules
//! file are two spellings of this list.
//!
//! The error-budget alerts are the multi-window, multi-burn-rate alerts of
//! Google's SRE workbook ("Alerting on SLOs", table 5-8), as Sloth and
//! autometrics generate them: an alert fires while both a long and a short
//! window burn the budget faster than a factor, so it starts fast and stops
//! soon after the burning does.

use zen_telemetry::FUNCTION_ATTRIBUTE;

use super::objectives::Objectives;
use super::promql::{Queries, Window};

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// Wake someone: the budget goes within days.
    Page,
    /// Look at it in working hours.
    Ticket,
}

impl Urgency {
    /// The `severity` label of the Prometheus rule (Sloth's words).
    pub fn rule_label(self) -> &'static str {
        match self {
            Urgency::Page => "page",
            Urgency::Ticket => "ticket",
        }
    }
}

/// One alert, whichever backend evaluates it.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// A stable slug: the file name, and the label that finds the policy again.
    pub id: &'static str,
    /// The Prometheus alert name.
    pub rule_name: &'static str,
    /// What a person sees in the incident's title.
    pub title: String,
    /// Page or ticket.
    pub urgency: Urgency,
    /// The PromQL; each series it returns is one firing function.
    pub expr: String,
    /// How long the expression must hold before the alert fires, in seconds.
    pub for_secs: u64,
    /// What it means, when it fires and what to look at (Markdown).
    pub description: String,
}

/// A burn-rate window pair: both must burn faster than `factor` × budget.
struct BurnWindows {
    long: Window,
    short: Window,
    factor: f64,
}

/// Page: 2 % of a 30-day budget in an hour, or 5 % in six hours.
const FAST_BURN: [BurnWindows; 2] = [
    BurnWindows {
        long: "1h",
        short: "5m",
        factor: 14.4,
    },
    BurnWindows {
        long: "6h",
        short: "30m",
        factor: 6.0,
    },
];
/// Ticket: 10 % of the budget in a day, or all of it at this pace in 30 days.
const SLOW_BURN: [BurnWindows; 2] = [
    BurnWindows {
        long: "1d",
        short: "2h",
        factor: 3.0,
    },
    BurnWindows {
        long: "3d",
        short: "6h",
        factor: 1.0,
    },
];

/// The window of the latency percentile and the usage comparison.
const LATENCY_WINDOW: Window = "10m";
const USAGE_WINDOW: Window = "1h";
const LAST_WEEK: Window = "1w";

/// Every alert of `service`, in file order.
pub fn alerts(service: &str, queries: &Queries, objectives: &Objectives) -> Vec<Alert> {
    let min_calls = objectives.min_calls_per_hour;
    let percentile = objectives.latency_percentile;
    let latency_ms = objectives.latency_ms;
    vec![
        burn_alert(
            "error-budget-fast-burn",
            "ZenTelemetryErrorBudgetFastBurn",
            Urgency::Page,
            &FAST_BURN,
            (service, queries, objectives),
            "burns its error budget fast",
            "fails so often that, at this pace, its error budget is gone within days",
        ),
        burn_alert(
            "error-budget-slow-burn",
            "ZenTelemetryErrorBudgetSlowBurn",
            Urgency::Ticket,
            &SLOW_BURN,
            (service, queries, objectives),
            "burns its error budget steadily",
            "fails steadily more than its objective allows",
        ),
        Alert {
            id: "latency-degradation",
            rule_name: "ZenTelemetryLatencyDegradation",
            title: format!("{service}: a function is slower than its latency objective and than last week"),
            urgency: Urgency::Ticket,
            expr: latency_degradation(queries, objectives),
            for_secs: 600,
            description: format!(
                "For 10 minutes, the p{percentile} latency of a function of **{service}** has been over its \
                 `#[traced(objective(latency_ms = ...))]`, else {latency_ms} ms, and over its p{percentile} at the same time last week. A function that was as \
                 slow last week does not fire: this alert is for changes. Functions with fewer than {min_calls} \
                 calls an hour are left out."
            ),
        },
        Alert {
            id: "usage-anomaly",
            rule_name: "ZenTelemetryUsageAnomaly",
            title: format!("{service}: a function's call rate differs from last week"),
            urgency: Urgency::Ticket,
            expr: usage_anomaly(queries, min_calls),
            for_secs: 900,
            description: format!(
                "For 15 minutes, a function of **{service}** has been called at under half, or over twice, its \
                 rate of the same hour last week, or not at all while it was called last week. The week with \
                 the calls must have had {min_calls} calls an hour or more."
            ),
        },
    ]
}

/// A multi-window burn-rate alert over `pairs`, described from them.
fn burn_alert(
    id: &'static str,
    rule_name: &'static str,
    urgency: Urgency,
    pairs: &[BurnWindows],
    (service, queries, objectives): (&str, &Queries, &Objectives),
    headline: &str,
    meaning: &str,
) -> Alert {
    let budget = objectives.error_budget();
    let min_calls = objectives.min_calls_per_hour;
    let windows: Vec<String> = pairs
        .iter()
        .map(|pair| {
            format!(
                "over the last {} (and {}) more than {} × {budget} of its calls failed",
                pair.long, pair.short, pair.factor
            )
        })
        .collect();
    Alert {
        id,
        rule_name,
        title: format!("{service}: a function {headline}"),
        urgency,
        expr: burn_rate(queries, pairs, budget, min_calls),
        for_secs: 0,
        description: format!(
            "A function of **{service}** {meaning} (its `#[traced(objective(success = ...))]`, else a {} % \
             success objective: an error budget of {budget}): {}. Functions with fewer than {min_calls} calls an hour are left out. Look at the function's \
             error spans in Trace Explorer.",
            objectives.success_percent,
            windows.join(", or ")
        ),
    }
}

fn burn_rate(queries: &Queries, pairs: &[BurnWindows], budget: f64, min_calls: f64) -> String {
    let arms: Vec<String> = pairs
        .iter()
        .map(|pair| {
            let threshold = format!("({} * {})", pair.factor, queries.error_budget(pair.long, budget));
            format!(
                "(({}) > on ({FUNCTION_ATTRIBUTE}) {threshold}\nand ({}) > on ({FUNCTION_ATTRIBUTE}) {threshold}\nand {})",
                queries.error_ratio(pair.long),
                queries.error_ratio(pair.short),
                queries.busy(pair.long, None, min_calls),
            )
        })
        .collect();
    arms.join("\nor\n")
}

fn latency_degradation(queries: &Queries, objectives: &Objectives) -> String {
    let quantile = objectives.quantile();
    let now = queries.latency(quantile, LATENCY_WINDOW, None);
    let last_week = queries.latency(quantile, LATENCY_WINDOW, Some(LAST_WEEK));
    format!(
        "{now} > on ({FUNCTION_ATTRIBUTE}) {}\nand\n{now} > {last_week}\nand\n{}",
        queries.latency_objective(LATENCY_WINDOW, objectives.latency_seconds()),
        queries.busy(USAGE_WINDOW, None, objectives.min_calls_per_hour)
    )
}

fn usage_anomaly(queries: &Queries, min_calls: f64) -> String {
    let now = queries.call_rate(USAGE_WINDOW, None);
    let last_week = queries.call_rate(USAGE_WINDOW, Some(LAST_WEEK));
    let busy_now = queries.busy(USAGE_WINDOW, None, min_calls);
    let busy_last_week = queries.busy(USAGE_WINDOW, Some(LAST_WEEK), min_calls);
    format!(
        "({now} < 0.5 * {last_week} and {busy_last_week})\n\
         or\n({now} > 2 * {last_week} and {busy_now})\n\
         or\n({busy_last_week} unless {now})"
    )
}
