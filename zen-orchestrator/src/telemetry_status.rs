//! `zen telemetry status`: whether zen's telemetry is on and why, where spans
//! would go, where credentials would come from (never the secret itself),
//! and what data is collected.

use serde_json::{Value, json};
use zen_telemetry::config::OtlpDestination;
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

/// Where metric points go, and how often; `null` when none are exported.
fn metrics(config: &Config) -> Value {
    if !config.metrics || !config.turns_on() {
        return Value::Null;
    }
    let mut destination = destination(config, &config.otlp.metrics);
    if config.resolved_exporter() == ExporterKind::File {
        destination["path"] = json!(config.metrics_file().display().to_string());
    }
    json!({
        "destination": destination,
        "interval_ms": u64::try_from(config.metric_export_interval.as_millis()).unwrap_or(u64::MAX),
    })
}

/// The destination part of the status.
fn destination(config: &Config, otlp: &OtlpDestination) -> Value {
    match config.resolved_exporter() {
        ExporterKind::Gcp => gcp_destination(&config.gcp),
        ExporterKind::Otlp => json!({
            "kind": "otlp",
            "endpoint": otlp.endpoint_or_default(),
            "endpoint_set": otlp.endpoint.is_some(),
            "endpoint_rejected": otlp.rejected_endpoint,
            // Names only: header values may be secrets.
            "headers": otlp.headers.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(),
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
///
/// `traceparent_given`: whether `TRACEPARENT` is set at all; the
/// configuration holds it only when it is valid.
pub fn to_json(config: &Config, traceparent_given: bool) -> Value {
    json!({
        "enabled": !config.is_disabled(),
        "disabled_by": config.disabled_by.as_ref().map(ToString::to_string),
        "will_record": config.turns_on(),
        "sample_rate": config.sample_rate,
        "service_name": config.service_name,
        "service_version": config.service_version,
        "exporter": config.exporter.as_str(),
        "resolved_exporter": config.resolved_exporter().as_str(),
        "destination": destination(config, &config.otlp.traces),
        "metrics": metrics(config),
        "error_messages": config.error_messages,
        "traceparent_present": config.process_parent.is_some(),
        "traceparent_invalid": traceparent_given && config.process_parent.is_none(),
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
pub fn to_text(config: &Config, traceparent_given: bool) -> String {
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
    let destination = destination(config, &config.otlp.traces);
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
        ExporterKind::Otlp => match config.otlp.traces.rejected_endpoint {
            Some(variable) if config.otlp.traces.endpoint.is_none() => line(format!(
                "endpoint: not set ({variable} is not a URL); the default {} is used",
                config.otlp.traces.endpoint_or_default()
            )),
            _ => line(format!("endpoint: {}", field("endpoint").unwrap_or_default())),
        },
        ExporterKind::File => line(format!("file: {}", field("path").unwrap_or_default())),
        _ => {}
    }
    if config.resolved_exporter() != ExporterKind::Otlp
        && let Some(variable) = config.otlp.traces.rejected_endpoint
    {
        line(format!("otlp endpoint: not set ({variable} is not a URL)"));
    }
    let metrics = metrics(config);
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
        match (&config.process_parent, traceparent_given) {
            (Some(_), _) => "present (root spans join that trace)",
            (None, true) => "invalid, ignored (not W3C trace context: 00-<32 hex>-<16 hex>-<2 hex>)",
            (None, false) => "not set",
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

/// `--check`: sends one span and one metric point to each configured
/// destination and prints, per signal, success or why not. Returns the exit
/// code: 0 when everything checked was delivered, 1 otherwise (disabled
/// included: nothing can be delivered).
pub fn check(config: &Config, json: bool) -> u8 {
    if config.is_disabled() {
        println!("check: telemetry is disabled; nothing was sent");
        return 1;
    }
    let checks = zen_telemetry::check_destinations(config);
    if json {
        let rows: Vec<Value> = checks
            .iter()
            .map(|check| {
                json!({
                    "signal": check.signal,
                    "exporter": check.exporter.as_str(),
                    "delivered": check.result.is_ok(),
                    "error": check.result.as_ref().err(),
                })
            })
            .collect();
        println!("{:#}", json!({ "check": rows }));
    } else if checks.is_empty() {
        println!(
            "check: no network destination to check (exporter {})",
            config.resolved_exporter()
        );
    } else {
        for check in &checks {
            match &check.result {
                Ok(()) => println!("check {}: delivered ({})", check.signal, check.exporter),
                Err(reason) => println!("check {}: NOT delivered: {reason}", check.signal),
            }
        }
    }
    u8::from(checks.iter().any(|check| check.result.is_err()))
}
