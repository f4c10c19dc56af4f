//! `zen telemetry monitoring`: every generated PromQL expression parses and
//! reads only series the exporters really write; the JSON is what Google's
//! REST reference takes; the files match their snapshots; and `--apply`
//! creates, leaves, updates and refuses as it should against loopback fakes
//! of Google's OAuth and Cloud Monitoring APIs.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use promql_parser::label::METRIC_NAME;
use promql_parser::parser::{self, Expr, LabelModifier};
use promql_parser::util::{ExprVisitor, walk_expr};
use serde_json::{Value, json};
use zen_orchestrator::monitoring::objectives::Objectives;
use zen_orchestrator::monitoring::promql::{self, Dialect, METRICS};
use zen_orchestrator::monitoring::{self, Generated, MonitoringOptions};
use zen_orchestrator::usage_metrics;
use zen_telemetry::CallResult;
use zen_tests::gcp_fakes::{FakeOAuth, MONITORING_SCOPE, ServiceAccount};
use zen_tests::monitoring_api::{self, FakeMonitoring, Refusal};

use common::{TempDir, text, zen};

const GENERIC: &str = "checkout";
const PROJECT: &str = "zen-test-project";

fn options(service: &str, dialect: Dialect) -> MonitoringOptions {
    MonitoringOptions {
        service: service.to_owned(),
        out: "unused".into(),
        objectives: Objectives::default(),
        dialect,
        notification_channels: Vec::new(),
        apply: None,
    }
}

fn generated(service: &str, dialect: Dialect) -> Generated {
    monitoring::generate(&options(service, dialect)).unwrap_or_else(|e| panic!("{service}: {e}"))
}

/// Every PromQL expression of the three kinds of file, with where it came from.
fn expressions(generated: &Generated) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let dashboard = serde_json::to_value(&generated.dashboard).expect("dashboard JSON");
    collect_strings(&dashboard, "prometheusQuery", "dashboard", &mut found);
    for (id, policy) in &generated.policies {
        let policy = serde_json::to_value(policy).expect("policy JSON");
        collect_strings(&policy, "query", &format!("alert-{id}"), &mut found);
    }
    let documents = yaml_rust2::YamlLoader::load_from_str(&generated.rules).expect("prometheus-rules.yaml is YAML");
    let rules = &documents[0]["groups"][0]["rules"];
    for rule in rules.as_vec().expect("a list of rules") {
        let name = rule["alert"].as_str().expect("alert name");
        found.push((format!("rule {name}"), rule["expr"].as_str().expect("expr").to_owned()));
    }
    found
}

fn collect_strings(value: &Value, key: &str, origin: &str, found: &mut Vec<(String, String)>) {
    match value {
        Value::Object(fields) => {
            for (field, value) in fields {
                match value.as_str() {
                    Some(text) if field == key => found.push((origin.to_owned(), text.to_owned())),
                    _ => collect_strings(value, key, origin, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_strings(item, key, origin, found)),
        _ => {}
    }
}

/// What one expression selects and groups by.
#[derive(Default)]
struct Reads {
    selectors: Vec<(String, Vec<(String, String)>)>,
    grouping: BTreeSet<String>,
}

impl ExprVisitor for Reads {
    type Error = String;

    fn pre_visit(&mut self, expr: &Expr) -> Result<bool, String> {
        let selector = match expr {
            Expr::VectorSelector(selector) => Some(selector),
            Expr::MatrixSelector(matrix) => Some(&matrix.vs),
            _ => None,
        };
        if let Some(selector) = selector {
            let mut name = selector.name.clone();
            let mut matchers = Vec::new();
            for matcher in &selector.matchers.matchers {
                if matcher.name == METRIC_NAME {
                    name = Some(matcher.value.clone());
                } else {
                    matchers.push((matcher.name.clone(), matcher.value.clone()));
                }
            }
            if !selector.matchers.or_matchers.is_empty() {
                return Err("or-matchers".to_owned());
            }
            self.selectors
                .push((name.ok_or("a selector without a metric name")?, matchers));
        }
        let modifier = match expr {
            Expr::Aggregate(aggregate) => aggregate.modifier.as_ref(),
            Expr::Binary(binary) => binary.modifier.as_ref().and_then(|m| m.matching.as_ref()),
            _ => None,
        };
        if let Some(LabelModifier::Include(labels) | LabelModifier::Exclude(labels)) = modifier {
            self.grouping.extend(labels.labels.iter().cloned());
        }
        Ok(true)
    }
}

#[test]
fn every_expression_parses_and_reads_only_exported_series() {
    let failed: BTreeSet<&str> = [CallResult::Error, CallResult::Panic].map(CallResult::as_str).into();
    for dialect in [Dialect::Otlp, Dialect::Prometheus] {
        for service in [usage_metrics::SERVICE_NAME, GENERIC] {
            let generated = generated(service, dialect);
            let expressions = expressions(&generated);
            // Dashboard: calls, errors, three percentiles, top failures (+ 4 zen charts); 4 policies; 4 rules.
            let zen_charts = if service == usage_metrics::SERVICE_NAME { 4 } else { 0 };
            assert_eq!(expressions.len(), 6 + zen_charts + 4 + 4, "{service} {dialect:?}");
            for (origin, expression) in &expressions {
                let context = format!("{service} {dialect:?} {origin}: {expression}");
                let ast = parser::parse(expression).unwrap_or_else(|e| panic!("{context}\ndoes not parse: {e}"));
                let mut reads = Reads::default();
                walk_expr(&mut reads, &ast).unwrap_or_else(|e| panic!("{context}: {e}"));
                assert!(!reads.selectors.is_empty(), "{context}: reads nothing");
                let mut labels_read: BTreeSet<&str> = BTreeSet::new();
                for (name, matchers) in &reads.selectors {
                    let metric = METRICS
                        .iter()
                        .find(|m| dialect.series_name(m) == *name)
                        .unwrap_or_else(|| panic!("{context}: {name} is no exported series"));
                    let labels = dialect.series_labels(metric);
                    labels_read.extend(labels.iter().copied());
                    for (label, value) in matchers {
                        assert!(
                            labels.contains(&label.as_str()),
                            "{context}: {name} has no label {label}"
                        );
                        if label == promql::SERVICE_LABEL {
                            assert_eq!(value, service, "{context}");
                        }
                        if label == zen_telemetry::OBJECTIVE_SUCCESS_ATTRIBUTE {
                            let allowed = zen_telemetry::SUCCESS_OBJECTIVES.iter().map(|(_, l)| *l);
                            assert!(
                                value.is_empty() || allowed.clone().any(|l| l == value),
                                "{context}: {value}"
                            );
                        }
                        if label == zen_telemetry::OBJECTIVE_LATENCY_ATTRIBUTE {
                            let allowed = zen_telemetry::LATENCY_OBJECTIVES_MS.iter().map(|(_, l)| *l);
                            assert!(
                                value.is_empty() || allowed.clone().any(|l| l == value),
                                "{context}: {value}"
                            );
                        }
                        if label == zen_telemetry::RESULT_ATTRIBUTE {
                            let values: BTreeSet<&str> = value.split('|').collect();
                            assert_eq!(values, failed, "{context}");
                        }
                    }
                }
                for label in &reads.grouping {
                    assert!(
                        labels_read.contains(label.as_str()),
                        "{context}: groups by {label}, which it does not read"
                    );
                }
            }
        }
    }
}

/// The vocabulary the queries are built from is what a real run exports:
/// zen's demo, recorded with `--trace-file`, next to its metric points.
// The demo's programs are `sh` (Windows runs demo-windows.json in tests/run.rs).
#[cfg(unix)]
#[test]
fn the_query_vocabulary_is_what_a_real_run_exports() {
    let demo = common::example("demo.json");
    let dir = TempDir::new("monitoring-vocabulary");
    let trace_file = dir.path("trace.jsonl");
    let out = common::run_command(&demo)
        .env_remove("ZEN_TELEMETRY_DISABLED")
        .env_remove("OTEL_SERVICE_NAME")
        .current_dir(&dir.0)
        .arg("--trace-file")
        .arg(&trace_file)
        .output()
        .expect("run zen");
    assert_ne!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let points: Vec<Value> = std::fs::read_to_string(dir.path("trace.metrics.jsonl"))
        .expect("metric points beside the trace")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    for metric in METRICS {
        let series: Vec<&Value> = points.iter().filter(|p| p["metric"] == metric.name).collect();
        assert!(!series.is_empty(), "{} was not exported", metric.name);
        let mut keys = BTreeSet::new();
        for point in &series {
            assert_eq!(point["unit"], metric.unit, "{}", metric.name);
            let kind = match metric.kind {
                promql::Kind::Counter => "sum",
                promql::Kind::Histogram => "histogram",
            };
            assert_eq!(point["kind"], kind, "{}", metric.name);
            assert_eq!(
                point["resource"]["service.name"],
                usage_metrics::SERVICE_NAME,
                "the job label's source"
            );
            keys.extend(
                point["attributes"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k.as_str()),
            );
        }
        let expected: BTreeSet<&str> = metric.labels.iter().copied().collect();
        assert_eq!(keys, expected, "{}'s attributes", metric.name);
    }
}

#[test]
fn the_json_is_what_the_monitoring_api_takes() {
    for service in [usage_metrics::SERVICE_NAME, GENERIC] {
        let generated = generated(service, Dialect::Otlp);
        let dashboard = monitoring_api::check_dashboard(&serde_json::to_value(&generated.dashboard).expect("JSON"))
            .unwrap_or_else(|e| panic!("{service} dashboard: {e}"));
        let tiles = if service == usage_metrics::SERVICE_NAME { 8 } else { 4 };
        assert_eq!(dashboard.mosaic_layout.tiles.len(), tiles, "{service}");
        for (id, policy) in &generated.policies {
            let policy = monitoring_api::check_alert_policy(&serde_json::to_value(policy).expect("JSON"))
                .unwrap_or_else(|e| panic!("{service} {id}: {e}"));
            assert_eq!(policy.conditions.len(), 1);
        }
    }
}

#[test]
fn the_rules_file_holds_the_policies_alerts() {
    let generated = generated(GENERIC, Dialect::Otlp);
    let documents = yaml_rust2::YamlLoader::load_from_str(&generated.rules).expect("YAML");
    let group = &documents[0]["groups"][0];
    assert_eq!(group["name"].as_str(), Some("zen-telemetry/checkout"));
    let rules = group["rules"].as_vec().expect("rules");
    assert_eq!(rules.len(), generated.policies.len());
    for (rule, (_, policy)) in rules.iter().zip(&generated.policies) {
        let policy = serde_json::to_value(policy).expect("JSON");
        let condition = &policy["conditions"][0]["conditionPrometheusQueryLanguage"];
        assert_eq!(rule["alert"].as_str(), condition["alertRule"].as_str());
        assert_eq!(rule["expr"].as_str(), condition["query"].as_str());
        assert_eq!(
            rule["labels"]["severity"].as_str(),
            condition["labels"]["severity"].as_str()
        );
        let for_secs = rule["for"]
            .as_str()
            .map_or(0, |m| m.trim_end_matches('m').parse::<u64>().expect("minutes") * 60);
        assert_eq!(condition["duration"], format!("{for_secs}s"));
        assert_eq!(rule["annotations"]["summary"].as_str(), policy["displayName"].as_str());
    }
}

#[test]
fn generated_files_match_their_snapshots() {
    for (service, dialect) in [
        (usage_metrics::SERVICE_NAME, Dialect::Otlp),
        (GENERIC, Dialect::Otlp),
        (GENERIC, Dialect::Prometheus),
    ] {
        let dialect_name = match dialect {
            Dialect::Otlp => "otlp",
            Dialect::Prometheus => "prometheus",
        };
        for (file, contents) in generated(service, dialect).files() {
            if dialect == Dialect::Prometheus && file != "prometheus-rules.yaml" {
                continue;
            }
            insta::assert_snapshot!(format!("{service}-{dialect_name}-{file}"), contents);
        }
    }
}

/// Runs `zen telemetry monitoring` with credentials for the fake OAuth server.
fn monitoring_command(dir: &TempDir, credentials: &Path, fake: &FakeMonitoring, args: &[&str]) -> Output {
    zen()
        .args(["telemetry", "monitoring", "--service", GENERIC, "--out"])
        .arg(dir.path("out"))
        .args(["--apply", "--project", PROJECT, "--endpoint", &fake.endpoint()])
        .args(args)
        .env("GOOGLE_APPLICATION_CREDENTIALS", credentials)
        .env("HOME", &dir.0)
        .output()
        .expect("run zen")
}

/// A temp dir, the OAuth fake, a service-account key for it, and the Monitoring fake.
fn fakes(tag: &str) -> (TempDir, FakeOAuth, std::path::PathBuf, FakeMonitoring) {
    let dir = TempDir::new(tag);
    let account = ServiceAccount::shared();
    let oauth = FakeOAuth::start_for(account, 3600, MONITORING_SCOPE);
    let credentials = account.write_credentials(&dir.0, &oauth.token_uri(), None);
    (dir, oauth, credentials, FakeMonitoring::start(PROJECT))
}

fn lines_with(out: &Output, verb: &str) -> usize {
    text(&out.stdout)
        .lines()
        .filter(|line| line.trim_start().starts_with(&format!("{verb} ")))
        .count()
}

#[test]
fn apply_creates_then_leaves_then_updates_in_place_and_never_touches_others() {
    let (dir, _oauth, credentials, fake) = fakes("monitoring-apply");
    let theirs = [
        fake.insert_dashboard(
            json!({"displayName": "Team board", "mosaicLayout": {"columns": 48, "tiles": []}}),
            PROJECT,
        ),
        fake.insert_policy(
            json!({"displayName": "Disk full", "conditions": [], "userLabels": {"team": "ops"}}),
            PROJECT,
        ),
        fake.insert_policy(
            json!({"displayName": "Other service's", "conditions": [],
                   "userLabels": {"managed_by": "zen-telemetry", "zen_telemetry_service": "payments",
                                  "zen_telemetry_object": "usage-anomaly"}}),
            PROJECT,
        ),
    ];
    let foreign = |fake: &FakeMonitoring| -> Vec<Value> {
        let all: Vec<Value> = fake.dashboards().into_iter().chain(fake.policies()).collect();
        theirs
            .iter()
            .map(|t| {
                all.iter()
                    .find(|o| o["name"] == t["name"])
                    .cloned()
                    .unwrap_or(Value::Null)
            })
            .collect()
    };

    let first = monitoring_command(&dir, &credentials, &fake, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    assert_eq!(lines_with(&first, "created"), 5, "{}", text(&first.stdout));
    assert_eq!(fake.dashboards().len(), 2);
    assert_eq!(fake.policies().len(), 2 + 4);
    let mutations = fake.mutations();
    assert_eq!(mutations.len(), 5, "{mutations:?}");
    assert!(mutations.iter().all(|m| m.starts_with("POST ")), "{mutations:?}");
    let requests = fake.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.headers.get("x-goog-user-project").map(String::as_str) == Some(PROJECT))
    );
    for file in ["dashboard.json", "alert-usage-anomaly.json", "prometheus-rules.yaml"] {
        assert!(dir.path("out").join(file).is_file(), "{file} was written too");
    }

    let second = monitoring_command(&dir, &credentials, &fake, &[]);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second.stderr));
    assert_eq!(lines_with(&second, "unchanged"), 5, "{}", text(&second.stdout));
    assert_eq!(fake.mutations().len(), 5, "the second apply changed nothing");

    let names_before: Vec<Value> = fake.policies().iter().map(|p| p["name"].clone()).collect();
    let dry_run = monitoring_command(&dir, &credentials, &fake, &["--success-objective", "99.9", "--dry-run"]);
    assert_eq!(dry_run.status.code(), Some(0), "{}", text(&dry_run.stderr));
    assert_eq!(lines_with(&dry_run, "would update"), 2, "{}", text(&dry_run.stdout));
    assert_eq!(fake.mutations().len(), 5, "a dry run changes nothing");
    let said = text(&dry_run.stdout);
    let would_update: Vec<&str> = said.lines().filter(|l| l.contains("would update")).collect();
    assert!(
        would_update.iter().all(|l| l.contains("disableMetricValidation: true")),
        "a dry run says the conditions skip the metric check: {said}"
    );

    let changed = monitoring_command(&dir, &credentials, &fake, &["--success-objective", "99.9"]);
    assert_eq!(changed.status.code(), Some(0), "{}", text(&changed.stderr));
    // The two burn-rate policies hold the budget; latency, usage and the dashboard do not.
    assert_eq!(lines_with(&changed, "updated"), 2, "{}", text(&changed.stdout));
    assert_eq!(lines_with(&changed, "unchanged"), 3, "{}", text(&changed.stdout));
    let names_after: Vec<Value> = fake.policies().iter().map(|p| p["name"].clone()).collect();
    assert_eq!(names_before, names_after, "updated in place");
    let fast_burn = fake
        .policies()
        .into_iter()
        .find(|p| {
            p["userLabels"]["zen_telemetry_object"] == "error-budget-fast-burn"
                && p["userLabels"]["zen_telemetry_service"] == GENERIC
        })
        .expect("the fast-burn policy");
    let query = fast_burn["conditions"][0]["conditionPrometheusQueryLanguage"]["query"]
        .as_str()
        .unwrap_or_default();
    // The flag's budget is the arm of the functions that declare no objective of their own.
    assert!(query.contains(r#"objective_success=""}[1h])) + 0.001)"#), "{query}");
    assert!(!query.contains(r#"objective_success=""}[1h])) + 0.01)"#), "{query}");
    assert!(
        fake.mutations()[5..].iter().all(|m| m.starts_with("PATCH ")),
        "{:?}",
        fake.mutations()
    );

    for policy in fake
        .policies()
        .iter()
        .filter(|p| p["userLabels"]["managed_by"] == "zen-telemetry")
    {
        let checked = monitoring_api::check_alert_policy(policy).expect("a valid policy");
        for condition in checked.conditions {
            let promql = condition
                .condition_prometheus_query_language
                .expect("a PromQL condition");
            assert_eq!(
                promql.disable_metric_validation,
                Some(true),
                "taken before zen's metrics have a point: {policy}"
            );
        }
    }
    assert_eq!(foreign(&fake), theirs.to_vec(), "objects of others are untouched");
    assert!(
        !fake.mutations().iter().any(|m| m.starts_with("DELETE")),
        "nothing is deleted"
    );
}

#[test]
fn a_refusal_names_the_role_or_the_api_to_enable() {
    let (dir, _oauth, credentials, fake) = fakes("monitoring-refused");
    fake.refuse(Refusal::MissingRole);
    let out = monitoring_command(&dir, &credentials, &fake, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("403 PERMISSION_DENIED"), "{stderr}");
    assert!(
        stderr.contains(&format!("roles/monitoring.editor on project {PROJECT}")),
        "{stderr}"
    );

    fake.refuse(Refusal::ApiDisabled);
    let out = monitoring_command(&dir, &credentials, &fake, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "gcloud services enable monitoring.googleapis.com --project {PROJECT}"
        )),
        "{stderr}"
    );
    assert!(fake.mutations().is_empty());
}

#[test]
fn credentials_never_go_to_a_plain_http_endpoint_off_this_machine() {
    let dir = TempDir::new("monitoring-endpoint");
    let out = zen()
        .args(["telemetry", "monitoring", "--service", GENERIC, "--out"])
        .arg(dir.path("out"))
        .args([
            "--apply",
            "--project",
            PROJECT,
            "--endpoint",
            "http://monitoring.example.com",
        ])
        .env("HOME", &dir.0)
        .output()
        .expect("run zen");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("http:// to a loopback address"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bad_objectives_are_usage_errors_that_name_the_flag() {
    let dir = TempDir::new("monitoring-objectives");
    let out = zen()
        .args([
            "telemetry",
            "monitoring",
            "--service",
            GENERIC,
            "--success-objective",
            "100",
            "--out",
        ])
        .arg(dir.path("out"))
        .output()
        .expect("run zen");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--success-objective 100"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path("out").exists(), "nothing is written");
}

/// A real Prometheus judges the rules file (`promtool check rules`, from
/// Debian's `prometheus` package). With Prometheus naming every rule must
/// parse. OTLP naming quotes dotted metric names (`{"function.calls"}`), which
/// only Prometheus 3 parses: an older promtool may refuse those, and nothing else.
#[test]
fn promtool_accepts_the_rules_file() {
    if !zen_tests::os_tool::require("promtool", "prometheus", "the rules file checked by promtool") {
        return;
    }
    let dir = TempDir::new("monitoring-promtool");
    for (dialect, flags) in [("prometheus", &["--metric-names", "prometheus"][..]), ("otlp", &[][..])] {
        let out = dir.path(dialect);
        let generated = zen()
            .args(["telemetry", "monitoring", "--service", GENERIC, "--out"])
            .arg(&out)
            .args(flags)
            .output()
            .expect("run zen");
        assert!(generated.status.success(), "{}", text(&generated.stderr));
        let checked = std::process::Command::new("promtool")
            .args(["check", "rules"])
            .arg(out.join("prometheus-rules.yaml"))
            .output()
            .expect("run promtool");
        let said = format!("{}{}", text(&checked.stdout), text(&checked.stderr));
        if dialect == "prometheus" || checked.status.success() {
            assert!(checked.status.success(), "{dialect}: {said}");
            assert!(said.contains("SUCCESS: 4 rules found"), "{dialect}: {said}");
            continue;
        }
        let errors: Vec<&str> = said.lines().filter(|line| line.contains("could not parse")).collect();
        assert_eq!(errors.len(), 4, "{said}");
        assert!(
            errors
                .iter()
                .all(|line| line.contains(r#"unexpected string "\"function."#)),
            "only the quoted metric names are beyond this promtool: {said}"
        );
    }
}
