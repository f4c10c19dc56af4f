//! `--apply`: makes a project's Cloud Monitoring hold the generated
//! dashboard and policies. Ours are found by their user labels
//! ([`super::labels::MANAGED_BY_LABEL`], [`super::labels::SERVICE_LABEL`],
//! [`super::labels::OBJECT_LABEL`]); an object without them is never touched, and
//! nothing is ever deleted.

use std::fmt::Write;

use hyper::Method;
use serde_json::{Map, Value};

use super::api::Api;
use super::generate::{ApplyTarget, Generated};
use super::labels::{DASHBOARD_OBJECT, MANAGED_BY, MANAGED_BY_LABEL, OBJECT_LABEL, SERVICE_LABEL};

/// Dashboard or alert policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `projects.dashboards` (v1).
    Dashboard,
    /// `projects.alertPolicies` (v3).
    AlertPolicy,
}

impl Kind {
    fn labels_field(self) -> &'static str {
        match self {
            Kind::Dashboard => "labels",
            Kind::AlertPolicy => "userLabels",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Dashboard => "dashboard",
            Kind::AlertPolicy => "alert policy",
        }
    }
}

/// What one object needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Not there yet.
    Create(Value),
    /// There (`name`) and different: replace it with this body.
    Update {
        /// The object's resource name.
        name: String,
        /// The full new body, with the name, etag and condition names kept.
        body: Value,
    },
    /// There and the same.
    Unchanged {
        /// The object's resource name.
        name: String,
    },
    /// Ours, but no longer generated: left in place.
    Left {
        /// The object's resource name.
        name: String,
    },
}

/// One line of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// Dashboard or policy.
    pub kind: Kind,
    /// Its title.
    pub display_name: String,
    /// What to do.
    pub step: Step,
}

/// Compares what is wanted with what the project holds.
///
/// `wanted` is each object's kind, [`super::labels::OBJECT_LABEL`] and body;
/// `existing` is every dashboard and policy the project lists.
pub fn plan(service_label: &str, wanted: &[(Kind, String, Value)], existing: &[(Kind, Value)]) -> Vec<Planned> {
    let ours = |kind: Kind, object: &Value| -> Option<String> {
        let labels = object.get(kind.labels_field())?;
        let label = |key: &str| labels.get(key).and_then(Value::as_str);
        (label(MANAGED_BY_LABEL) == Some(MANAGED_BY) && label(SERVICE_LABEL) == Some(service_label))
            .then(|| label(OBJECT_LABEL).map(str::to_owned))
            .flatten()
    };
    let mut steps = Vec::new();
    for (kind, object_id, body) in wanted {
        let found = existing
            .iter()
            .find(|(k, object)| k == kind && ours(*k, object).as_deref() == Some(object_id.as_str()));
        let step = match found {
            None => Step::Create(body.clone()),
            Some((_, current)) => {
                let name = string_field(current, "name");
                let mut body = body.clone();
                keep_server_fields(*kind, &mut body, current);
                if same(&body, current) {
                    Step::Unchanged { name }
                } else {
                    Step::Update { name, body }
                }
            }
        };
        steps.push(Planned {
            kind: *kind,
            display_name: string_field(body, "displayName"),
            step,
        });
    }
    for (kind, object) in existing {
        let Some(object_id) = ours(*kind, object) else { continue };
        if !wanted.iter().any(|(k, id, _)| k == kind && *id == object_id) {
            steps.push(Planned {
                kind: *kind,
                display_name: string_field(object, "displayName"),
                step: Step::Left {
                    name: string_field(object, "name"),
                },
            });
        }
    }
    steps
}

/// An update replaces the whole object: carry over the fields the server
/// owns (name, etag, condition names) and, when no channel was asked for,
/// the channels someone added by hand.
fn keep_server_fields(kind: Kind, body: &mut Value, current: &Value) {
    let Some(body) = body.as_object_mut() else { return };
    for field in ["name", "etag"] {
        if let Some(value) = current.get(field) {
            body.insert(field.to_owned(), value.clone());
        }
    }
    if kind != Kind::AlertPolicy {
        return;
    }
    let no_channels = body
        .get("notificationChannels")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    if no_channels && let Some(channels) = current.get("notificationChannels") {
        body.insert("notificationChannels".to_owned(), channels.clone());
    }
    let current_conditions = current.get("conditions").and_then(Value::as_array);
    if let (Some(Value::Array(conditions)), Some(current_conditions)) = (body.get_mut("conditions"), current_conditions)
    {
        for (condition, current) in conditions.iter_mut().zip(current_conditions) {
            if let (Some(condition), Some(name)) = (condition.as_object_mut(), current.get("name")) {
                condition.insert("name".to_owned(), name.clone());
            }
        }
    }
}

/// Whether `current` holds everything `wanted` says. Fields only the server
/// sets are ignored, and a field the server left out counts as its default
/// (proto3 JSON leaves out empty lists, `false` and zero durations).
fn same(wanted: &Value, current: &Value) -> bool {
    match (wanted, current) {
        (Value::Object(wanted), Value::Object(current)) => wanted.iter().all(|(key, value)| match current.get(key) {
            Some(current) => same(value, current),
            None => is_default(value),
        }),
        (Value::Array(wanted), Value::Array(current)) => {
            wanted.len() == current.len() && wanted.iter().zip(current).all(|(w, c)| same(w, c))
        }
        (Value::Number(wanted), Value::Number(current)) => wanted.as_f64() == current.as_f64(),
        _ => wanted == current,
    }
}

fn is_default(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => fields.is_empty(),
        Value::String(text) => text.is_empty() || text == "0s",
        Value::Number(number) => number.as_f64() == Some(0.0),
        Value::Bool(true) => false,
    }
}

fn string_field(object: &Value, field: &str) -> String {
    object.get(field).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// Applies `generated` to the target project; returns the report.
pub fn apply(target: &ApplyTarget, generated: &Generated) -> Result<String, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    runtime.block_on(apply_async(target, generated))
}

async fn apply_async(target: &ApplyTarget, generated: &Generated) -> Result<String, String> {
    let api = Api::connect(&target.endpoint, &target.project).await?;
    let project = api.project().to_owned();
    let dashboards_path = format!("v1/projects/{project}/dashboards");
    let policies_path = format!("v3/projects/{project}/alertPolicies");
    let mut existing: Vec<(Kind, Value)> = Vec::new();
    for dashboard in api.list(&dashboards_path, "dashboards").await? {
        existing.push((Kind::Dashboard, dashboard));
    }
    for policy in api.list(&policies_path, "alertPolicies").await? {
        existing.push((Kind::AlertPolicy, policy));
    }
    let mut wanted = vec![(
        Kind::Dashboard,
        DASHBOARD_OBJECT.to_owned(),
        to_json(&generated.dashboard),
    )];
    for (id, policy) in &generated.policies {
        wanted.push((Kind::AlertPolicy, (*id).to_owned(), to_json(policy)));
    }
    let service_label = generated
        .dashboard
        .labels
        .get(SERVICE_LABEL)
        .cloned()
        .unwrap_or_default();
    let steps = plan(&service_label, &wanted, &existing);

    let mut report = String::new();
    let _ = writeln!(
        report,
        "Cloud Monitoring, project {project}{}:",
        if target.dry_run {
            " (dry run: nothing was changed)"
        } else {
            ""
        }
    );
    // One change at a time: Google asks for mutations of one project in sequence.
    for planned in &steps {
        let (verb, detail) = match &planned.step {
            Step::Create(body) => {
                if target.dry_run {
                    ("would create", unvalidated(body).unwrap_or_default().to_owned())
                } else {
                    let path = match planned.kind {
                        Kind::Dashboard => &dashboards_path,
                        Kind::AlertPolicy => &policies_path,
                    };
                    let created = api.send(Method::POST, path, Some(body)).await?;
                    ("created", string_field(&created, "name"))
                }
            }
            Step::Update { name, body } => {
                if target.dry_run {
                    let detail = match unvalidated(body) {
                        Some(note) => format!("{name}; {note}"),
                        None => name.clone(),
                    };
                    ("would update", detail)
                } else {
                    let version = match planned.kind {
                        Kind::Dashboard => "v1",
                        Kind::AlertPolicy => "v3",
                    };
                    api.send(Method::PATCH, &format!("{version}/{name}"), Some(body))
                        .await?;
                    ("updated", name.clone())
                }
            }
            Step::Unchanged { name } => ("unchanged", name.clone()),
            Step::Left { name } => (
                "left",
                format!("{name}; ours, but no longer generated: delete it by hand if unwanted"),
            ),
        };
        let detail = if detail.is_empty() {
            String::new()
        } else {
            format!(" ({detail})")
        };
        let _ = writeln!(
            report,
            "  {verb:<12} {:<12} {}{detail}",
            planned.kind.noun(),
            planned.display_name
        );
    }
    Ok(report)
}

/// What a dry run says of a policy whose PromQL condition skips the
/// metric check, so it is taken before the first point exists.
fn unvalidated(body: &Value) -> Option<&'static str> {
    body["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|condition| condition["conditionPrometheusQueryLanguage"]["disableMetricValidation"] == true)
        .then_some("disableMetricValidation: true")
}

fn to_json(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Object(Map::new()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn labels(object: &str) -> Value {
        json!({MANAGED_BY_LABEL: MANAGED_BY, SERVICE_LABEL: "svc", OBJECT_LABEL: object})
    }

    #[test]
    fn a_field_the_server_leaves_out_counts_as_its_default() {
        let wanted = json!({"enabled": true, "notificationChannels": [], "duration": "0s", "n": 1});
        assert!(same(
            &wanted,
            &json!({"enabled": true, "n": 1.0, "creationRecord": {"mutateTime": "x"}})
        ));
        assert!(!same(&wanted, &json!({"enabled": false, "n": 1})));
        assert!(!same(&json!({"a": [1, 2]}), &json!({"a": [1]})));
    }

    #[test]
    fn hand_added_channels_and_condition_names_survive_an_update() {
        let wanted = json!({"displayName": "new", "userLabels": labels("a"), "notificationChannels": [],
            "conditions": [{"displayName": "c"}]});
        let current = json!({"name": "projects/p/alertPolicies/1", "displayName": "old", "userLabels": labels("a"),
            "notificationChannels": ["projects/p/notificationChannels/9"],
            "conditions": [{"name": "projects/p/alertPolicies/1/conditions/7", "displayName": "c"}]});
        let steps = plan(
            "svc",
            &[(Kind::AlertPolicy, "a".to_owned(), wanted)],
            &[(Kind::AlertPolicy, current)],
        );
        let Step::Update { name, body } = &steps[0].step else {
            panic!("{steps:?}")
        };
        assert_eq!(name, "projects/p/alertPolicies/1");
        assert_eq!(
            body["notificationChannels"],
            json!(["projects/p/notificationChannels/9"])
        );
        assert_eq!(body["conditions"][0]["name"], "projects/p/alertPolicies/1/conditions/7");
    }

    #[test]
    fn objects_of_others_are_never_planned() {
        let foreign = json!({"name": "projects/p/dashboards/f", "displayName": "theirs",
            "labels": {OBJECT_LABEL: "dashboard", SERVICE_LABEL: "svc"}});
        let other_service = json!({"name": "projects/p/dashboards/o", "displayName": "other",
            "labels": {MANAGED_BY_LABEL: MANAGED_BY, SERVICE_LABEL: "other", OBJECT_LABEL: "dashboard"}});
        let retired =
            json!({"name": "projects/p/alertPolicies/r", "displayName": "retired", "userLabels": labels("gone")});
        let wanted = json!({"displayName": "mine", "labels": labels("dashboard")});
        let steps = plan(
            "svc",
            &[(Kind::Dashboard, "dashboard".to_owned(), wanted.clone())],
            &[
                (Kind::Dashboard, foreign),
                (Kind::Dashboard, other_service),
                (Kind::AlertPolicy, retired),
            ],
        );
        assert_eq!(steps.len(), 2, "{steps:?}");
        assert_eq!(steps[0].step, Step::Create(wanted));
        assert_eq!(
            steps[1].step,
            Step::Left {
                name: "projects/p/alertPolicies/r".to_owned()
            }
        );
    }
}
