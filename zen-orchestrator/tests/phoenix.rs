//! A real third-party OTLP/HTTP receiver: Arize Phoenix (from PyPI) takes
//! a demo run's spans at `/v1/traces`, and its own REST API gives them back
//! with their parents. `.ci/run` installs it; elsewhere the test says how.

mod common;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{TempDir, run_command, text};
use serde_json::Value;

const INSTALL: &str = "python3 -m venv /opt/phoenix && /opt/phoenix/bin/pip install arize-phoenix==20.26.1, \
                       then put /opt/phoenix/bin on PATH";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// Phoenix on 127.0.0.1, offline, its database in `dir`; killed on drop.
struct Phoenix {
    child: Child,
    port: u16,
}

impl Phoenix {
    fn start(dir: &Path) -> Phoenix {
        let port = free_port();
        let child = Command::new("phoenix")
            .arg("serve")
            .env("PHOENIX_HOST", "127.0.0.1")
            .env("PHOENIX_PORT", port.to_string())
            .env("PHOENIX_GRPC_PORT", free_port().to_string())
            .env("PHOENIX_WORKING_DIR", dir)
            .env("PHOENIX_TELEMETRY_ENABLED", "false")
            .env("PHOENIX_ALLOW_EXTERNAL_RESOURCES", "false")
            .env("PHOENIX_DISABLE_AGENT_ASSISTANT", "true")
            .env("PHOENIX_LOG_MIGRATIONS", "false")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start phoenix");
        let phoenix = Phoenix { child, port };
        // Start-up is ~20 s of Python imports and migrations, longer on a busy machine.
        let ready = poll(Duration::from_secs(180), || phoenix.get("/healthz").map(|_| ()));
        assert!(ready.is_some(), "Phoenix did not answer /healthz within 180 s");
        phoenix
    }

    /// GET `path`; the body when the answer is 200.
    fn get(&self, path: &str) -> Option<String> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        let (head, body) = answer.split_once("\r\n\r\n")?;
        if !head.starts_with("HTTP/1.1 200") {
            return None;
        }
        // Phoenix answers JSON in chunks.
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
            let mut decoded = String::new();
            let mut rest = body;
            while let Some((size, tail)) = rest.split_once("\r\n") {
                let size = usize::from_str_radix(size.trim(), 16).ok()?;
                if size == 0 {
                    break;
                }
                decoded.push_str(tail.get(..size)?);
                rest = tail.get(size + 2..)?;
            }
            return Some(decoded);
        }
        Some(body.to_owned())
    }
}

impl Drop for Phoenix {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn poll<T>(timeout: Duration, mut attempt: impl FnMut() -> Option<T>) -> Option<T> {
    let until = Instant::now() + timeout;
    loop {
        if let Some(found) = attempt() {
            return Some(found);
        }
        if Instant::now() > until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn phoenix_receives_a_demo_runs_spans_over_http_with_parenting_intact() {
    if !zen_tests::os_tool::require_installed_by("phoenix", INSTALL, "the export to Arize Phoenix over OTLP/HTTP") {
        return;
    }
    let dir = TempDir::new("phoenix");
    let phoenix = Phoenix::start(&dir.0);
    let demo = common::example("demo.json");
    let out = run_command(&demo)
        .env_remove("ZEN_TELEMETRY_DISABLED")
        .env("ZEN_TELEMETRY_EXPORTER", "otlp")
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{}", phoenix.port),
        )
        .env("ZEN_TELEMETRY_SAMPLE_RATE", "1")
        .env("ZEN_TELEMETRY_METRICS", "off")
        .current_dir(&dir.0)
        .output()
        .expect("run zen");
    assert_ne!(out.status.code(), Some(2), "{}", text(&out.stderr));
    // Phoenix stores what it took a moment after answering.
    let spans = poll(Duration::from_secs(30), || {
        let body = phoenix.get("/v1/projects/default/spans?limit=1000")?;
        let data = serde_json::from_str::<Value>(&body).ok()?["data"].as_array()?.clone();
        (!data.is_empty()).then_some(data)
    })
    .expect("no spans reached Phoenix");
    let ids: BTreeMap<String, String> = spans
        .iter()
        .map(|span| {
            (
                span["context"]["span_id"].as_str().unwrap_or_default().to_owned(),
                span["context"]["trace_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let names: Vec<&str> = spans.iter().filter_map(|span| span["name"].as_str()).collect();
    assert!(names.contains(&"zen.run"), "{names:?}");
    assert!(
        names.iter().filter(|name| **name == "zen.instance").count() >= 2,
        "{names:?}"
    );
    let mut children = 0;
    for span in &spans {
        let Some(parent) = span["parent_id"].as_str() else {
            continue;
        };
        children += 1;
        assert_eq!(
            ids.get(parent).map(String::as_str),
            span["context"]["trace_id"].as_str(),
            "{} has parent {parent}, which Phoenix does not hold in its trace",
            span["name"]
        );
    }
    assert!(
        children + 1 >= spans.len(),
        "one root, every other span a child: {names:?}"
    );
}
