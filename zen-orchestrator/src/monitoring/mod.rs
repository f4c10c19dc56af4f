//! `zen telemetry monitoring`: a Cloud Monitoring dashboard, alert policies
//! and a Prometheus rules file for any service that uses zen-telemetry,
//! generated from its per-function metrics, and applied with `--apply`.
//!
//! [`promql`] builds every query from the exporters' own names; [`alerts`]
//! defines the alerts once, and [`policies`] and [`rules`] spell them for
//! Cloud Monitoring and Prometheus; [`apply`] reconciles them with a project
//! through the Monitoring REST API ([`api`]).

pub mod alerts;
mod api;
pub mod apply;
pub mod dashboard;
pub mod objectives;
pub mod policies;
pub mod promql;
pub mod rules;

use std::collections::BTreeMap;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use self::dashboard::Dashboard;
use self::objectives::Objectives;
use self::policies::AlertPolicy;
use self::promql::{Dialect, Queries};
use crate::usage_metrics;

/// The user label on everything we create, with [`MANAGED_BY`] as value.
pub const MANAGED_BY_LABEL: &str = "managed_by";
/// The value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY: &str = "zen-telemetry";
/// The user label holding the service ([`label_value`] of its name).
pub const SERVICE_LABEL: &str = "zen_telemetry_service";
/// The user label naming which of the service's objects it is: `dashboard`
/// or an alert's id.
pub const OBJECT_LABEL: &str = "zen_telemetry_object";
/// [`OBJECT_LABEL`]'s value on the dashboard.
pub const DASHBOARD_OBJECT: &str = "dashboard";

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

/// A user-label value for `text`: itself when it is one (lowercase letters,
/// digits, `_` and `-`, at most 63), else a cleaned prefix and a hash, so two
/// services never share one.
pub fn label_value(text: &str) -> String {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    if !text.is_empty() && text.len() <= 63 && text.chars().all(allowed) {
        return text.to_owned();
    }
    let cleaned: String = text
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if allowed(c) { c } else { '-' })
        .take(54)
        .collect();
    let hash = Sha256::digest(text.as_bytes());
    let suffix: String = hash.iter().take(4).map(|byte| format!("{byte:02x}")).collect();
    format!("{cleaned}-{suffix}")
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

/// Runs the command; returns the exit code.
pub fn run(options: &MonitoringOptions) -> u8 {
    let generated = match generate(options) {
        Ok(generated) => generated,
        Err(message) => {
            eprintln!("zen: error: {message}");
            return 2;
        }
    };
    for note in &generated.notes {
        eprintln!("zen: note: {note}");
    }
    if let Err(message) = write_files(options, &generated) {
        eprintln!("zen: error: {message}");
        return 1;
    }
    match &options.apply {
        None => 0,
        Some(target) => match apply::apply(target, &generated) {
            Ok(report) => {
                print!("{report}");
                0
            }
            Err(message) => {
                eprintln!("zen: error: {message}");
                1
            }
        },
    }
}

fn write_files(options: &MonitoringOptions, generated: &Generated) -> Result<(), String> {
    let out = &options.out;
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    for (name, contents) in generated.files() {
        let path = out.join(&name);
        std::fs::write(&path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_keep_valid_names_and_hash_the_rest() {
        assert_eq!(label_value("zen"), "zen");
        assert_eq!(label_value("checkout-api_2"), "checkout-api_2");
        let dotted = label_value("Shop.Checkout");
        assert!(dotted.starts_with("shop-checkout-"), "{dotted}");
        assert_ne!(dotted, label_value("shop-checkout"));
        let long = label_value(&"x".repeat(100));
        assert!(long.len() <= 63, "{long}");
    }

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
