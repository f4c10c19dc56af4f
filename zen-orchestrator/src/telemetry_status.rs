//! `zen telemetry status`: whether zen's telemetry is on and why, where spans
//! would go, where credentials would come from (never the secret itself),
//! and what data is collected.

use serde_json::{Value, json};
use zen_telemetry::gcp::GcpSettings;
use zen_telemetry::{Config, ExporterKind};

/// What zen's spans can carry; the full list with reasons is docs/telemetry-data.md.
const DATA: &[&str] = &[
    "span names (zen's own steps) and durations",
    "status, error type and scrubbed error message of failed steps",
    "zen.* attributes: counts, budgets, exit codes, token and cost totals (no prompts, paths or output)",
    "trace and span ids",
    "resource: service.name, service.version, telemetry.sdk.*, a random service.instance.id; gcp.project_id (and cloud.region on metric points) when exporting to Google Cloud",
    "metrics: calls and durations of zen's own steps by function, module and result; runs, instances, tokens and cost by fixed words (no names)",
];

/// The OTLP endpoint variables in force.
#[derive(Clone, Copy, Debug, Default)]
pub struct OtlpEndpoints<'a> {
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub traces: Option<&'a str>,
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub metrics: Option<&'a str>,
}

/// Where metric points go, and how often; `null` when none are exported.
fn metrics(config: &Config, otlp: OtlpEndpoints<'_>) -> Value {
    if !config.metrics || !config.turns_on() {
        return Value::Null;
    }
    let mut destination = destination(config, otlp.metrics);
    if config.resolved_exporter() == ExporterKind::File {
        destination["path"] = json!(config.metrics_file().display().to_string());
    }
    json!({
        "destination": destination,
        "interval_ms": u64::try_from(config.metric_export_interval.as_millis()).unwrap_or(u64::MAX),
    })
}

/// The destination part of the status.
fn destination(config: &Config, otlp_endpoint: Option<&str>) -> Value {
    match config.resolved_exporter() {
        ExporterKind::Gcp => gcp_destination(&config.gcp),
        ExporterKind::Otlp => json!({
            "kind": "otlp",
            "endpoint": otlp_endpoint.unwrap_or("http://localhost:4317"),
        }),
        ExporterKind::File => json!({"kind": "file", "path": config.file_path.display().to_string()}),
        ExporterKind::Stdout => json!({"kind": "stdout"}),
        _ => json!({"kind": "none"}),
    }
}

fn gcp_destination(gcp: &GcpSettings) -> Value {
    let (project_id, project_source) = match &gcp.project {
        Some(project) => (Some(project.id.clone()), project.source.to_string()),
        None => (
            None,
            format!("asked of the metadata server ({}) at the first span", gcp.metadata_host),
        ),
    };
    let credentials_kind = gcp.credentials.kind();
    json!({
        "kind": "gcp",
        "project_id": project_id,
        "project_source": project_source,
        "endpoint": gcp.endpoint,
        "credentials": credentials_kind,
        "credentials_source": gcp.credentials.to_string(),
        "metadata_server": gcp.metadata_check.then(|| gcp.metadata_host.clone()),
    })
}

/// The status as JSON.
pub fn to_json(config: &Config, otlp: OtlpEndpoints<'_>, traceparent_present: bool) -> Value {
    json!({
        "enabled": !config.is_disabled(),
        "disabled_by": config.disabled_by.as_ref().map(ToString::to_string),
        "will_record": config.turns_on(),
        "sample_rate": config.sample_rate,
        "service_name": config.service_name,
        "service_version": config.service_version,
        "exporter": config.exporter.as_str(),
        "resolved_exporter": config.resolved_exporter().as_str(),
        "destination": destination(config, otlp.traces),
        "metrics": metrics(config, otlp),
        "error_messages": config.error_messages,
        "traceparent_present": traceparent_present,
        "shutdown_timeout_ms": u64::try_from(config.shutdown_timeout.as_millis()).unwrap_or(u64::MAX),
        "spool": spool(config),
        "data": DATA,
    })
}

/// Where undelivered batches wait for the next run, and what waits there.
fn spool(config: &Config) -> Value {
    let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let destinations: Vec<Value> = zen_telemetry::spool_status(config)
        .into_iter()
        .map(|spool| {
            json!({
                "dir": spool.dir.display().to_string(),
                "batches": spool.batches,
                "bytes": spool.bytes,
                "oldest_s": spool.oldest.map(|age| age.as_secs()),
            })
        })
        .collect();
    json!({
        "enabled": config.spool.enabled,
        "root": config.spool.root.as_ref().map(|root| root.display().to_string()),
        "max_bytes": config.spool.max_bytes,
        "exit_budget_ms": millis(config.spool.exit_budget),
        "destinations": destinations,
    })
}

fn spool_lines(config: &Config) -> Vec<String> {
    if !config.spool.enabled {
        return vec!["spool: off (ZEN_TELEMETRY_SPOOL=off)".to_owned()];
    }
    let Some(root) = &config.spool.root else {
        return vec!["spool: none (neither XDG_STATE_HOME nor HOME is set)".to_owned()];
    };
    let spools = zen_telemetry::spool_status(config);
    if spools.is_empty() {
        return vec![format!("spool: {} (not used for this destination)", root.display())];
    }
    spools
        .iter()
        .map(|spool| {
            let waiting = match spool.oldest {
                Some(age) => format!(
                    "{} batches, {} KiB, the oldest {} s old",
                    spool.batches,
                    spool.bytes.div_ceil(1024),
                    age.as_secs()
                ),
                None => "empty".to_owned(),
            };
            format!(
                "spool: {}: {waiting} (sent by the next run; up to {} MiB, {} ms at exit)",
                spool.dir.display(),
                config.spool.max_bytes / (1024 * 1024),
                config.spool.exit_budget.as_millis()
            )
        })
        .collect()
}

/// The status as text, one fact per line.
pub fn to_text(config: &Config, otlp: OtlpEndpoints<'_>, traceparent_present: bool) -> String {
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    match &config.disabled_by {
        Some(by) => line(format!("telemetry: disabled by {by}")),
        None if !config.turns_on() => line("telemetry: enabled, but records nothing (no destination found)".into()),
        None => line("telemetry: enabled".into()),
    }
    line(format!("sample rate: {}", config.sample_rate));
    line(format!("service: {} {}", config.service_name, config.service_version));
    line(format!(
        "exporter: {} (resolves to {})",
        config.exporter,
        config.resolved_exporter()
    ));
    let destination = destination(config, otlp.traces);
    let field = |name: &str| destination[name].as_str().map(str::to_owned);
    match config.resolved_exporter() {
        ExporterKind::Gcp => {
            match field("project_id") {
                Some(id) => line(format!(
                    "google cloud project: {id} (from {})",
                    config_source(&destination)
                )),
                None => line(format!("google cloud project: {}", config_source(&destination))),
            }
            line(format!("endpoint: {}", field("endpoint").unwrap_or_default()));
            line(format!(
                "credentials: {}",
                field("credentials_source").unwrap_or_default()
            ));
        }
        ExporterKind::Otlp => line(format!("endpoint: {}", field("endpoint").unwrap_or_default())),
        ExporterKind::File => line(format!("file: {}", field("path").unwrap_or_default())),
        _ => {}
    }
    let metrics = metrics(config, otlp);
    match metrics["destination"]["kind"].as_str() {
        None if !config.metrics => line("metrics: off (ZEN_TELEMETRY_METRICS=false)".into()),
        None => line("metrics: none (telemetry records nothing)".into()),
        Some(kind) => {
            let place = metrics["destination"]["path"]
                .as_str()
                .or_else(|| metrics["destination"]["endpoint"].as_str())
                .map(|place| format!(" {place}"))
                .unwrap_or_default();
            line(format!(
                "metrics: {kind}{place}, every {} s",
                config.metric_export_interval.as_secs_f64()
            ));
        }
    }
    line(format!(
        "error messages: {}",
        if config.error_messages {
            "exported, scrubbed and cut to 512 characters"
        } else {
            "off (ZEN_TELEMETRY_ERROR_MESSAGES=false): error type only"
        }
    ));
    line(format!(
        "TRACEPARENT: {}",
        if traceparent_present {
            "present (root spans join that trace)"
        } else {
            "not set"
        }
    ));
    line(format!("shutdown timeout: {} ms", config.shutdown_timeout.as_millis()));
    if config.turns_on() {
        for spool in spool_lines(config) {
            line(spool);
        }
    }
    line("data collected:".into());
    for item in DATA {
        line(format!("  - {item}"));
    }
    line("  (every attribute key and why: docs/telemetry-data.md)".into());
    out
}

fn config_source(destination: &Value) -> String {
    destination["project_source"].as_str().unwrap_or_default().to_owned()
}
