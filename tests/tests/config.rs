//! Every configuration variable: valid values, invalid values (one warning,
//! default used) and precedence between code, `ZEN_*` and `OTEL_*`.

use std::collections::HashMap;
use std::time::Duration;

use zen_telemetry::config::{DEFAULT_SAMPLE_RATE, DEFAULT_SERVICE_NAME};
use zen_telemetry::{Config, ConfigWarning, DisabledBy, ExporterKind};

fn read(vars: &[(&str, &str)]) -> (Config, Vec<ConfigWarning>) {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::from_lookup(|name| map.get(name).cloned())
}

fn read_clean(vars: &[(&str, &str)]) -> Config {
    let (config, warnings) = read(vars);
    assert!(warnings.is_empty(), "unexpected warnings for {vars:?}: {warnings:?}");
    config
}

fn read_invalid(var: &'static str, value: &str) -> Config {
    let (config, warnings) = read(&[(var, value)]);
    assert_eq!(
        warnings.len(),
        1,
        "{var}={value:?} must warn exactly once: {warnings:?}"
    );
    assert_eq!(warnings[0].variable, var);
    assert_eq!(warnings[0].value.trim(), value.trim());
    let text = warnings[0].to_string();
    assert!(text.contains(var) && text.contains("expected"), "warning text: {text}");
    config
}

#[test]
fn defaults_with_an_empty_environment() {
    let config = read_clean(&[]);
    assert!(!config.is_disabled());
    assert_eq!(config.sample_rate, DEFAULT_SAMPLE_RATE);
    assert_eq!(config.service_name, DEFAULT_SERVICE_NAME);
    assert_eq!(config.service_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(config.exporter, ExporterKind::Auto);
    // No project yet: the metadata server will be asked at the first span.
    assert_eq!(config.resolved_exporter(), ExporterKind::Gcp);
    assert!(config.gcp.project.is_none());
    let offline = read_clean(&[("NO_GCE_CHECK", "true")]);
    assert_eq!(offline.resolved_exporter(), ExporterKind::None);
    assert!(!offline.turns_on(), "no destination means nothing is recorded");
    assert_eq!(config.file_path.to_str(), Some("zen-traces.jsonl"));
    assert_eq!(config.batch.max_queue_size, 2048);
    assert_eq!(config.batch.max_export_batch_size, 512);
    assert_eq!(config.batch.schedule_delay, Duration::from_millis(5000));
    assert_eq!(config.batch.export_timeout, Duration::from_millis(30000));
    assert_eq!(config.shutdown_timeout, Duration::from_millis(3000));
    assert!(!config.debug);
}

#[test]
fn zen_telemetry_disabled_values_that_disable() {
    for value in ["true", "1", "yes", "on", "TRUE", " Yes ", "On"] {
        let config = read_clean(&[("ZEN_TELEMETRY_DISABLED", value)]);
        assert_eq!(
            config.disabled_by,
            Some(DisabledBy::ZenTelemetryDisabled),
            "value {value:?}"
        );
    }
}

#[test]
fn zen_telemetry_disabled_values_that_keep_it_on() {
    for value in ["false", "0", "no", "off", "", "  ", "FALSE", " Off "] {
        let config = read_clean(&[("ZEN_TELEMETRY_DISABLED", value)]);
        assert!(!config.is_disabled(), "value {value:?}");
    }
}

#[test]
fn zen_telemetry_disabled_unclear_value_fails_closed_with_one_warning() {
    for value in ["maybe", "disable", "2", "tru"] {
        let config = read_invalid("ZEN_TELEMETRY_DISABLED", value);
        assert_eq!(
            config.disabled_by,
            Some(DisabledBy::ZenTelemetryDisabled),
            "value {value:?}"
        );
    }
}

#[test]
fn otel_sdk_disabled() {
    assert_eq!(
        read_clean(&[("OTEL_SDK_DISABLED", "true")]).disabled_by,
        Some(DisabledBy::OtelSdkDisabled)
    );
    assert!(!read_clean(&[("OTEL_SDK_DISABLED", "false")]).is_disabled());
    let config = read_invalid("OTEL_SDK_DISABLED", "sometimes");
    assert!(
        !config.is_disabled(),
        "OTEL_SDK_DISABLED only disables on true, per the OTel spec"
    );
    // Either switch disables; ZEN_ is reported first.
    let config = read_clean(&[("ZEN_TELEMETRY_DISABLED", "0"), ("OTEL_SDK_DISABLED", "true")]);
    assert_eq!(config.disabled_by, Some(DisabledBy::OtelSdkDisabled));
    let config = read_clean(&[("ZEN_TELEMETRY_DISABLED", "1"), ("OTEL_SDK_DISABLED", "true")]);
    assert_eq!(config.disabled_by, Some(DisabledBy::ZenTelemetryDisabled));
}

#[test]
fn sample_rate_valid_values() {
    for (value, expected) in [("0.5", 0.5), ("0", 0.0), ("1", 1.0), ("1.0", 1.0), (" 0.25 ", 0.25)] {
        assert_eq!(
            read_clean(&[("ZEN_TELEMETRY_SAMPLE_RATE", value)]).sample_rate,
            expected,
            "{value:?}"
        );
    }
}

#[test]
fn sample_rate_invalid_values_warn_and_use_the_default() {
    for value in ["1.5", "-0.1", "NaN", "nan", "inf", "abc", "10%"] {
        let config = read_invalid("ZEN_TELEMETRY_SAMPLE_RATE", value);
        assert_eq!(config.sample_rate, DEFAULT_SAMPLE_RATE, "{value:?}");
    }
}

#[test]
fn service_name_zen_wins_over_otel() {
    assert_eq!(
        read_clean(&[("OTEL_SERVICE_NAME", "otel-svc")]).service_name,
        "otel-svc"
    );
    let config = read_clean(&[("OTEL_SERVICE_NAME", "otel-svc"), ("ZEN_SERVICE_NAME", "zen-svc")]);
    assert_eq!(config.service_name, "zen-svc");
    // An empty ZEN_ value counts as unset.
    let config = read_clean(&[("OTEL_SERVICE_NAME", "otel-svc"), ("ZEN_SERVICE_NAME", " ")]);
    assert_eq!(config.service_name, "otel-svc");
}

#[test]
fn service_version() {
    assert_eq!(read_clean(&[("ZEN_SERVICE_VERSION", "9.9.9")]).service_version, "9.9.9");
}

#[test]
fn exporter_values() {
    for (value, kind) in [
        ("auto", ExporterKind::Auto),
        ("gcp", ExporterKind::Gcp),
        ("OTLP", ExporterKind::Otlp),
        ("stdout", ExporterKind::Stdout),
        (" file ", ExporterKind::File),
        ("none", ExporterKind::None),
    ] {
        let config = read_clean(&[("ZEN_TELEMETRY_EXPORTER", value)]);
        assert_eq!(config.exporter, kind, "{value:?}");
    }
    let config = read_invalid("ZEN_TELEMETRY_EXPORTER", "jaeger");
    assert_eq!(config.exporter, ExporterKind::Auto);
}

#[test]
fn auto_picks_otlp_when_an_endpoint_is_set() {
    for var in ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] {
        let config = read_clean(&[(var, "http://127.0.0.1:4317")]);
        assert_eq!(config.resolved_exporter(), ExporterKind::Otlp, "{var}");
        assert!(config.turns_on());
    }
    let config = read_clean(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
        ("ZEN_TELEMETRY_EXPORTER", "none"),
    ]);
    assert_eq!(
        config.resolved_exporter(),
        ExporterKind::None,
        "an explicit exporter wins over auto"
    );
    let config = read_clean(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
        ("ZEN_TELEMETRY_DISABLED", "1"),
    ]);
    assert!(!config.turns_on(), "disabled wins over any exporter");
}

#[test]
fn file_path() {
    assert_eq!(
        read_clean(&[("ZEN_TELEMETRY_FILE", "/tmp/x.jsonl")]).file_path.to_str(),
        Some("/tmp/x.jsonl")
    );
    assert_eq!(
        read_clean(&[("ZEN_TELEMETRY_FILE", "relative.jsonl")])
            .file_path
            .to_str(),
        Some("relative.jsonl")
    );
    for bad in ["   ", "/nonexistent-zen-dir/x.jsonl", "/tmp"] {
        let config = read_invalid("ZEN_TELEMETRY_FILE", bad);
        assert_eq!(config.file_path.to_str(), Some("zen-traces.jsonl"), "{bad:?}");
    }
}

#[test]
fn batch_processor_variables() {
    let config = read_clean(&[
        ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10"),
        ("OTEL_BSP_SCHEDULE_DELAY", "250"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "1000"),
    ]);
    assert_eq!(config.batch.max_queue_size, 100);
    assert_eq!(config.batch.max_export_batch_size, 10);
    assert_eq!(config.batch.schedule_delay, Duration::from_millis(250));
    assert_eq!(config.batch.export_timeout, Duration::from_millis(1000));
    // A batch larger than the queue is capped to the queue.
    let config = read_clean(&[
        ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "500"),
    ]);
    assert_eq!(config.batch.max_export_batch_size, 100);

    for (var, default) in [
        ("OTEL_BSP_MAX_QUEUE_SIZE", 2048u64),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512),
        ("OTEL_BSP_SCHEDULE_DELAY", 5000),
        ("OTEL_BSP_EXPORT_TIMEOUT", 30000),
    ] {
        for value in ["0", "-1", "ten", "1.5", "99999999999999999999999"] {
            let config = read_invalid(var, value);
            let got = match var {
                "OTEL_BSP_MAX_QUEUE_SIZE" => config.batch.max_queue_size as u64,
                "OTEL_BSP_MAX_EXPORT_BATCH_SIZE" => config.batch.max_export_batch_size as u64,
                "OTEL_BSP_SCHEDULE_DELAY" => config.batch.schedule_delay.as_millis() as u64,
                _ => config.batch.export_timeout.as_millis() as u64,
            };
            assert_eq!(got, default, "{var}={value:?}");
        }
    }
}

#[test]
fn shutdown_timeout() {
    assert_eq!(
        read_clean(&[("ZEN_TELEMETRY_SHUTDOWN_TIMEOUT_MS", "500")]).shutdown_timeout,
        Duration::from_millis(500)
    );
    assert_eq!(
        read_clean(&[("ZEN_TELEMETRY_SHUTDOWN_TIMEOUT_MS", "0")]).shutdown_timeout,
        Duration::ZERO
    );
    for value in ["-5", "soon", "600001"] {
        let config = read_invalid("ZEN_TELEMETRY_SHUTDOWN_TIMEOUT_MS", value);
        assert_eq!(config.shutdown_timeout, Duration::from_millis(3000), "{value:?}");
    }
}

#[test]
fn debug_flag() {
    assert!(read_clean(&[("ZEN_TELEMETRY_DEBUG", "1")]).debug);
    assert!(!read_clean(&[("ZEN_TELEMETRY_DEBUG", "0")]).debug);
    assert!(!read_invalid("ZEN_TELEMETRY_DEBUG", "loud").debug);
}

#[test]
fn error_messages_flag() {
    assert!(read_clean(&[]).error_messages, "on by default");
    assert!(read_clean(&[("ZEN_TELEMETRY_ERROR_MESSAGES", "1")]).error_messages);
    assert!(!read_clean(&[("ZEN_TELEMETRY_ERROR_MESSAGES", "false")]).error_messages);
    assert!(!read_clean(&[("ZEN_TELEMETRY_ERROR_MESSAGES", " Off ")]).error_messages);
    assert!(read_clean(&[("ZEN_TELEMETRY_ERROR_MESSAGES", "")]).error_messages);
    // An invalid value keeps the default (on) and says so.
    assert!(read_invalid("ZEN_TELEMETRY_ERROR_MESSAGES", "hide").error_messages);
    let (_, warnings) = read(&[("ZEN_TELEMETRY_ERROR_MESSAGES", "hide")]);
    assert!(warnings[0].expected.ends_with("using on"), "{}", warnings[0]);
    assert!(
        !Config::default()
            .to_builder()
            .error_messages(false)
            .build()
            .error_messages
    );
}

#[test]
fn metrics_switch_and_interval() {
    let defaults = read_clean(&[]);
    assert!(defaults.metrics, "on by default");
    assert_eq!(defaults.metric_export_interval, Duration::from_secs(60));
    assert!(!read_clean(&[("ZEN_TELEMETRY_METRICS", "false")]).metrics);
    assert!(read_invalid("ZEN_TELEMETRY_METRICS", "some").metrics);
    assert_eq!(
        read_clean(&[("OTEL_METRIC_EXPORT_INTERVAL", "1500")]).metric_export_interval,
        Duration::from_millis(1500)
    );
    for bad in ["0", "-5", "1.5s", "soon"] {
        let config = read_invalid("OTEL_METRIC_EXPORT_INTERVAL", bad);
        assert_eq!(config.metric_export_interval, Duration::from_secs(60), "{bad}");
    }
    let built = Config::default()
        .to_builder()
        .metrics(false)
        .metric_export_interval(Duration::from_secs(5))
        .build();
    assert!(!built.metrics);
    assert_eq!(built.metric_export_interval, Duration::from_secs(5));
}

#[test]
fn metrics_file_path() {
    let config = read_clean(&[("ZEN_TELEMETRY_METRICS_FILE", "/tmp/points.jsonl")]);
    assert_eq!(config.metrics_file().to_str(), Some("/tmp/points.jsonl"));
    let config = read_invalid("ZEN_TELEMETRY_METRICS_FILE", "/no/such/dir/points.jsonl");
    assert_eq!(config.metrics_file().to_str(), Some("zen-traces.metrics.jsonl"));
    let config = read_clean(&[("ZEN_TELEMETRY_FILE", "/tmp/run.jsonl")]);
    assert_eq!(
        config.metrics_file().to_str(),
        Some("/tmp/run.metrics.jsonl"),
        "beside the span file"
    );
}

#[test]
fn several_bad_values_give_one_warning_each() {
    let (config, warnings) = read(&[
        ("ZEN_TELEMETRY_SAMPLE_RATE", "x"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "y"),
        ("ZEN_TELEMETRY_EXPORTER", "z"),
    ]);
    let variables: Vec<_> = warnings.iter().map(|w| w.variable).collect();
    assert_eq!(
        variables,
        [
            "ZEN_TELEMETRY_SAMPLE_RATE",
            "ZEN_TELEMETRY_EXPORTER",
            "OTEL_BSP_MAX_QUEUE_SIZE"
        ]
    );
    assert_eq!(config.sample_rate, DEFAULT_SAMPLE_RATE);
}

#[test]
fn code_wins_over_zen_and_otel() {
    let (from_env, _) = read(&[
        ("ZEN_SERVICE_NAME", "zen-svc"),
        ("OTEL_SERVICE_NAME", "otel-svc"),
        ("ZEN_TELEMETRY_SAMPLE_RATE", "0.3"),
        ("ZEN_TELEMETRY_EXPORTER", "file"),
        ("ZEN_TELEMETRY_DISABLED", "1"),
    ]);
    let config = from_env
        .to_builder()
        .service_name("code-svc")
        .sample_rate(0.9)
        .exporter(ExporterKind::Stdout)
        .disabled(false)
        .shutdown_timeout(Duration::from_millis(42))
        .build();
    assert_eq!(config.service_name, "code-svc");
    assert_eq!(config.sample_rate, 0.9);
    assert_eq!(config.exporter, ExporterKind::Stdout);
    assert!(!config.is_disabled());
    assert_eq!(config.shutdown_timeout, Duration::from_millis(42));

    let disabled = Config::default().to_builder().disabled(true).build();
    assert_eq!(disabled.disabled_by, Some(DisabledBy::Code));
    // Out-of-range rates from code are clamped, NaN means never.
    assert_eq!(Config::default().to_builder().sample_rate(7.0).build().sample_rate, 1.0);
    assert_eq!(
        Config::default().to_builder().sample_rate(f64::NAN).build().sample_rate,
        0.0
    );
}

/// A `TRACESTATE` that is not a W3C tracestate list is warned about and
/// ignored; the parent it goes with still holds.
#[test]
fn an_invalid_tracestate_is_warned_about_and_ignored() {
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let (config, warnings) = read(&[("TRACEPARENT", parent), ("TRACESTATE", "no equals sign")]);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].variable, "TRACESTATE");
    assert!(warnings[0].to_string().contains("W3C tracestate"), "{}", warnings[0]);
    let kept = config.process_parent.expect("the parent holds");
    assert_eq!(kept.trace_state().header(), "");

    let (config, warnings) = read(&[("TRACEPARENT", parent), ("TRACESTATE", "vendor=value")]);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        config.process_parent.expect("parent").trace_state().header(),
        "vendor=value"
    );
}

/// `service.name` in `OTEL_RESOURCE_ATTRIBUTES` names the service only when
/// neither name variable does, and an empty one names nothing.
#[test]
fn service_name_from_resource_attributes_ranks_below_the_name_variables() {
    let name = |vars: &[(&str, &str)]| {
        let (config, _) = Config::from_lookup(|key| vars.iter().find(|(k, _)| *k == key).map(|(_, v)| (*v).to_owned()));
        config.service_name
    };
    let theirs = ("OTEL_RESOURCE_ATTRIBUTES", "team=core,service.name=theirs");
    assert_eq!(name(&[theirs]), "theirs");
    assert_eq!(name(&[theirs, ("OTEL_SERVICE_NAME", "mine")]), "mine");
    assert_eq!(
        name(&[("OTEL_RESOURCE_ATTRIBUTES", "service.name=")]),
        DEFAULT_SERVICE_NAME
    );
}
