//! OTLP/HTTP end to end: real `zen-probe` processes export to an OTLP/HTTP
//! receiver on 127.0.0.1 (plain, gzip, TLS with a test CA, mutual TLS),
//! which decodes what arrives with `opentelemetry-proto`.

use std::collections::BTreeSet;
use std::time::Duration;

use zen_tests::TempDir;
use zen_tests::http_receiver::{HttpAnswer, HttpReceiver, TestCa};
use zen_tests::probe;

const PROBE: &str = env!("CARGO_BIN_EXE_zen-probe");

fn http_env(endpoint: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = vec![
        ("ZEN_TELEMETRY_EXPORTER".to_owned(), "otlp".to_owned()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL".to_owned(), "http/protobuf".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(), endpoint.to_owned()),
        ("ZEN_TELEMETRY_SAMPLE_RATE".to_owned(), "1".to_owned()),
    ];
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    env
}

/// Runs `zen-probe flushed N` (N roots with a child each, then shutdown)
/// and returns its report.
fn run_probe(roots: u32, env: &[(String, String)]) -> serde_json::Value {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (output, _) = probe::run(PROBE, &["flushed", &roots.to_string()], &env);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}; stderr:\n{stderr}", output.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
    probe::json(&output)
}

/// Every child's parent is a root of the same trace that arrived too.
fn assert_parenting(receiver: &HttpReceiver, roots: usize) {
    let spans = receiver.spans();
    assert_eq!(spans.len(), roots * 2, "{} spans", spans.len());
    let root_ids: BTreeSet<(Vec<u8>, Vec<u8>)> = spans
        .iter()
        .filter(|s| s.span.name == "probe.root")
        .map(|s| (s.span.trace_id.clone(), s.span.span_id.clone()))
        .collect();
    assert_eq!(root_ids.len(), roots);
    for child in spans.iter().filter(|s| s.span.name == "probe.child") {
        assert!(
            root_ids.contains(&(child.span.trace_id.clone(), child.span.parent_span_id.clone())),
            "a child without its root: {:?}",
            child.span
        );
    }
}

#[test]
fn spans_and_metric_points_go_to_v1_traces_and_v1_metrics_as_protobuf() {
    let receiver = HttpReceiver::start();
    let report = run_probe(
        3,
        &http_env(
            &receiver.endpoint(),
            &[(
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=test%20lab,service.name=theirs,team=core",
            )],
        ),
    );
    assert_eq!(report["exported"], 6, "{report}");
    assert_parenting(&receiver, 3);
    let traces = receiver.trace_requests();
    for (request, _) in &traces {
        assert_eq!(request.path, "/v1/traces");
        assert_eq!(request.header("content-type"), Some("application/x-protobuf"));
        assert_eq!(request.header("content-encoding"), None);
    }
    let span = &receiver.spans()[0];
    assert_eq!(
        span.resource.get("deployment.environment").map(String::as_str),
        Some("test lab")
    );
    assert_eq!(span.resource.get("team").map(String::as_str), Some("core"));
    // OTEL_SERVICE_NAME is unset, so service.name comes from the attributes.
    assert_eq!(span.resource.get("service.name").map(String::as_str), Some("theirs"));
    let metrics = receiver.metric_requests();
    assert!(!metrics.is_empty(), "no metric points arrived");
    assert!(metrics.iter().all(|(request, _)| request.path == "/v1/metrics"));
}

#[test]
fn gzip_bodies_decode_to_the_same_spans() {
    let receiver = HttpReceiver::start();
    let report = run_probe(
        4,
        &http_env(&receiver.endpoint(), &[("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")]),
    );
    assert_eq!(report["exported"], 8, "{report}");
    assert_parenting(&receiver, 4);
    assert!(
        receiver
            .requests()
            .iter()
            .all(|request| request.header("content-encoding") == Some("gzip")),
        "every body is gzipped"
    );
}

#[test]
fn a_signal_endpoint_is_used_as_given() {
    let receiver = HttpReceiver::start();
    let traces = format!("{}/custom/spans", receiver.endpoint());
    let report = run_probe(
        2,
        &http_env("http://127.0.0.1:9", &[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &traces)]),
    );
    assert_eq!(report["exported"], 4, "{report}");
    let paths: BTreeSet<String> = receiver.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        BTreeSet::from(["/custom/spans".to_owned()]),
        "metrics went to the generic endpoint"
    );
}

#[test]
fn retry_after_is_honoured_within_the_deadline() {
    let receiver = HttpReceiver::answering(vec![HttpAnswer::Status(503, Some(1)), HttpAnswer::Accept], None);
    let report = run_probe(1, &http_env(&receiver.endpoint(), &[("ZEN_TELEMETRY_METRICS", "off")]));
    assert_eq!(report["exported"], 2, "{report}");
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2, "one refused, one taken");
    let waited = requests[1].at.duration_since(requests[0].at);
    assert!(
        waited >= Duration::from_millis(950),
        "tried again after {waited:?}, not the second Retry-After asked"
    );
}

#[test]
fn a_partial_success_counts_the_rejected_spans() {
    let receiver = HttpReceiver::answering(vec![HttpAnswer::Reject(1)], None);
    let report = run_probe(2, &http_env(&receiver.endpoint(), &[("ZEN_TELEMETRY_METRICS", "off")]));
    assert_eq!(report["spans_rejected"], 1, "{report}");
    assert_eq!(report["exported"], 3, "{report}");
}

#[test]
fn a_bad_request_is_not_retried_and_counted_failed() {
    let receiver = HttpReceiver::answering(vec![HttpAnswer::Status(400, None)], None);
    let report = run_probe(1, &http_env(&receiver.endpoint(), &[("ZEN_TELEMETRY_METRICS", "off")]));
    assert_eq!(report["failed"], 2, "{report}");
    assert_eq!(receiver.requests().len(), 1, "400 means bad data: not sent again");
}

#[test]
fn tls_with_a_private_ca_and_mutual_tls() {
    let dir = TempDir::new("otlp-tls");
    let ca = TestCa::new(dir.path());
    let ca_path = ca.ca.display().to_string();

    let receiver = HttpReceiver::answering(vec![HttpAnswer::Accept], Some(ca.server(false)));
    let report = run_probe(
        2,
        &http_env(&receiver.endpoint(), &[("OTEL_EXPORTER_OTLP_CERTIFICATE", &ca_path)]),
    );
    assert_eq!(report["exported"], 4, "{report}");
    assert_parenting(&receiver, 2);

    // Without the CA, the receiver's certificate is not trusted: nothing arrives.
    let untrusted = HttpReceiver::answering(vec![HttpAnswer::Accept], Some(ca.server(false)));
    let report = run_probe(1, &http_env(&untrusted.endpoint(), &[("ZEN_TELEMETRY_METRICS", "off")]));
    assert_eq!(report["exported"], 0, "{report}");
    assert!(untrusted.requests().is_empty());

    let mutual = HttpReceiver::answering(vec![HttpAnswer::Accept], Some(ca.server(true)));
    let (certificate, key) = (
        ca.client_certificate.display().to_string(),
        ca.client_key.display().to_string(),
    );
    let report = run_probe(
        2,
        &http_env(
            &mutual.endpoint(),
            &[
                ("OTEL_EXPORTER_OTLP_CERTIFICATE", &ca_path),
                ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", &certificate),
                ("OTEL_EXPORTER_OTLP_CLIENT_KEY", &key),
            ],
        ),
    );
    assert_eq!(report["exported"], 4, "{report}");
    assert_parenting(&mutual, 2);
}

#[test]
fn a_tls_file_that_cannot_be_read_is_warned_about_once() {
    let receiver = HttpReceiver::start();
    let env = http_env(
        &receiver.endpoint(),
        &[("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/zen-tests/ca.pem")],
    );
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (output, _) = probe::run(PROBE, &["flushed", "1"], &env);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("OTEL_EXPORTER_OTLP_CERTIFICATE").count(),
        1,
        "one warning naming the variable: {stderr}"
    );
    assert!(stderr.contains("PEM file of certificates"), "{stderr}");
    // Plain HTTP needs no CA: the spans still go.
    assert_eq!(probe::json(&output)["exported"], 2);
}
