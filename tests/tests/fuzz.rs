//! Property tests over untrusted input: every environment variable the
//! configuration reads, `TRACEPARENT`/`TRACESTATE`, and exception texts.
//! None may panic; bad values are reported once and replaced by the default.
//!
//! Case counts are kept small enough for the whole file to run in seconds;
//! raise `PROPTEST_CASES` locally for a longer run.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use opentelemetry::trace::TraceContextExt;
use proptest::prelude::*;
use zen_telemetry::config::{Config, ExporterKind, MAX_NAME_CHARS, OtlpProtocol};
use zen_telemetry::gcp::{CredentialsSource, ProjectSource};
use zen_telemetry::{ConfigWarning, DisabledBy};

/// The `&'static str` spelling of a project variable, as `ProjectSource` holds it.
fn variable_name(name: &str) -> &'static str {
    [
        "GOOGLE_CLOUD_PROJECT",
        "GCP_PROJECT",
        "GCLOUD_PROJECT",
        "CLOUDSDK_CORE_PROJECT",
    ]
    .into_iter()
    .find(|known| *known == name)
    .unwrap_or("")
}

// ---------------------------------------------------------------- configuration

/// Every variable `Config::from_lookup` asks for, found by asking it rather
/// than by a list here that could fall behind.
fn variables_read() -> Vec<String> {
    let asked = RefCell::new(BTreeSet::new());
    let _ = Config::from_lookup(|name| {
        asked.borrow_mut().insert(name.to_owned());
        None
    });
    // With nothing set, OTEL_SDK_DISABLED is read; ZEN_TELEMETRY_DISABLED=1
    // stops before it, so the empty environment sees the most variables.
    asked.into_inner().into_iter().collect()
}

/// Values a user might plausibly type, and some no one would.
fn env_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,24}",
        "[-+ 0-9.eEinfINFaN_]{0,16}",
        "[a-z]{250,270}",
        "[a-z=,% -]{0,20}",
        prop::sample::select(vec![
            "",
            " ",
            "0",
            "1",
            "-1",
            "true",
            " TRUE ",
            "off",
            "yes",
            "no",
            "0.5",
            "1.0000001",
            "NaN",
            "inf",
            "-0",
            "18446744073709551616",
            "600000",
            "600001",
            "file",
            "stdout",
            "gcp",
            "otlp",
            "none",
            "auto",
            "/",
            ".",
            "/nonexistent-dir/x",
            "zen.jsonl",
            "\0",
            "é",
            "\u{feff}1",
            "my-project-123",
            "example.com:legacy-project",
            "http://127.0.0.1:9",
            "http://example.com",
            "https://telemetry.example.com",
            "127.0.0.1:9",
            "/etc/hostname",
        ])
        .prop_map(str::to_owned),
    ]
}

fn read(env: &BTreeMap<String, String>) -> (Config, Vec<ConfigWarning>) {
    let (mut config, mut warnings) = Config::from_lookup(|name| env.get(name).cloned());
    warnings.extend(config.read_files());
    (config, warnings)
}

/// True when `config` holds the default for `variable`, the variable having
/// been warned about. A variable missing here fails the test, so a new
/// variable cannot be added without saying what its fallback is.
fn uses_default(variable: &str, given: &str, config: &Config, default: &Config) -> bool {
    let destinations = [&config.otlp.traces, &config.otlp.metrics];
    match variable {
        // An opt-out fails closed: an unclear value disables.
        "ZEN_TELEMETRY_DISABLED" => config.disabled_by == Some(DisabledBy::ZenTelemetryDisabled),
        "OTEL_SDK_DISABLED" => config.disabled_by != Some(DisabledBy::OtelSdkDisabled),
        "ZEN_TELEMETRY_SAMPLE_RATE" => config.sample_rate == default.sample_rate,
        // Falls back to OTEL_TRACES_EXPORTER's choice, which never names gcp or file.
        "ZEN_TELEMETRY_EXPORTER" => !matches!(config.exporter, ExporterKind::Gcp | ExporterKind::File),
        "ZEN_TELEMETRY_FILE" => config.file_path == default.file_path,
        "OTEL_BSP_MAX_QUEUE_SIZE" => config.batch.max_queue_size == default.batch.max_queue_size,
        // The batch is capped by the queue, which another variable may have set.
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE" => {
            config.batch.max_export_batch_size == default.batch.max_export_batch_size.min(config.batch.max_queue_size)
        }
        "OTEL_BSP_SCHEDULE_DELAY" => config.batch.schedule_delay == default.batch.schedule_delay,
        "OTEL_BSP_EXPORT_TIMEOUT" => config.batch.export_timeout == default.batch.export_timeout,
        "ZEN_TELEMETRY_SHUTDOWN_TIMEOUT_MS" => config.shutdown_timeout == default.shutdown_timeout,
        "ZEN_TELEMETRY_DEBUG" => config.debug == default.debug,
        "ZEN_TELEMETRY_ERROR_MESSAGES" => config.error_messages == default.error_messages,
        "ZEN_TELEMETRY_MUTABLE_SPANS" => config.mutable_spans == default.mutable_spans,
        "ZEN_TELEMETRY_METRICS" => config.metrics == default.metrics,
        "OTEL_METRIC_EXPORT_INTERVAL" => config.metric_export_interval == default.metric_export_interval,
        "ZEN_TELEMETRY_METRICS_FILE" => config.metrics_file_path == default.metrics_file_path,
        "ZEN_TELEMETRY_SPOOL" => config.spool.enabled == default.spool.enabled,
        "ZEN_TELEMETRY_METRICS_ACROSS_RUNS" => config.metrics_across_runs == default.metrics_across_runs,
        "ZEN_TELEMETRY_SPOOL_MAX_BYTES" => config.spool.max_bytes == default.spool.max_bytes,
        "ZEN_TELEMETRY_SPOOL_EXIT_BUDGET_MS" => config.spool.exit_budget == default.spool.exit_budget,
        "ZEN_TELEMETRY_GCP_ENDPOINT" => config.gcp.endpoint == default.gcp.endpoint,
        "NO_GCE_CHECK" => config.gcp.metadata_check == default.gcp.metadata_check,
        "GCE_METADATA_HOST" => config.gcp.metadata_host == default.gcp.metadata_host,
        // An invalid project id is skipped: the project comes from elsewhere, or nowhere.
        "GOOGLE_CLOUD_PROJECT" | "GCP_PROJECT" | "GCLOUD_PROJECT" | "CLOUDSDK_CORE_PROJECT" => config
            .gcp
            .project
            .as_ref()
            .is_none_or(|p| p.source != ProjectSource::Variable(variable_name(variable))),
        // An unreadable credentials file is not used.
        "GOOGLE_APPLICATION_CREDENTIALS" => !matches!(
            config.gcp.credentials,
            CredentialsSource::File {
                found_by: "GOOGLE_APPLICATION_CREDENTIALS",
                ..
            }
        ),
        // A name longer than the bound is cut, not refused.
        "ZEN_SERVICE_NAME" | "OTEL_SERVICE_NAME" => config.service_name.chars().count() == MAX_NAME_CHARS,
        "ZEN_SERVICE_VERSION" => config.service_version.chars().count() == MAX_NAME_CHARS,
        // An endpoint that is not a URL is not set: no destination holds it.
        "OTEL_EXPORTER_OTLP_ENDPOINT"
        | "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
        | "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT" => {
            destinations.iter().all(|d| d.endpoint.as_deref() != Some(given.trim()))
        }
        // Bad pairs are dropped: what is kept are header names.
        "OTEL_EXPORTER_OTLP_HEADERS" | "OTEL_EXPORTER_OTLP_TRACES_HEADERS" | "OTEL_EXPORTER_OTLP_METRICS_HEADERS" => {
            destinations
                .iter()
                .flat_map(|d| &d.headers)
                .all(|(name, _)| !name.is_empty() && *name == name.to_ascii_lowercase())
        }
        // `http/json` is served as `http/protobuf`; anything else warned
        // about is not a protocol name, and the default or the other
        // variable's protocol is used.
        v if v.ends_with("_PROTOCOL") => match given.trim().to_ascii_lowercase().as_str() {
            "http/json" => destinations.iter().any(|d| d.protocol == OtlpProtocol::HttpProtobuf),
            given => !["grpc", "http/protobuf"].contains(&given),
        },
        v if v.ends_with("_COMPRESSION") => destinations.iter().all(|d| {
            d.compression
                .is_none_or(|c| c.as_str() != given.trim().to_ascii_lowercase())
        }),
        v if v.starts_with("OTEL_EXPORTER_OTLP_") && v.ends_with("_TIMEOUT") => destinations
            .iter()
            .all(|d| d.timeout.is_none_or(|t| t.as_millis().to_string() != given.trim())),
        // A TLS file that cannot be read or holds no PEM is not used.
        v if v.ends_with("CERTIFICATE") || v.ends_with("CLIENT_KEY") => destinations.iter().all(|d| {
            [&d.tls.certificate, &d.tls.client_certificate, &d.tls.client_key]
                .into_iter()
                .flatten()
                .filter(|file| file.variable == v)
                .all(|file| !file.is_read())
        }),
        // Bad pairs are dropped: what is kept has keys.
        "OTEL_RESOURCE_ATTRIBUTES" => config.resource_attributes.iter().all(|(key, _)| !key.is_empty()),
        // An unknown sampler leaves the rate and parent rule alone.
        "OTEL_TRACES_SAMPLER" => config.sampler_parent_based == default.sampler_parent_based,
        // A bad ratio is not used: traceidratio's default ratio is 1.0.
        "OTEL_TRACES_SAMPLER_ARG" => given
            .trim()
            .parse::<f64>()
            .map_or(true, |v| v == 1.0 || config.sample_rate != v),
        // A list is served by its first exporter; an unknown one by zen's choice.
        // (Only a value that is not one known exporter is warned about.)
        "OTEL_TRACES_EXPORTER" => {
            given.contains(',') || !["otlp", "console", "none"].contains(&given.trim().to_ascii_lowercase().as_str())
        }
        "OTEL_METRICS_EXPORTER" => given.contains(',') || config.metrics_exporter.is_none(),
        "OTEL_METRIC_EXPORT_TIMEOUT" => config.metric_export_timeout == default.metric_export_timeout,
        "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT" => config.span_limits.attribute_count == default.span_limits.attribute_count,
        "OTEL_SPAN_EVENT_COUNT_LIMIT" => config.span_limits.event_count == default.span_limits.event_count,
        "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT" => config.span_limits.attribute_value_length.is_none(),
        // An invalid parent is ignored: roots start their own traces.
        "TRACEPARENT" => config.process_parent.is_none(),
        "TRACESTATE" => config
            .process_parent
            .as_ref()
            .is_none_or(|parent| parent.trace_state().header().is_empty()),
        other => panic!("{other} was warned about: say in uses_default() what its fallback is"),
    }
}

fn check_config(env: &BTreeMap<String, String>) -> Result<(), TestCaseError> {
    let (config, warnings) = read(env);
    let default = Config::default();
    let mut warned = BTreeSet::new();
    for warning in &warnings {
        prop_assert!(
            warned.insert(warning.variable),
            "{} warned twice: {warnings:?}",
            warning.variable
        );
        let given = env.get(warning.variable);
        prop_assert!(given.is_some(), "warning about an unset variable: {warning}");
        if warning.variable.ends_with("_HEADERS") || warning.variable == "OTEL_RESOURCE_ATTRIBUTES" {
            // Header values may be secrets: the warning never echoes them.
            prop_assert!(warning.value.ends_with("pairs; values not shown)"), "{}", warning);
        } else {
            prop_assert_eq!(warning.value.trim(), given.unwrap().trim());
        }
        prop_assert!(warning.to_string().contains("expected"), "{}", warning);
        prop_assert!(
            uses_default(
                warning.variable,
                given.map(String::as_str).unwrap_or_default(),
                &config,
                &default
            ),
            "{} is warned about but not defaulted: {config:?}",
            warning.variable
        );
    }
    // Whatever the input, the result is usable.
    prop_assert!((0.0..=1.0).contains(&config.sample_rate));
    prop_assert!(config.batch.max_queue_size > 0);
    prop_assert!(config.batch.max_export_batch_size > 0);
    prop_assert!(config.batch.max_export_batch_size <= config.batch.max_queue_size);
    prop_assert!(config.shutdown_timeout.as_millis() <= 600_000);
    prop_assert!(!config.service_name.trim().is_empty());
    prop_assert!(!config.file_path.as_os_str().is_empty());
    Ok(())
}

#[test]
fn the_configuration_reads_the_variables_this_file_knows() {
    let read = variables_read();
    for expected in [
        "ZEN_TELEMETRY_DISABLED",
        "OTEL_SDK_DISABLED",
        "ZEN_TELEMETRY_SAMPLE_RATE",
        "ZEN_TELEMETRY_FILE",
        "ZEN_TELEMETRY_ERROR_MESSAGES",
        "ZEN_TELEMETRY_MUTABLE_SPANS",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ] {
        assert!(read.iter().any(|v| v == expected), "{expected} not read: {read:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// One variable at a time: a warning means the whole configuration is the
    /// default one (the disabling switch aside, which fails closed).
    #[test]
    fn each_variable_alone_warns_at_most_once_and_falls_back(
        index in any::<prop::sample::Index>(),
        value in env_value(),
    ) {
        let variables = variables_read();
        let variable = index.get(&variables).clone();
        let env = BTreeMap::from([(variable.clone(), value)]);
        check_config(&env)?;
        let (mut config, warnings) = read(&env);
        // What the configuration says of a rejected endpoint is not a setting.
        for destination in [&mut config.otlp.traces, &mut config.otlp.metrics] {
            destination.rejected_endpoint = None;
        }
        // A name over the bound is cut, not dropped, and a header list
        // keeps its good pairs (both checked in uses_default).
        // TLS files are kept by path, only not read; `http/json` and
        // exporter lists are served by their nearest value.
        let cut = ["ZEN_SERVICE_NAME", "OTEL_SERVICE_NAME", "ZEN_SERVICE_VERSION", "OTEL_RESOURCE_ATTRIBUTES"]
            .contains(&variable.as_str())
            || variable.ends_with("_HEADERS")
            || variable.ends_with("CERTIFICATE")
            || variable.ends_with("CLIENT_KEY")
            || variable.ends_with("_PROTOCOL")
            || variable.ends_with("S_EXPORTER");
        if !warnings.is_empty() && variable != "ZEN_TELEMETRY_DISABLED" && !cut {
            prop_assert_eq!(config, Config::default(), "{} = {:?}", variable, env[&variable]);
        }
    }

    /// Every variable set at once, each to its own arbitrary value.
    #[test]
    fn all_variables_together_warn_at_most_once_each(
        values in prop::collection::vec(env_value(), 80),
        unset in prop::collection::vec(any::<bool>(), 80),
    ) {
        let variables = variables_read();
        prop_assert!(variables.len() <= 80, "raise the vector sizes: {} variables", variables.len());
        let env: BTreeMap<String, String> = variables
            .iter()
            .zip(values)
            .zip(unset)
            .filter(|(_, unset)| !unset)
            .map(|((name, value), _)| (name.clone(), value))
            .collect();
        check_config(&env)?;
    }
}

// ---------------------------------------------------------------- trace context

const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// The W3C rules, written independently of the code under test.
fn w3c_valid(traceparent: &str) -> bool {
    let fields: Vec<&str> = traceparent.split('-').collect();
    let lower_hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let nonzero = |s: &str| s.bytes().any(|b| b != b'0');
    if fields.len() < 4 || !lower_hex(fields[0], 2) || fields[0] == "ff" {
        return false;
    }
    if fields[0] == "00" && fields.len() != 4 {
        return false;
    }
    lower_hex(fields[1], 32)
        && nonzero(fields[1])
        && lower_hex(fields[2], 16)
        && nonzero(fields[2])
        && lower_hex(fields[3], 2)
}

/// One edit of a valid traceparent: replace, insert or delete one character.
#[derive(Debug, Clone)]
enum Edit {
    Replace(prop::sample::Index, char),
    Insert(prop::sample::Index, char),
    Delete(prop::sample::Index),
    Truncate(prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    let ch = prop_oneof![
        prop::sample::select(vec!['0', '1', 'a', 'f', 'g', 'A', 'F', '-', ' ', '+', '\0', 'é']),
        any::<char>(),
    ];
    prop_oneof![
        (any::<prop::sample::Index>(), ch.clone()).prop_map(|(i, c)| Edit::Replace(i, c)),
        (any::<prop::sample::Index>(), ch).prop_map(|(i, c)| Edit::Insert(i, c)),
        any::<prop::sample::Index>().prop_map(Edit::Delete),
        any::<prop::sample::Index>().prop_map(Edit::Truncate),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for edit in edits {
        match edit {
            Edit::Replace(i, c) if !chars.is_empty() => {
                let at = i.index(chars.len());
                chars[at] = *c;
            }
            Edit::Insert(i, c) => {
                let at = i.index(chars.len() + 1);
                chars.insert(at, *c);
            }
            Edit::Delete(i) if !chars.is_empty() => {
                let at = i.index(chars.len());
                chars.remove(at);
            }
            Edit::Truncate(i) => {
                let at = i.index(chars.len() + 1);
                chars.truncate(at);
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

fn check_extract(traceparent: &str, tracestate: Option<&str>) -> Result<(), TestCaseError> {
    let parsed = zen_telemetry::propagation::extract(traceparent, tracestate);
    let expected = w3c_valid(traceparent.trim());
    prop_assert_eq!(parsed.is_some(), expected, "{:?}", traceparent);
    if let Some(cx) = parsed {
        let span = cx.span();
        let context = span.span_context();
        prop_assert!(context.is_remote() && context.is_valid());
        let trimmed = traceparent.trim();
        prop_assert_eq!(context.trace_id().to_string(), &trimmed[3..35]);
        prop_assert_eq!(context.span_id().to_string(), &trimmed[36..52]);
        // What a child would be given is the canonical form of what came in.
        let (injected, _) = zen_telemetry::propagation::inject(&cx).expect("a valid context injects");
        prop_assert!(w3c_valid(&injected), "{}", injected);
        prop_assert_eq!(&injected[..52], &format!("00{}", &trimmed[2..52]));
    }
    Ok(())
}

#[test]
fn lenient_forms_the_sdk_would_accept_are_ignored() {
    for malformed in [
        "0-1-1-1",
        "00-+1-+1-01",
        "00-1-1-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
    ] {
        assert!(
            zen_telemetry::propagation::extract(malformed, None).is_none(),
            "{malformed:?} must be ignored"
        );
    }
    for valid in [
        VALID,
        "  00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00\n",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future",
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09",
    ] {
        assert!(zen_telemetry::propagation::extract(valid, None).is_some(), "{valid:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_traceparent_and_tracestate_never_panic(
        traceparent in prop_oneof![any::<String>(), "[0-9a-fA-F+ -]{0,70}"],
        tracestate in proptest::option::of(prop_oneof![any::<String>(), "[a-z0-9=,@*/ _-]{0,80}"]),
    ) {
        check_extract(&traceparent, tracestate.as_deref())?;
    }

    #[test]
    fn edits_of_a_valid_traceparent_are_accepted_only_when_still_valid(
        edits in prop::collection::vec(edit(), 1..4),
        tracestate in proptest::option::of(any::<String>()),
    ) {
        let mutated = apply(VALID, &edits);
        check_extract(&mutated, tracestate.as_deref())?;
    }

    /// A malformed `tracestate` never costs the parent.
    #[test]
    fn any_tracestate_keeps_a_valid_parent(tracestate in any::<String>()) {
        prop_assert!(zen_telemetry::propagation::extract(VALID, Some(&tracestate)).is_some());
    }
}

// ---------------------------------------------------------------- exception texts

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any text, with a secret spliced in anywhere: bounded output, no panic,
    /// the secret gone.
    #[test]
    fn scrubbed_messages_are_bounded_and_lose_the_secret(
        before in prop_oneof![any::<String>(), "[ -~]{0,600}"],
        after in prop_oneof![any::<String>(), "[ -~]{0,600}"],
        secret in prop::sample::select(vec![
            " password=hunter2xyz ",
            " user.name@example.com ",
            " Bearer qwertyuiop123 ",
            " ghp_16C7e42F292c6912E7710c838347Ae178B4a ",
            " 0123456789abcdef0123456789abcdef01234567 ",
        ]),
    ) {
        let message = format!("{before}{secret}{after}");
        let scrubbed = zen_telemetry::testing::scrubbed(&message);
        prop_assert!(scrubbed.chars().count() <= 512);
        let core = secret.trim();
        let needle = core.split_once(['=', ' ']).map_or(core, |(_, value)| value);
        prop_assert!(!scrubbed.contains(needle), "{:?} kept in {:?}", needle, scrubbed);
    }
}
