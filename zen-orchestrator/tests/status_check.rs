//! `zen telemetry status --check`: one span and one metric point to each
//! destination, and what a person reads when they did not arrive.

mod common;

use std::net::TcpListener;
use std::process::Command;

use common::{TempDir, ZEN};
use zen_tests::http_receiver::{HttpAnswer, HttpReceiver, TestCa};

/// Runs the check with `env` only; returns the exit code and stdout.
fn check(env: &[(&str, &str)]) -> (i32, String) {
    let output = Command::new(ZEN)
        .env_clear()
        .args(["telemetry", "status", "--check"])
        .env("NO_GCE_CHECK", "true")
        .env("ZEN_TELEMETRY_EXPORTER", "otlp")
        .envs(env.iter().copied())
        .output()
        .expect("run zen");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (output.status.code().unwrap_or(-1), stdout)
}

#[test]
fn a_healthy_receiver_gets_one_span_and_one_point() {
    let receiver = HttpReceiver::start();
    let (code, stdout) = check(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint()),
    ]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("check traces: delivered"), "{stdout}");
    assert!(stdout.contains("check metrics: delivered"), "{stdout}");
    let spans = receiver.spans();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].span.name, "zen.telemetry.check");
    assert_eq!(receiver.metric_requests().len(), 1);
}

#[test]
fn a_refused_port_says_connection_refused() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    for protocol in ["grpc", "http/protobuf"] {
        let (code, stdout) = check(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ]);
        assert_eq!(code, 1, "{protocol}: {stdout}");
        assert_eq!(
            stdout.matches("NOT delivered: connection refused by").count(),
            2,
            "{protocol}: {stdout}"
        );
    }
}

#[test]
fn grpc_spoken_to_an_http1_server_names_the_protocol_variable() {
    let receiver = HttpReceiver::start();
    let (code, stdout) = check(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint())]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("answered HTTP/1.1 to gRPC: set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"),
        "{stdout}"
    );
}

#[test]
fn a_path_that_takes_no_otlp_asks_whether_it_is_an_otlp_endpoint() {
    let receiver = HttpReceiver::start();
    let (code, stdout) = check(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            &format!("{}/wrong", receiver.endpoint()),
        ),
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            &format!("{}/v1/metrics", receiver.endpoint()),
        ),
    ]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("check traces: NOT delivered: HTTP 404 from"),
        "{stdout}"
    );
    assert!(stdout.contains("/wrong: is this an OTLP/HTTP endpoint?"), "{stdout}");
    assert!(stdout.contains("check metrics: delivered"), "{stdout}");
}

#[test]
fn an_untrusted_certificate_names_the_certificate_variable() {
    let dir = TempDir::new("check-tls");
    let ca = TestCa::new(&dir.0);
    let receiver = HttpReceiver::answering(vec![HttpAnswer::Accept], Some(ca.server(false)));
    let (code, stdout) = check(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint()),
    ]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("TLS: the certificate of"), "{stdout}");
    assert!(stdout.contains("not trusted"), "{stdout}");
    assert!(stdout.contains("set OTEL_EXPORTER_OTLP_CERTIFICATE"), "{stdout}");
    let ca_path = ca.ca.display().to_string();
    let (code, stdout) = check(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint()),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", &ca_path),
    ]);
    assert_eq!(code, 0, "with the CA: {stdout}");
}

#[test]
fn disabled_sends_nothing_and_fails_the_check() {
    let receiver = HttpReceiver::start();
    let (code, stdout) = check(&[
        ("ZEN_TELEMETRY_DISABLED", "1"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint()),
    ]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("telemetry is disabled; nothing was sent"), "{stdout}");
    assert!(receiver.requests().is_empty());
}
