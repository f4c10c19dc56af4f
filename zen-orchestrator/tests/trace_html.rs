//! `zen traces FILE --html OUT.html` in a real browser: headless Chromium (the
//! OS package; `.ci/run` installs it) loads the page from disk with the
//! network off. The DOM holds every span of the demo's trace and marks its
//! errors, and a screenshot is taken.

mod common;

use std::path::Path;
use std::process::Command;

use common::{TempDir, run_command, text, zen};
use serde_json::Value;

/// Runs headless Chromium on `page` with no network and a profile in `dir`.
fn chromium(dir: &Path, page: &Path, action: &[&str]) -> std::process::Output {
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--proxy-server=127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", dir.join("chromium-profile").display()))
        .args(action)
        .arg(format!("file://{}", page.display()))
        .env("HOME", dir)
        .output()
        .expect("start chromium")
}

#[test]
fn the_html_view_shows_every_span_and_marks_errors_in_a_browser() {
    let dir = TempDir::new("trace-html");
    let demo = common::example("demo.json");
    let trace = dir.path("trace.jsonl");
    let run = run_command(&demo)
        .env_remove("ZEN_TELEMETRY_DISABLED")
        .current_dir(&dir.0)
        .arg("--trace-file")
        .arg(&trace)
        .output()
        .expect("run the demo");
    assert_ne!(run.status.code(), Some(2), "{}", text(&run.stderr));
    let spans: Vec<Value> = std::fs::read_to_string(&trace)
        .expect("the trace")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a span"))
        .collect();
    let errors = spans.iter().filter(|s| s["status"] == "error").count();
    assert!(spans.len() > 5 && errors > 0, "the demo has spans and errors");

    let page = dir.path("trace.html");
    let written = zen()
        .arg("traces")
        .arg(&trace)
        .arg("--html")
        .arg(&page)
        .output()
        .expect("zen traces");
    assert_eq!(written.status.code(), Some(0), "{}", text(&written.stderr));
    let html = std::fs::read_to_string(&page).expect("the page");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "self-contained"
    );

    if !zen_tests::os_tool::require("chromium", "chromium", "the HTML trace view rendered in a browser") {
        return;
    }
    let dom = chromium(&dir.0, &page, &["--dump-dom"]);
    assert!(dom.status.success(), "{}", text(&dom.stderr));
    let dom = text(&dom.stdout);
    assert!(dom.contains("<h1>zen traces: trace.jsonl</h1>"), "{dom}");
    for span in &spans {
        let id = span["span_id"].as_str().expect("span id");
        assert!(
            dom.contains(&format!("data-span-id=\"{id}\"")),
            "span {id} ({}) is missing",
            span["name"]
        );
    }
    assert_eq!(dom.matches("class=\"span error\"").count(), errors, "{dom}");
    assert_eq!(dom.matches("✗ error:").count(), errors);

    let shot = dir.path("trace.png");
    let screenshot = chromium(
        &dir.0,
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,900",
            "--hide-scrollbars",
        ],
    );
    assert!(screenshot.status.success(), "{}", text(&screenshot.stderr));
    let png = std::fs::read(&shot).expect("the screenshot");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    if let Some(keep) = std::env::var_os("ZEN_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).expect("keep the screenshot");
    }
}
