//! The alerts as Cloud Monitoring alert policies: the `AlertPolicy`
//! resource of the Monitoring API v3, one PromQL condition each (a PromQL
//! policy may have only one):
//! <https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.alertPolicies#AlertPolicy>,
//! <https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.alertPolicies#PrometheusQueryLanguageCondition>.

use std::collections::BTreeMap;

use serde::Serialize;

use super::alerts::{Alert, Urgency};

/// An alert policy, as `alertPolicies.create` takes it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertPolicy {
    /// The incident title.
    pub display_name: String,
    /// What the incident's notification says.
    pub documentation: Documentation,
    /// Ours find it again ([`super::labels`]).
    pub user_labels: BTreeMap<String, String>,
    /// The one PromQL condition.
    pub conditions: Vec<Condition>,
    /// `OR` (there is one condition).
    pub combiner: &'static str,
    /// On.
    pub enabled: bool,
    /// `CRITICAL` for a page, `WARNING` for a ticket.
    pub severity: &'static str,
    /// `projects/P/notificationChannels/ID`.
    pub notification_channels: Vec<String>,
    /// When an incident closes on its own.
    pub alert_strategy: AlertStrategy,
}

/// `AlertPolicy.Documentation`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Documentation {
    /// Markdown.
    pub content: String,
    /// `text/markdown`.
    pub mime_type: &'static str,
    /// The notification's subject line.
    pub subject: String,
}

/// `AlertPolicy.Condition`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition's title.
    pub display_name: String,
    /// The PromQL.
    pub condition_prometheus_query_language: PrometheusQueryLanguageCondition,
}

/// `AlertPolicy.Condition.PrometheusQueryLanguageCondition`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrometheusQueryLanguageCondition {
    /// The PromQL.
    pub query: String,
    /// Prometheus' `for`, as a duration string (`"600s"`).
    pub duration: String,
    /// How often it is evaluated (a multiple of 30 s).
    pub evaluation_interval: String,
    /// The rule group, as in the Prometheus rules file.
    pub rule_group: String,
    /// The alert name, as in the Prometheus rules file.
    pub alert_rule: String,
    /// Labels of the incident.
    pub labels: BTreeMap<String, String>,
    /// Always true: the reference says it "allows alerting policies to be
    /// defined on metrics that do not yet exist", and zen's metrics exist
    /// only once a traced program has exported its first point, which is
    /// usually after the policies are applied.
    pub disable_metric_validation: bool,
}

/// `AlertPolicy.AlertStrategy`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertStrategy {
    /// An incident with no data for this long closes.
    pub auto_close: String,
}

/// Every alert's policy, in the alerts' order.
pub fn policies(
    alerts: &[Alert],
    rule_group: &str,
    labels: impl Fn(&Alert) -> BTreeMap<String, String>,
    notification_channels: &[String],
) -> Vec<AlertPolicy> {
    alerts
        .iter()
        .map(|alert| AlertPolicy {
            display_name: alert.title.clone(),
            documentation: Documentation {
                content: alert.description.clone(),
                mime_type: "text/markdown",
                subject: alert.title.clone(),
            },
            user_labels: labels(alert),
            conditions: vec![Condition {
                display_name: alert.title.clone(),
                condition_prometheus_query_language: PrometheusQueryLanguageCondition {
                    query: alert.expr.clone(),
                    duration: format!("{}s", alert.for_secs),
                    evaluation_interval: "60s".to_owned(),
                    rule_group: rule_group.to_owned(),
                    alert_rule: alert.rule_name.to_owned(),
                    labels: BTreeMap::from([("severity".to_owned(), alert.urgency.rule_label().to_owned())]),
                    disable_metric_validation: true,
                },
            }],
            combiner: "OR",
            enabled: true,
            severity: match alert.urgency {
                Urgency::Page => "CRITICAL",
                Urgency::Ticket => "WARNING",
            },
            notification_channels: notification_channels.to_vec(),
            alert_strategy: AlertStrategy {
                auto_close: "1800s".to_owned(),
            },
        })
        .collect()
}
