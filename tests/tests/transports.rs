//! Both OTLP transports end to end, each with and without gzip, each plain
//! and over TLS with a CA made in the test (and mutual TLS over gRPC; over
//! HTTP it is in `otlp_http.rs`): real `zen-probe` processes export to
//! receivers on 127.0.0.1 that decode with `opentelemetry-proto`.

use std::collections::BTreeSet;

use zen_tests::TempDir;
use zen_tests::http_receiver::TestCa;
use zen_tests::probe;
use zen_tests::receiver::{Protocol, Receiver};

const PROBE: &str = env!("CARGO_BIN_EXE_zen-probe");
const ROOTS: usize = 3;

/// Runs `zen-probe flushed ROOTS` (roots with a child each, then shutdown)
/// against `receiver` and returns its report.
fn run_probe(protocol: Protocol, receiver: &Receiver, extra: &[(&str, &str)]) -> serde_json::Value {
    let endpoint = receiver.endpoint();
    let mut env = vec![
        ("ZEN_TELEMETRY_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.name()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
    ];
    env.extend_from_slice(extra);
    let (output, _) = probe::run(PROBE, &["flushed", &ROOTS.to_string()], &env);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}; stderr:\n{stderr}", output.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
    probe::json(&output)
}

/// Every span arrived, and every child's parent is a root of its trace.
fn assert_delivered(label: &str, receiver: &Receiver, report: &serde_json::Value) {
    assert_eq!(report["exported"], 2 * ROOTS, "{label}: {report}");
    let spans = receiver.spans();
    assert_eq!(spans.len(), 2 * ROOTS, "{label}");
    let roots: BTreeSet<(Vec<u8>, Vec<u8>)> = spans
        .iter()
        .filter(|s| s.span.name == "probe.root")
        .map(|s| (s.span.trace_id.clone(), s.span.span_id.clone()))
        .collect();
    assert_eq!(roots.len(), ROOTS, "{label}");
    for child in spans.iter().filter(|s| s.span.name == "probe.child") {
        let parent = (child.span.trace_id.clone(), child.span.parent_span_id.clone());
        assert!(roots.contains(&parent), "{label}: a child without its root");
    }
    let services: BTreeSet<&str> = spans
        .iter()
        .filter_map(|s| s.resource.get("service.name").map(String::as_str))
        .collect();
    assert_eq!(services.len(), 1, "{label}: one resource, named: {services:?}");
}

#[test]
fn each_transport_plain_and_tls_with_and_without_gzip() {
    let dir = TempDir::new("transports");
    let ca = TestCa::new(dir.path());
    let ca_path = ca.ca.display().to_string();
    for protocol in Protocol::BOTH {
        for tls in [false, true] {
            for compression in ["none", "gzip"] {
                let label = format!("{} tls={tls} compression={compression}", protocol.name());
                let receiver = match tls {
                    true => Receiver::with_tls(protocol, &ca, false),
                    false => Receiver::start(protocol),
                };
                let report = run_probe(
                    protocol,
                    &receiver,
                    &[
                        ("OTEL_EXPORTER_OTLP_COMPRESSION", compression),
                        ("OTEL_EXPORTER_OTLP_CERTIFICATE", &ca_path),
                    ],
                );
                assert_delivered(&label, &receiver, &report);
                assert_eq!(receiver.every_span_request_gzipped(), compression == "gzip", "{label}");
            }
        }
    }
}

#[test]
fn grpc_over_tls_is_refused_without_the_ca_and_mutual_tls_needs_the_client_identity() {
    let dir = TempDir::new("transports-mtls");
    let ca = TestCa::new(dir.path());
    let ca_path = ca.ca.display().to_string();

    let untrusted = Receiver::with_tls(Protocol::Grpc, &ca, false);
    let report = run_probe(Protocol::Grpc, &untrusted, &[("ZEN_TELEMETRY_METRICS", "off")]);
    assert_eq!(report["exported"], 0, "not trusted without the CA: {report}");
    assert!(untrusted.spans().is_empty());

    let mutual = Receiver::with_tls(Protocol::Grpc, &ca, true);
    let report = run_probe(
        Protocol::Grpc,
        &mutual,
        &[
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", &ca_path),
            ("ZEN_TELEMETRY_METRICS", "off"),
        ],
    );
    assert_eq!(report["exported"], 0, "no client certificate, no delivery: {report}");

    let (certificate, key) = (
        ca.client_certificate.display().to_string(),
        ca.client_key.display().to_string(),
    );
    let report = run_probe(
        Protocol::Grpc,
        &mutual,
        &[
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", &ca_path),
            ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", &certificate),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", &key),
        ],
    );
    assert_delivered("grpc mtls", &mutual, &report);
}
