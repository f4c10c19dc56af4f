//! Google Cloud export end to end, against loopback fakes only: a Telemetry
//! API (OTLP/gRPC receiver checking headers), an OAuth token endpoint that
//! verifies the signed JWT grant, and a metadata server. Each case runs the
//! probe binary in its own process with a controlled environment.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use zen_tests::collector::{Answer, Blackhole, FakeCollector, ReceivedSpan, attributes};
use zen_tests::gcp_fakes::{FakeCredentials, FakeMetadata, Grant, MetadataBehaviour};
use zen_tests::{TempDir, probe};

const PROBE: &str = env!("CARGO_BIN_EXE_zen-probe");
const PROJECT: &str = "zen-test-project";

fn credentials(expires_in: u64) -> FakeCredentials {
    FakeCredentials::start("gcp-export", expires_in)
}

/// The probe exporting to `endpoint` as project [`PROJECT`] with `credentials`.
fn run_gcp(args: &[&str], endpoint: &str, credentials: &FakeCredentials, extra: &[(&str, &str)]) -> (Output, Duration) {
    let file = credentials.file.to_str().expect("utf-8 path");
    let mut env = vec![
        ("ZEN_TELEMETRY_EXPORTER", "gcp"),
        ("GOOGLE_CLOUD_PROJECT", PROJECT),
        ("GOOGLE_APPLICATION_CREDENTIALS", file),
        ("ZEN_TELEMETRY_GCP_ENDPOINT", endpoint),
        ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ];
    env.extend_from_slice(extra);
    probe::run(PROBE, args, &env)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_clean_exit(output: &Output) {
    let err = stderr(output);
    assert!(output.status.success(), "probe failed: {:?}\n{err}", output.status);
    assert!(!err.contains("panicked"), "{err}");
}

fn names(spans: &[ReceivedSpan]) -> Vec<String> {
    let mut names: Vec<String> = spans.iter().map(|s| s.span.name.clone()).collect();
    names.sort();
    names
}

#[test]
fn spans_reach_the_telemetry_api_with_token_project_and_resource() {
    let creds = credentials(3600);
    let api = FakeCollector::start();
    let (output, _) = run_gcp(&["errors", "2"], &api.endpoint(), &creds, &[]);
    assert_clean_exit(&output);

    let spans = api.wait_for_spans(5, Duration::from_secs(5));
    assert_eq!(
        names(&spans),
        ["probe.child", "probe.child", "probe.fail", "probe.root", "probe.root"]
    );
    for span in &spans {
        assert_eq!(span.resource.get("gcp.project_id").map(String::as_str), Some(PROJECT));
        assert_eq!(
            span.resource.get("service.name").map(String::as_str),
            Some("zen-library")
        );
    }
    let failed = spans.iter().find(|s| s.span.name == "probe.fail").expect("probe.fail");
    let status = failed.span.status.as_ref().expect("status");
    assert_eq!(status.code, 2, "error status");
    let exception = failed
        .span
        .events
        .iter()
        .find(|e| e.name == "exception")
        .expect("exception event");
    assert_eq!(
        attributes(&exception.attributes)
            .get("exception.message")
            .map(String::as_str),
        Some("login failed: password=[REDACTED] [EMAIL]"),
        "scrubbed before export"
    );
    // 35 000 × "é" is 70 000 bytes: cut to the 64 KiB limit on a character boundary.
    let long = failed.attribute("probe.long").expect("probe.long");
    assert_eq!(long.len(), 65_536);
    assert!(long.chars().all(|c| c == 'é'));

    assert_eq!(creds.oauth.grants(), [Grant::Issued("fake-access-token-1".to_owned())]);
    let headers = api.request_headers();
    assert!(!headers.is_empty());
    for request in headers {
        assert_eq!(request.authorization.as_deref(), Some("Bearer fake-access-token-1"));
        assert_eq!(request.user_project.as_deref(), Some(PROJECT));
        assert_eq!(
            request.encoding.as_deref(),
            Some("gzip"),
            "gzip to Google unless told otherwise"
        );
    }
}

#[test]
fn compression_none_sends_google_plain_messages() {
    let creds = credentials(3600);
    let api = FakeCollector::start();
    let (output, _) = run_gcp(
        &["spans", "2"],
        &api.endpoint(),
        &creds,
        &[("OTEL_EXPORTER_OTLP_COMPRESSION", "none")],
    );
    assert_clean_exit(&output);
    assert_eq!(api.wait_for_spans(4, Duration::from_secs(5)).len(), 4);
    let headers = api.request_headers();
    assert!(!headers.is_empty());
    assert!(headers.iter().all(|h| h.encoding.is_none()), "{headers:?}");
}

#[test]
fn headers_meant_for_an_otlp_backend_never_reach_google() {
    let creds = credentials(3600);
    let api = FakeCollector::start();
    for variable in ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"] {
        let headers = " X-Vendor-Key = vendor-secret ,authorization=Bearer vendor-token";
        let (output, _) = run_gcp(&["spans", "2"], &api.endpoint(), &creds, &[(variable, headers)]);
        assert_clean_exit(&output);
    }
    api.wait_for_spans(4, Duration::from_secs(5));
    let headers = api.request_headers();
    assert!(!headers.is_empty());
    for request in headers {
        assert!(
            !request.names.iter().any(|n| n == "x-vendor-key"),
            "{:?}",
            request.names
        );
        assert!(request.names.iter().any(|n| n == "x-goog-user-project"));
        let authorization = request.authorization.unwrap_or_default();
        assert!(
            authorization.starts_with("Bearer fake-access-token-"),
            "{authorization}"
        );
    }
}

#[test]
fn a_short_lived_token_is_renewed_in_the_background_not_per_batch() {
    let creds = credentials(2);
    let api = FakeCollector::start();
    // 30 roots over about 3 s, exported every 100 ms.
    let (output, _) = run_gcp(&["paced", "30", "100"], &api.endpoint(), &creds, &[]);
    assert_clean_exit(&output);

    let grants = creds.oauth.grants();
    assert!(
        grants.iter().all(|g| matches!(g, Grant::Issued(_))),
        "every grant was valid: {grants:?}"
    );
    let headers = api.request_headers();
    let mut tokens: Vec<String> = headers.iter().filter_map(|h| h.authorization.clone()).collect();
    assert_eq!(tokens.len(), headers.len(), "every request carried a token");
    tokens.dedup();
    assert!(tokens.len() >= 2, "a later export carries a renewed token: {tokens:?}");
    assert!(
        grants.len() * 2 <= headers.len(),
        "{} grants for {} export requests: tokens are reused across batches",
        grants.len(),
        headers.len()
    );
    assert_eq!(api.spans().len(), 60);
}

#[test]
fn refused_credentials_pause_export_instead_of_retrying() {
    for code in [tonic::Code::Unauthenticated, tonic::Code::PermissionDenied] {
        let creds = credentials(3600);
        let api = FakeCollector::answering(Answer::Always(code));
        let (output, _) = run_gcp(&["paced", "20", "100"], &api.endpoint(), &creds, &[]);
        assert_clean_exit(&output);
        let err = stderr(&output);
        assert_eq!(
            api.request_headers().len(),
            1,
            "{code:?}: one request, then a cool-down"
        );
        assert_eq!(err.matches("refused the credentials").count(), 1, "{code:?}: {err}");
        assert!(err.contains("roles/telemetry.tracesWriter"), "{err}");
    }
}

#[test]
fn unavailable_twice_then_ok_delivers_every_span_once() {
    let creds = credentials(3600);
    let api = FakeCollector::answering(Answer::FailFirst(vec![
        tonic::Code::Unavailable,
        tonic::Code::Unavailable,
    ]));
    let (output, _) = run_gcp(&["spans", "3"], &api.endpoint(), &creds, &[]);
    assert_clean_exit(&output);
    let spans = api.wait_for_spans(6, Duration::from_secs(5));
    assert_eq!(api.request_headers().len(), 3, "two failures, then one success");
    let mut ids: Vec<Vec<u8>> = spans.iter().map(|s| s.span.span_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((spans.len(), ids.len()), (6, 6), "each span exactly once");
}

#[test]
fn an_unreachable_or_silent_receiver_leaves_the_program_unaffected() {
    let creds = credentials(3600);
    let refused = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", listener.local_addr().expect("addr"))
    };
    let blackhole = Blackhole::start();
    for endpoint in [refused, blackhole.endpoint()] {
        let (output, elapsed) = run_gcp(
            &["spans", "200"],
            &endpoint,
            &creds,
            &[("ZEN_TELEMETRY_SHUTDOWN_TIMEOUT_MS", "1000")],
        );
        assert_clean_exit(&output);
        assert_eq!(probe::json(&output)["recorded"], 400, "{endpoint}");
        assert!(
            elapsed < Duration::from_millis(2500),
            "{endpoint}: exit took {elapsed:?} with a 1 s shutdown timeout"
        );
    }
}

#[test]
fn missing_credentials_warn_once_and_send_nothing() {
    let api = FakeCollector::start();
    let (output, _) = probe::run(
        PROBE,
        &["paced", "10", "100"],
        &[
            ("ZEN_TELEMETRY_EXPORTER", "gcp"),
            ("GOOGLE_CLOUD_PROJECT", PROJECT),
            ("ZEN_TELEMETRY_GCP_ENDPOINT", &api.endpoint()),
            ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    assert_clean_exit(&output);
    let err = stderr(&output);
    assert_eq!(err.matches("no usable Google Cloud credentials").count(), 1, "{err}");
    assert!(
        err.contains("ZEN_TELEMETRY_DEBUG=1"),
        "details are offered, not dumped: {err}"
    );
    assert!(api.request_headers().is_empty());
}

#[test]
fn a_malformed_credentials_file_is_named_in_one_warning() {
    let dir = TempDir::new("gcp-malformed");
    let file = dir.path().join("broken-credentials.json");
    std::fs::write(&file, "{\"type\": \"service_account\", ").expect("write");
    let api = FakeCollector::start();
    let (output, _) = probe::run(
        PROBE,
        &["spans", "2"],
        &[
            ("ZEN_TELEMETRY_EXPORTER", "gcp"),
            ("GOOGLE_CLOUD_PROJECT", PROJECT),
            ("GOOGLE_APPLICATION_CREDENTIALS", file.to_str().expect("utf-8")),
            ("ZEN_TELEMETRY_GCP_ENDPOINT", &api.endpoint()),
        ],
    );
    assert_clean_exit(&output);
    let err = stderr(&output);
    assert!(err.contains("broken-credentials.json") && err.contains("JSON"), "{err}");
    assert_eq!(err.matches("broken-credentials.json").count(), 1, "{err}");
    assert!(api.request_headers().is_empty());
}

/// The probe in `auto` mode with no project anywhere but the metadata server.
fn run_with_metadata(args: &[&str], metadata: &FakeMetadata, api: &FakeCollector) -> (Output, Duration) {
    probe::run(
        PROBE,
        args,
        &[
            ("NO_GCE_CHECK", "false"),
            ("GCE_METADATA_HOST", &metadata.host()),
            ("ZEN_TELEMETRY_GCP_ENDPOINT", &api.endpoint()),
            ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("ZEN_TELEMETRY_DEBUG", "1"),
        ],
    )
}

#[test]
fn the_metadata_server_supplies_project_and_token_in_auto_mode() {
    let metadata = FakeMetadata::start(MetadataBehaviour::Project {
        project: "metadata-project-1".to_owned(),
        token: "metadata-token-1".to_owned(),
    });
    let api = FakeCollector::start();
    let (output, _) = run_with_metadata(&["spans", "2"], &metadata, &api);
    assert_clean_exit(&output);
    let spans = api.wait_for_spans(4, Duration::from_secs(5));
    assert_eq!(spans.len(), 4, "{}", stderr(&output));
    for span in &spans {
        assert_eq!(
            span.resource.get("gcp.project_id").map(String::as_str),
            Some("metadata-project-1")
        );
    }
    for request in api.request_headers() {
        assert_eq!(request.authorization.as_deref(), Some("Bearer metadata-token-1"));
        assert_eq!(request.user_project.as_deref(), Some("metadata-project-1"));
    }
    let paths = metadata.paths();
    assert_eq!(
        paths.iter().filter(|p| p.ends_with("/project/project-id")).count(),
        1,
        "asked once: {paths:?}"
    );
    assert!(
        paths.iter().any(|p| p.contains("/service-accounts/default/token")),
        "{paths:?}"
    );
}

#[test]
fn an_answer_without_the_metadata_flavor_header_is_rejected_and_recording_stops() {
    let metadata = FakeMetadata::start(MetadataBehaviour::NoFlavorHeader("impostor-project".to_owned()));
    let api = FakeCollector::start();
    let (output, _) = run_with_metadata(&["paced", "20", "50"], &metadata, &api);
    assert_clean_exit(&output);
    let err = stderr(&output);
    assert!(err.contains("not a metadata server"), "{err}");
    assert!(api.request_headers().is_empty(), "nothing exported");
    let recorded = probe::json(&output)["recorded"].as_u64().unwrap_or(u64::MAX);
    assert!(
        recorded < 40,
        "recording stopped once no project was found: {recorded} of 40 recorded"
    );
}

#[test]
fn a_silent_metadata_server_costs_at_most_a_second_and_never_delays_start_up() {
    let metadata = FakeMetadata::start(MetadataBehaviour::Silent);
    let api = FakeCollector::start();
    let (output, elapsed) = run_with_metadata(&["spans", "3"], &metadata, &api);
    assert_clean_exit(&output);
    let report = probe::json(&output);
    let calls_ms = report["calls_ms"].as_f64().unwrap_or(f64::MAX);
    assert!(
        calls_ms < 500.0,
        "traced calls waited for the metadata server: {calls_ms} ms"
    );
    assert!(
        stderr(&output).contains("did not answer within 1s"),
        "{}",
        stderr(&output)
    );
    assert!(elapsed < Duration::from_millis(3000), "exit took {elapsed:?}");
    assert!(api.request_headers().is_empty());
}

#[test]
fn no_project_and_no_metadata_check_warns_once_and_stops_recording() {
    let metadata = FakeMetadata::start(MetadataBehaviour::Project {
        project: "never-asked-project".to_owned(),
        token: "never-issued".to_owned(),
    });
    let api = FakeCollector::start();
    let (output, _) = probe::run(
        PROBE,
        &["spans", "50"],
        &[
            ("ZEN_TELEMETRY_EXPORTER", "gcp"),
            ("GCE_METADATA_HOST", &metadata.host()),
            ("ZEN_TELEMETRY_GCP_ENDPOINT", &api.endpoint()),
            ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
        ],
    );
    assert_clean_exit(&output);
    let err = stderr(&output);
    assert_eq!(err.matches("no Google Cloud project").count(), 1, "{err}");
    assert!(
        metadata.paths().is_empty(),
        "NO_GCE_CHECK=true: the metadata server is never asked"
    );
    assert!(api.request_headers().is_empty());
    let recorded = probe::json(&output)["recorded"].as_u64().unwrap_or(u64::MAX);
    assert!(
        recorded <= 1,
        "recording stopped at the first span: {recorded} recorded"
    );
}

#[test]
fn spans_spooled_while_the_telemetry_api_is_away_reach_it_with_their_project() {
    let creds = credentials(3600);
    let state = TempDir::new("gcp-spool");
    let state_dir = state.path().to_str().expect("utf-8 path").to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let endpoint = format!("http://{addr}");
    let spool = [("ZEN_TELEMETRY_SPOOL", "on"), ("XDG_STATE_HOME", state_dir.as_str())];
    let (output, _) = run_gcp(&["spans", "3"], &endpoint, &creds, &spool);
    assert_clean_exit(&output);
    let spool_root = state.path().join("zen-telemetry/spool");
    let batches: Vec<PathBuf> = std::fs::read_dir(&spool_root)
        .expect("a spool was made")
        .flatten()
        .flat_map(|dir| std::fs::read_dir(dir.path()).into_iter().flatten().flatten())
        .map(|file| file.path())
        .collect();
    assert!(!batches.is_empty(), "nothing spooled: {}", stderr(&output));
    let spooled: Vec<Vec<u8>> = batches
        .iter()
        .map(|b| std::fs::read(b).expect("read a batch"))
        .collect();

    let api = FakeCollector::start_on(addr);
    let (output, _) = run_gcp(&["spans", "1"], &endpoint, &creds, &spool);
    assert_clean_exit(&output);
    let spans = api.wait_for_spans(8, Duration::from_secs(5));
    assert_eq!(spans.len(), 8, "3 + 1 roots of 2 spans");
    assert!(
        spans
            .iter()
            .all(|s| s.resource.get("gcp.project_id").map(String::as_str) == Some(PROJECT)),
        "every span names the project"
    );
    assert!(
        api.request_headers()
            .iter()
            .all(|h| h.authorization.as_deref().is_some_and(|a| a.starts_with("Bearer "))),
        "resent with a fresh token"
    );
    // Every token the fake grants starts so; run A was granted one too.
    let token = b"fake-access-token-";
    assert!(
        api.request_headers()[0]
            .authorization
            .as_deref()
            .is_some_and(|a| a.as_bytes().windows(token.len()).any(|w| w == token))
    );
    for bytes in &spooled {
        assert!(!bytes.windows(token.len()).any(|w| w == token), "a token was spooled");
        assert!(!bytes.windows(6).any(|w| w == b"Bearer"), "a header was spooled");
    }
}
