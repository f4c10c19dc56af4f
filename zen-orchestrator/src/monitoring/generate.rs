//! From options to the generated dashboard, policies and rules file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::dashboard::{self, Dashboard};
use super::labels::{DASHBOARD_OBJECT, MANAGED_BY, MANAGED_BY_LABEL, OBJECT_LABEL, SERVICE_LABEL, label_value};
use super::objectives::Objectives;
use super::policies::{self, AlertPolicy};
use super::promql::{Dialect, Queries};
use super::{alerts, rules};
use crate::usage_metrics;

/// The Monitoring API's address.
pub const DEFAULT_ENDPOINT: &str = "https://monitoring.googleapis.com";

/// What `zen telemetry monitoring` was asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitoringOptions {
    /// The service's `service.name` (the `job` label of its metrics).
    pub service: String,
    /// Where the files go.
    pub out: PathBuf,
    /// The objectives the alerts hold the service to.
    pub objectives: Objectives,
    /// How the backend names the metrics.
    pub dialect: Dialect,
    /// Notification channels of every policy: ids or full names.
    pub notification_channels: Vec<String>,
    /// `--apply`: reconcile with a project.
    pub apply: Option<ApplyTarget>,
}

/// Where `--apply` goes.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyTarget {
    /// The project id.
    pub project: String,
    /// Only say what would change.
    pub dry_run: bool,
    /// The Monitoring API's address ([`DEFAULT_ENDPOINT`]).
    pub endpoint: String,
}

/// Everything generated for one service.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The dashboard.
    pub dashboard: Dashboard,
    /// Each alert's id and policy.
    pub policies: Vec<(&'static str, AlertPolicy)>,
    /// `prometheus-rules.yaml`.
    pub rules: String,
    /// Things worth saying that are not errors.
    pub notes: Vec<String>,
}

impl Generated {
    /// The files to write: name and contents.
    pub fn files(&self) -> Vec<(String, String)> {
        let mut files = vec![("dashboard.json".to_owned(), pretty(&self.dashboard))];
        for (id, policy) in &self.policies {
            files.push((format!("alert-{id}.json"), pretty(policy)));
        }
        files.push(("prometheus-rules.yaml".to_owned(), self.rules.clone()));
        files
    }
}

fn pretty(value: &impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Builds the dashboard, the policies and the rules of `options.service`.
pub fn generate(options: &MonitoringOptions) -> Result<Generated, String> {
    let service = options.service.trim();
    if service.is_empty() {
        return Err("--service: expected the service's name (its service.name)".to_owned());
    }
    options.objectives.validate()?;
    let channels = notification_channels(&options.notification_channels, options.apply.as_ref())?;
    let queries = Queries::new(options.dialect, service);
    let labels = |object: &str| {
        BTreeMap::from([
            (MANAGED_BY_LABEL.to_owned(), MANAGED_BY.to_owned()),
            (SERVICE_LABEL.to_owned(), label_value(service)),
            (OBJECT_LABEL.to_owned(), object.to_owned()),
        ])
    };
    let alerts = alerts::alerts(service, &queries, &options.objectives);
    let group = format!("zen-telemetry/{service}");
    let policies = policies::policies(&alerts, &group, |alert| labels(alert.id), &channels);
    Ok(Generated {
        dashboard: dashboard::dashboard(
            service,
            &queries,
            labels(DASHBOARD_OBJECT),
            service == usage_metrics::SERVICE_NAME,
        ),
        policies: alerts.iter().map(|alert| alert.id).zip(policies).collect(),
        rules: rules::rules_file(&group, &alerts),
        notes: options.objectives.latency_note().into_iter().collect(),
    })
}

/// Full channel names: an id becomes `projects/P/notificationChannels/ID`.
fn notification_channels(channels: &[String], apply: Option<&ApplyTarget>) -> Result<Vec<String>, String> {
    channels
        .iter()
        .map(|channel| {
            if channel.starts_with("projects/") {
                return Ok(channel.clone());
            }
            match apply {
                Some(target) => Ok(format!("projects/{}/notificationChannels/{channel}", target.project)),
                None => Err(format!(
                    "--notification-channel {channel}: give the full name \
                     (projects/PROJECT/notificationChannels/ID), or --apply --project PROJECT"
                )),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_ids_need_a_project() {
        let target = ApplyTarget {
            project: "my-project".to_owned(),
            dry_run: false,
            endpoint: DEFAULT_ENDPOINT.to_owned(),
        };
        assert_eq!(
            notification_channels(&["123".to_owned()], Some(&target)),
            Ok(vec!["projects/my-project/notificationChannels/123".to_owned()])
        );
        let error = notification_channels(&["123".to_owned()], None).expect_err("no project");
        assert!(error.contains("--notification-channel 123"), "{error}");
    }
}
