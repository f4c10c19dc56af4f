//! A loopback stand-in for the Cloud Monitoring REST API: dashboards (v1)
//! and alert policies (v3), held in memory. Every body it is sent is read
//! into the types below, which spell the resources as Google's REST
//! reference does, with `deny_unknown_fields`: a misspelt or invented field
//! is a 400, as it is at Google.
//!
//! - <https://cloud.google.com/monitoring/api/ref_v3/rest/v1/projects.dashboards>
//!   and the `Dashboard`, `MosaicLayout`, `Widget`, `XyChart`, `DataSet`,
//!   `TimeSeriesQuery`, `TimeSeriesTable` pages it links;
//! - <https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.alertPolicies>
//!   (`AlertPolicy`, `Condition`, `PrometheusQueryLanguageCondition`);
//! - errors: <https://cloud.google.com/apis/design/errors>.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::gcp_fakes::{HttpRequest, HttpResponse, HttpServer};

/// Dashboard (v1).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Dashboard {
    /// `projects/P/dashboards/ID`; set by the server on create.
    pub name: Option<String>,
    /// Required.
    pub display_name: String,
    /// Must match on update.
    pub etag: Option<String>,
    /// `map<string, string>`.
    pub labels: Option<BTreeMap<String, String>>,
    /// One layout; this fake knows the mosaic one.
    pub mosaic_layout: MosaicLayout,
    /// Dashboard-wide filters.
    pub dashboard_filters: Option<Vec<Value>>,
}

/// MosaicLayout.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MosaicLayout {
    /// The grid's width.
    pub columns: i32,
    /// Its tiles.
    pub tiles: Vec<Tile>,
}

/// MosaicLayout.Tile.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Tile {
    /// Column.
    pub x_pos: Option<i32>,
    /// Row.
    pub y_pos: Option<i32>,
    /// Width.
    pub width: i32,
    /// Height.
    pub height: i32,
    /// Content.
    pub widget: Widget,
}

/// Widget: a title and exactly one content.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Widget {
    /// Title.
    pub title: Option<String>,
    /// Chart.
    pub xy_chart: Option<XyChart>,
    /// Table.
    pub time_series_table: Option<TimeSeriesTable>,
    /// Scorecard.
    pub scorecard: Option<Value>,
    /// Text.
    pub text: Option<Value>,
}

/// XyChart.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct XyChart {
    /// Required.
    pub data_sets: Vec<DataSet>,
    /// Thresholds.
    pub thresholds: Option<Vec<Value>>,
    /// `Duration`.
    pub timeshift_duration: Option<String>,
    /// Axis.
    pub x_axis: Option<Axis>,
    /// Axis.
    pub y_axis: Option<Axis>,
    /// Axis.
    pub y2_axis: Option<Axis>,
    /// Options.
    pub chart_options: Option<Value>,
}

/// XyChart.DataSet.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DataSet {
    /// Required.
    pub time_series_query: TimeSeriesQuery,
    /// The plot type.
    pub plot_type: Option<PlotType>,
    /// `Y1` or `Y2`.
    pub target_axis: Option<TargetAxis>,
    /// Legend.
    pub legend_template: Option<String>,
    /// `Duration`.
    pub min_alignment_period: Option<String>,
}

/// XyChart.DataSet.PlotType.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PlotType {
    /// Lines.
    Line,
    /// Stacked areas.
    StackedArea,
    /// Stacked bars.
    StackedBar,
    /// Heatmap.
    Heatmap,
}

/// XyChart.DataSet.TargetAxis.
#[derive(Debug, Deserialize)]
pub enum TargetAxis {
    /// Left.
    Y1,
    /// Right.
    Y2,
}

/// XyChart.Axis.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    /// Label.
    pub label: Option<String>,
    /// `LINEAR` or `LOG10`.
    pub scale: Option<Scale>,
}

/// XyChart.Axis.Scale.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Scale {
    /// Linear.
    Linear,
    /// Logarithmic.
    Log10,
}

/// TimeSeriesQuery: exactly one query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TimeSeriesQuery {
    /// PromQL.
    pub prometheus_query: Option<String>,
    /// Filter.
    pub time_series_filter: Option<Value>,
    /// Ratio.
    pub time_series_filter_ratio: Option<Value>,
    /// MQL.
    pub time_series_query_language: Option<String>,
    /// UCUM unit.
    pub unit_override: Option<String>,
    /// Whole range.
    pub output_full_duration: Option<bool>,
}

/// TimeSeriesTable.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TimeSeriesTable {
    /// Required.
    pub data_sets: Vec<TableDataSet>,
    /// Visualization.
    pub metric_visualization: Option<String>,
    /// Columns.
    pub column_settings: Option<Vec<Value>>,
}

/// TimeSeriesTable.TableDataSet.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TableDataSet {
    /// Required.
    pub time_series_query: TimeSeriesQuery,
    /// Row name template.
    pub table_template: Option<String>,
    /// `Duration`.
    pub min_alignment_period: Option<String>,
    /// Options.
    pub table_display_options: Option<Value>,
}

/// AlertPolicy (v3).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AlertPolicy {
    /// Set by the server.
    pub name: Option<String>,
    /// At most 512 characters.
    pub display_name: String,
    /// Notification text.
    pub documentation: Option<Documentation>,
    /// At most 64, keys and values `[a-z0-9_-]{0,63}`, keys start with a letter.
    pub user_labels: Option<BTreeMap<String, String>>,
    /// A PromQL policy has exactly one.
    pub conditions: Vec<Condition>,
    /// How conditions combine.
    pub combiner: Option<Combiner>,
    /// On or off.
    pub enabled: Option<bool>,
    /// Output only.
    pub validity: Option<Value>,
    /// `projects/P/notificationChannels/ID`.
    pub notification_channels: Option<Vec<String>>,
    /// Output only.
    pub creation_record: Option<Value>,
    /// Output only.
    pub mutation_record: Option<Value>,
    /// Auto-close and rate limits.
    pub alert_strategy: Option<AlertStrategy>,
    /// Severity.
    pub severity: Option<Severity>,
}

/// AlertPolicy.Documentation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Documentation {
    /// At most 8192 characters.
    pub content: Option<String>,
    /// `text/markdown`.
    pub mime_type: Option<String>,
    /// At most 255 characters.
    pub subject: Option<String>,
    /// Links.
    pub links: Option<Vec<Value>>,
}

/// AlertPolicy.Condition.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Condition {
    /// Set by the server.
    pub name: Option<String>,
    /// Title.
    pub display_name: Option<String>,
    /// PromQL.
    pub condition_prometheus_query_language: Option<PrometheusQueryLanguageCondition>,
    /// Threshold.
    pub condition_threshold: Option<Value>,
    /// Absence.
    pub condition_absent: Option<Value>,
    /// MQL.
    pub condition_monitoring_query_language: Option<Value>,
}

/// AlertPolicy.Condition.PrometheusQueryLanguageCondition.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PrometheusQueryLanguageCondition {
    /// Required.
    pub query: String,
    /// `Duration`, e.g. `"600s"`.
    pub duration: Option<String>,
    /// `Duration`, a multiple of 30 s.
    pub evaluation_interval: Option<String>,
    /// Label names must be valid Prometheus label names.
    pub labels: Option<BTreeMap<String, String>>,
    /// UTF-8.
    pub rule_group: Option<String>,
    /// A valid Prometheus label name.
    pub alert_rule: Option<String>,
    /// Skip the metric check.
    pub disable_metric_validation: Option<bool>,
}

/// AlertPolicy.ConditionCombinerType.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Combiner {
    /// Unspecified.
    CombineUnspecified,
    /// All.
    And,
    /// Any.
    Or,
    /// All, on one resource.
    AndWithMatchingResource,
}

/// AlertPolicy.Severity.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    /// Unspecified.
    SeverityUnspecified,
    /// Critical.
    Critical,
    /// Error.
    Error,
    /// Warning.
    Warning,
}

/// AlertPolicy.AlertStrategy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AlertStrategy {
    /// `Duration`.
    pub auto_close: Option<String>,
    /// Rate limit.
    pub notification_rate_limit: Option<Value>,
    /// Per-channel strategy.
    pub notification_channel_strategy: Option<Vec<Value>>,
    /// Prompts.
    pub notification_prompts: Option<Vec<Value>>,
}

/// Checks a dashboard body as `dashboards.create` would.
pub fn check_dashboard(body: &Value) -> Result<Dashboard, String> {
    let dashboard: Dashboard = serde_json::from_value(body.clone()).map_err(|e| format!("Dashboard: {e}"))?;
    check_labels(dashboard.labels.as_ref())?;
    for tile in &dashboard.mosaic_layout.tiles {
        let widget = &tile.widget;
        let contents = [
            widget.xy_chart.is_some(),
            widget.time_series_table.is_some(),
            widget.scorecard.is_some(),
            widget.text.is_some(),
        ];
        if contents.iter().filter(|c| **c).count() != 1 {
            return Err(format!("widget {:?}: exactly one content", widget.title));
        }
        let queries = widget
            .xy_chart
            .iter()
            .flat_map(|chart| chart.data_sets.iter().map(|d| &d.time_series_query))
            .chain(
                widget
                    .time_series_table
                    .iter()
                    .flat_map(|table| table.data_sets.iter().map(|d| &d.time_series_query)),
            );
        for query in queries {
            let set = [
                query.prometheus_query.is_some(),
                query.time_series_filter.is_some(),
                query.time_series_filter_ratio.is_some(),
                query.time_series_query_language.is_some(),
            ];
            if set.iter().filter(|s| **s).count() != 1 {
                return Err(format!("widget {:?}: a query needs exactly one kind", widget.title));
            }
        }
        if tile.width < 1 || tile.height < 1 || tile.x_pos.unwrap_or(0) + tile.width > dashboard.mosaic_layout.columns {
            return Err(format!("tile {:?} does not fit the grid", widget.title));
        }
    }
    Ok(dashboard)
}

/// Checks an alert policy body as `alertPolicies.create` would.
pub fn check_alert_policy(body: &Value) -> Result<AlertPolicy, String> {
    let policy: AlertPolicy = serde_json::from_value(body.clone()).map_err(|e| format!("AlertPolicy: {e}"))?;
    if policy.display_name.chars().count() > 512 {
        return Err("displayName is over 512 characters".to_owned());
    }
    check_labels(policy.user_labels.as_ref())?;
    if let Some(documentation) = &policy.documentation {
        if documentation.content.as_ref().is_some_and(|c| c.chars().count() > 8192) {
            return Err("documentation.content is over 8192 characters".to_owned());
        }
        if documentation.subject.as_ref().is_some_and(|s| s.chars().count() > 255) {
            return Err("documentation.subject is over 255 characters".to_owned());
        }
    }
    let promql = policy
        .conditions
        .iter()
        .filter(|c| c.condition_prometheus_query_language.is_some())
        .count();
    if promql > 0 && policy.conditions.len() != 1 {
        return Err("a policy with a PromQL condition must have exactly one condition".to_owned());
    }
    for condition in &policy.conditions {
        let Some(promql) = &condition.condition_prometheus_query_language else {
            continue;
        };
        if let Some(duration) = &promql.duration {
            seconds(duration)?;
        }
        if let Some(interval) = &promql.evaluation_interval
            && (seconds(interval)? == 0 || seconds(interval)? % 30 != 0)
        {
            return Err(format!("evaluationInterval {interval}: a positive multiple of 30s"));
        }
        if let Some(rule) = &promql.alert_rule
            && !prometheus_label_name(rule)
        {
            return Err(format!("alertRule {rule:?} is not a valid label name"));
        }
        for key in promql.labels.iter().flat_map(BTreeMap::keys) {
            if !prometheus_label_name(key) {
                return Err(format!("label {key:?} is not a valid label name"));
            }
        }
    }
    if let Some(auto_close) = policy.alert_strategy.as_ref().and_then(|s| s.auto_close.as_ref()) {
        seconds(auto_close)?;
    }
    Ok(policy)
}

fn seconds(duration: &str) -> Result<u64, String> {
    duration
        .strip_suffix('s')
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("{duration:?} is not a Duration like \"600s\""))
}

fn prometheus_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_labels(labels: Option<&BTreeMap<String, String>>) -> Result<(), String> {
    let Some(labels) = labels else { return Ok(()) };
    let allowed = |text: &str| {
        text.len() <= 63
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    };
    if labels.len() > 64 {
        return Err("more than 64 labels".to_owned());
    }
    for (key, value) in labels {
        if !key.starts_with(|c: char| c.is_ascii_lowercase()) || !allowed(key) || !allowed(value) {
            return Err(format!(
                "label {key:?}={value:?}: lowercase letters, digits, _ and -, at most 63"
            ));
        }
    }
    Ok(())
}

/// How the fake refuses every request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 403: the account lacks the permission.
    MissingRole,
    /// 403 with `SERVICE_DISABLED`: the API is not enabled.
    ApiDisabled,
}

#[derive(Default)]
struct Store {
    dashboards: Vec<Value>,
    policies: Vec<Value>,
    next_id: u64,
    refusal: Option<Refusal>,
}

/// The fake API for one project; point `--endpoint` at [`FakeMonitoring::endpoint`].
pub struct FakeMonitoring {
    server: HttpServer,
    store: Arc<Mutex<Store>>,
}

/// Items per list page: small, so clients must follow `nextPageToken`.
const PAGE_SIZE: usize = 3;

impl FakeMonitoring {
    /// Serves `project`, accepting bearer tokens issued by the fake OAuth server.
    pub fn start(project: &str) -> FakeMonitoring {
        let store: Arc<Mutex<Store>> = Arc::default();
        let state = store.clone();
        let project = project.to_owned();
        let server = HttpServer::start(Arc::new(move |request| {
            let mut store = state.lock().unwrap_or_else(|p| p.into_inner());
            Some(handle(&mut store, &project, request))
        }));
        FakeMonitoring { server, store }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// Refuse every request from now on.
    pub fn refuse(&self, refusal: Refusal) {
        self.lock().refusal = Some(refusal);
    }

    /// Adds a dashboard someone else made; returns it as stored.
    pub fn insert_dashboard(&self, mut dashboard: Value, project: &str) -> Value {
        let mut store = self.lock();
        store.next_id += 1;
        dashboard["name"] = json!(format!("projects/{project}/dashboards/foreign-{}", store.next_id));
        dashboard["etag"] = json!(format!("etag-{}", store.next_id));
        store.dashboards.push(dashboard.clone());
        dashboard
    }

    /// Adds an alert policy someone else made; returns it as stored.
    pub fn insert_policy(&self, mut policy: Value, project: &str) -> Value {
        let mut store = self.lock();
        store.next_id += 1;
        policy["name"] = json!(format!("projects/{project}/alertPolicies/foreign-{}", store.next_id));
        store.policies.push(policy.clone());
        policy
    }

    /// The dashboards held now.
    pub fn dashboards(&self) -> Vec<Value> {
        self.lock().dashboards.clone()
    }

    /// The alert policies held now.
    pub fn policies(&self) -> Vec<Value> {
        self.lock().policies.clone()
    }

    /// Every request that was not a read: `METHOD path`.
    pub fn mutations(&self) -> Vec<String> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.method != "GET")
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    /// Every request, as the server saw it.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.server.requests()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn error(code: u16, status: &str, message: &str, details: Value) -> HttpResponse {
    let body = json!({"error": {"code": code, "message": message, "status": status, "details": details}});
    HttpResponse::new(code, body.to_string()).header("content-type", "application/json")
}

fn ok(body: &Value) -> HttpResponse {
    HttpResponse::new(200, body.to_string()).header("content-type", "application/json")
}

fn handle(store: &mut Store, project: &str, request: &HttpRequest) -> HttpResponse {
    let bearer = request
        .headers
        .get("authorization")
        .map(String::as_str)
        .unwrap_or_default();
    if !bearer.starts_with("Bearer fake-access-token-") {
        return error(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
            json!([]),
        );
    }
    if request.headers.get("x-goog-user-project").map(String::as_str) != Some(project) {
        return error(
            403,
            "PERMISSION_DENIED",
            "x-goog-user-project names another project",
            json!([]),
        );
    }
    match store.refusal {
        Some(Refusal::MissingRole) => {
            return error(
                403,
                "PERMISSION_DENIED",
                "Permission monitoring.dashboards.list denied (or the resource may not exist).",
                json!([]),
            );
        }
        Some(Refusal::ApiDisabled) => {
            return error(
                403,
                "PERMISSION_DENIED",
                "Cloud Monitoring API has not been used in project 123456 before or it is disabled.",
                json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED",
                    "domain": "googleapis.com",
                    "metadata": {"service": "monitoring.googleapis.com", "consumer": "projects/123456"}}]),
            );
        }
        None => {}
    }
    let (path, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
    let dashboards = format!("/v1/projects/{project}/dashboards");
    let policies = format!("/v3/projects/{project}/alertPolicies");
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    match request.method.as_str() {
        "GET" if path == dashboards => list(&store.dashboards, "dashboards", query),
        "GET" if path == policies => list(&store.policies, "alertPolicies", query),
        "POST" if path == dashboards => {
            if let Err(reason) = check_dashboard(&body) {
                return error(400, "INVALID_ARGUMENT", &reason, json!([]));
            }
            store.next_id += 1;
            let mut created = body;
            created["name"] = json!(format!("projects/{project}/dashboards/{}", store.next_id));
            created["etag"] = json!(format!("etag-{}", store.next_id));
            store.dashboards.push(created.clone());
            ok(&created)
        }
        "POST" if path == policies => {
            if let Err(reason) = check_alert_policy(&body) {
                return error(400, "INVALID_ARGUMENT", &reason, json!([]));
            }
            store.next_id += 1;
            let name = format!("projects/{project}/alertPolicies/{}", store.next_id);
            let created = as_stored(body, &name, None);
            store.policies.push(created.clone());
            ok(&created)
        }
        "PATCH" if path.starts_with(&format!("{dashboards}/")) => {
            let name = path.trim_start_matches("/v1/");
            let Some(index) = store.dashboards.iter().position(|d| d["name"] == name) else {
                return error(404, "NOT_FOUND", &format!("{name} not found"), json!([]));
            };
            if let Err(reason) = check_dashboard(&body) {
                return error(400, "INVALID_ARGUMENT", &reason, json!([]));
            }
            if body["etag"] != store.dashboards[index]["etag"] {
                return error(409, "ABORTED", "the etag does not match the dashboard's", json!([]));
            }
            store.next_id += 1;
            let mut updated = body;
            updated["name"] = json!(name);
            updated["etag"] = json!(format!("etag-{}", store.next_id));
            store.dashboards[index] = updated.clone();
            ok(&updated)
        }
        "PATCH" if path.starts_with(&format!("{policies}/")) => {
            let name = path.trim_start_matches("/v3/").to_owned();
            let Some(index) = store.policies.iter().position(|p| p["name"] == name.as_str()) else {
                return error(404, "NOT_FOUND", &format!("{name} not found"), json!([]));
            };
            if !query.is_empty() {
                return error(
                    400,
                    "INVALID_ARGUMENT",
                    "this fake replaces whole policies only",
                    json!([]),
                );
            }
            if let Err(reason) = check_alert_policy(&body) {
                return error(400, "INVALID_ARGUMENT", &reason, json!([]));
            }
            let updated = as_stored(body, &name, Some(&store.policies[index]));
            store.policies[index] = updated.clone();
            ok(&updated)
        }
        _ => error(
            404,
            "NOT_FOUND",
            &format!("{} {} is not served here", request.method, request.path),
            json!([]),
        ),
    }
}

/// A policy as the server keeps it: names on it and its conditions, records,
/// and the empty lists proto3 JSON leaves out.
fn as_stored(mut policy: Value, name: &str, previous: Option<&Value>) -> Value {
    policy["name"] = json!(name);
    if let Some(conditions) = policy["conditions"].as_array_mut() {
        for (index, condition) in conditions.iter_mut().enumerate() {
            if condition.get("name").is_none() {
                condition["name"] = json!(format!("{name}/conditions/{index}"));
            }
        }
    }
    let created = previous.map_or(json!({"mutateTime": "2026-12-03T00:00:00Z"}), |p| {
        p["creationRecord"].clone()
    });
    policy["creationRecord"] = created;
    policy["mutationRecord"] = json!({"mutateTime": "2026-12-03T00:00:01Z"});
    if let Some(fields) = policy.as_object_mut() {
        fields.retain(|_, value| value.as_array().is_none_or(|items| !items.is_empty()));
    }
    policy
}

fn list(items: &[Value], field: &str, query: &str) -> HttpResponse {
    let start: usize = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("pageToken="))
        .and_then(|token| token.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = items.iter().skip(start).take(PAGE_SIZE).cloned().collect();
    let mut body = json!({ field: page });
    if start + PAGE_SIZE < items.len() {
        body["nextPageToken"] = json!((start + PAGE_SIZE).to_string());
    }
    ok(&body)
}
