//! Durable delivery: what a run could not deliver before exit is spooled on
//! disk and sent by the next run with the same destination, exactly once,
//! over either OTLP transport: a batch spooled under one protocol is
//! delivered by the other. Every run is a real `zen-probe` process against
//! loopback receivers; each test has its own state directory.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use zen_tests::TempDir;
use zen_tests::collector::{ClosingBlackhole, ReceivedSpan, attributes};
use zen_tests::probe::{self, WatchedRun};
use zen_tests::receiver::{Protocol, Receiver};

const PROBE: &str = env!("CARGO_BIN_EXE_zen-probe");
/// Each root has one child.
const SPANS_PER_ROOT: u64 = 2;

/// A probe run against `endpoint` over `protocol`, spooling under `state`,
/// its resource tagged with `run` (as `service.version`) so the receiver can
/// tell runs apart.
fn env<'a>(
    protocol: Protocol,
    endpoint: &'a str,
    state: &'a Path,
    run: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, String)> {
    let mut env = vec![
        ("ZEN_TELEMETRY_EXPORTER", "otlp".to_owned()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.name().to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.to_owned()),
        ("ZEN_TELEMETRY_SAMPLE_RATE", "1".to_owned()),
        ("ZEN_TELEMETRY_SPOOL", "on".to_owned()),
        ("XDG_STATE_HOME", state.display().to_string()),
        ("ZEN_SERVICE_VERSION", run.to_owned()),
        ("ZEN_TELEMETRY_DEBUG", "1".to_owned()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    env
}

fn run(
    protocol: Protocol,
    args: &[&str],
    endpoint: &str,
    state: &Path,
    tag: &str,
    extra: &[(&str, &str)],
) -> WatchedRun {
    let env = env(protocol, endpoint, state, tag, extra);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = probe::run_watched(PROBE, args, &env);
    let tag = format!("{tag} over {}", protocol.name());
    assert!(run.status.success(), "{tag}: {}; stderr:\n{}", run.status, run.stderr);
    assert!(!run.stderr.contains("panicked"), "{tag}: {}", run.stderr);
    run
}

fn count(run: &WatchedRun, key: &str) -> u64 {
    run.report[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key} in {}", run.report))
}

/// A port nothing listens on now, for a backend that is down and comes back.
fn free_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

/// The batch files under the spool root, by signal, with the items in each
/// (as their names say).
fn spooled(state: &Path) -> BTreeMap<&'static str, Vec<(PathBuf, u64)>> {
    let mut found: BTreeMap<&'static str, Vec<(PathBuf, u64)>> = BTreeMap::new();
    let root = state.join("zen-telemetry/spool");
    for dir in fs::read_dir(&root).into_iter().flatten().flatten() {
        for file in fs::read_dir(dir.path()).into_iter().flatten().flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            let signal = if name.contains(".traces.batch") {
                "traces"
            } else if name.contains(".metrics.batch") {
                "metrics"
            } else {
                continue;
            };
            let items = name
                .split('.')
                .next()
                .and_then(|stem| stem.split('-').nth(3))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            found.entry(signal).or_default().push((file.path(), items));
        }
    }
    found
}

fn spooled_items(state: &Path, signal: &str) -> u64 {
    spooled(state)
        .get(signal)
        .map_or(0, |files| files.iter().map(|(_, n)| n).sum())
}

/// Span ids received for the run tagged `run`.
fn ids_of(spans: &[ReceivedSpan], run: &str) -> Vec<Vec<u8>> {
    spans
        .iter()
        .filter(|s| s.resource.get("service.version").map(String::as_str) == Some(run))
        .map(|s| s.span.span_id.clone())
        .collect()
}

fn assert_unique(spans: &[ReceivedSpan]) {
    let ids: BTreeSet<&Vec<u8>> = spans.iter().map(|s| &s.span.span_id).collect();
    assert_eq!(ids.len(), spans.len(), "a span id arrived twice");
}

/// Down, then up: run A's spans are spooled under protocol `a`; run B,
/// speaking `b`, delivers A's and B's spans exactly once and leaves the
/// spool empty.
fn down_then_up(
    (a_protocol, b_protocol): (Protocol, Protocol),
    a_against: &str,
    addr: SocketAddr,
    close: impl FnOnce(),
    label: &str,
) {
    let state = TempDir::new(label);
    // A shutdown timeout far beyond the spool budget: spooling at all shows
    // the budget, not the timeout, ended the flush.
    let a = run(
        a_protocol,
        &["flushed", "10"],
        a_against,
        state.path(),
        "a",
        &[("ZEN_TELEMETRY_SHUTDOWN_TIMEOUT_MS", "20000")],
    );
    assert_eq!(count(&a, "recorded"), 10 * SPANS_PER_ROOT);
    assert_eq!(count(&a, "spans_spooled"), 10 * SPANS_PER_ROOT, "{}", a.stderr);
    assert_eq!(spooled_items(state.path(), "traces"), 10 * SPANS_PER_ROOT);
    close();

    let (collector, b) = backend_returns(b_protocol, addr, state.path(), "5");
    let spans = collector.wait_for_spans(30, Duration::from_secs(5));
    assert_unique(&spans);
    assert_eq!(ids_of(&spans, "a").len() as u64, 10 * SPANS_PER_ROOT, "A's spans");
    assert_eq!(ids_of(&spans, "b").len() as u64, 5 * SPANS_PER_ROOT, "B's spans");
    assert_eq!(spans.len(), 30);
    assert_eq!(count(&b, "spans_resent"), 10 * SPANS_PER_ROOT);
    assert_eq!(count(&b, "spans_spooled"), 0);
    assert_eq!(spooled_items(state.path(), "traces"), 0, "the spool is empty");
}

/// The backend comes back at `addr`, speaking `protocol`, and run B (of
/// `roots` roots, tagged "b") meets it.
fn backend_returns(protocol: Protocol, addr: SocketAddr, state: &Path, roots: &str) -> (Receiver, WatchedRun) {
    let collector = Receiver::start_on(protocol, addr);
    let b = run(protocol, &["flushed", roots], &collector.endpoint(), state, "b", &[]);
    (collector, b)
}

/// Every (spooled under, delivered by) pair of transports.
const PAIRS: [(Protocol, Protocol); 4] = [
    (Protocol::Grpc, Protocol::Grpc),
    (Protocol::HttpProtobuf, Protocol::HttpProtobuf),
    (Protocol::Grpc, Protocol::HttpProtobuf),
    (Protocol::HttpProtobuf, Protocol::Grpc),
];

#[test]
fn refused_then_healthy_delivers_both_runs_exactly_once_over_either_protocol() {
    for pair in PAIRS {
        let addr = free_addr();
        down_then_up(pair, &format!("http://{addr}"), addr, || {}, "spool-refused");
    }
}

#[test]
fn blackholed_then_healthy_delivers_both_runs_exactly_once() {
    for protocol in Protocol::BOTH {
        let blackhole = ClosingBlackhole::start();
        let (endpoint, addr) = (blackhole.endpoint(), blackhole.addr());
        down_then_up(
            (protocol, protocol),
            &endpoint,
            addr,
            move || drop(blackhole),
            "spool-blackhole",
        );
    }
}

#[test]
fn two_runs_started_together_never_send_a_batch_twice() {
    for protocol in Protocol::BOTH {
        let state = TempDir::new("spool-race");
        let addr = free_addr();
        let endpoint = format!("http://{addr}");
        // Many small batches: 200 roots in batches of 25 spans.
        let small_batches = [("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "25")];
        let a = run(
            protocol,
            &["flushed", "200"],
            &endpoint,
            state.path(),
            "a",
            &small_batches,
        );
        assert_eq!(count(&a, "spans_spooled"), 400);
        assert_eq!(spooled(state.path())["traces"].len(), 16);

        let collector = Receiver::start_on(protocol, addr);
        // Two runs at once, each alive for 3 s: enough resend rounds for both to
        // compete for all 16 batches.
        let env = env(protocol, &endpoint, state.path(), "b", &[]);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let children: Vec<_> = (0..2)
            .map(|_| {
                probe::command(PROBE, &["paced", "30", "100"], &env)
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("start a probe")
            })
            .collect();
        for child in children {
            let output = child.wait_with_output().expect("wait");
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        }
        let spans = collector.wait_for_spans(400 + 120, Duration::from_secs(5));
        assert_unique(&spans);
        assert_eq!(ids_of(&spans, "a").len(), 400);
        assert_eq!(ids_of(&spans, "b").len(), 120);
        assert_eq!(spooled_items(state.path(), "traces"), 0);
    }
}

#[test]
fn a_torn_batch_is_skipped_with_one_warning_and_the_rest_delivered() {
    for protocol in Protocol::BOTH {
        let state = TempDir::new("spool-torn");
        let addr = free_addr();
        let endpoint = format!("http://{addr}");
        let small_batches = [("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10")];
        run(
            protocol,
            &["flushed", "20"],
            &endpoint,
            state.path(),
            "a",
            &small_batches,
        );
        let files = &spooled(state.path())["traces"];
        assert_eq!(files.len(), 4);
        // What a process killed mid-write would leave were writes not atomic: a
        // batch cut short. (Ours are atomic, so a kill leaves only a temporary
        // file; one of those, old enough to be a dead writer's, is here too.)
        let (torn, torn_items) = &files[1];
        let bytes = fs::read(torn).expect("read a batch");
        fs::write(torn, &bytes[..bytes.len() / 2]).expect("tear it");
        let temp = torn.with_file_name(".tmp-00000000000000000001-1-0-5.traces.batch");
        fs::write(&temp, b"half a batch").expect("write a temp file");
        let long_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        fs::File::options()
            .write(true)
            .open(&temp)
            .and_then(|file| file.set_modified(long_ago))
            .expect("age the temp file");

        let (collector, b) = backend_returns(protocol, addr, state.path(), "1");
        let warnings: Vec<&str> = b
            .stderr
            .lines()
            .filter(|l| l.contains("unreadable spool file"))
            .collect();
        assert_eq!(warnings.len(), 1, "{}", b.stderr);
        assert!(warnings[0].contains("truncated"), "{}", warnings[0]);
        let spans = collector.wait_for_spans(40 - *torn_items as usize + 2, Duration::from_secs(5));
        assert_unique(&spans);
        assert_eq!(ids_of(&spans, "a").len() as u64, 40 - torn_items);
        assert_eq!(count(&b, "spans_spool_dropped"), *torn_items);
        assert!(spooled(state.path()).is_empty(), "{:?}", spooled(state.path()));
    }
}

#[test]
fn a_run_killed_at_exit_leaves_nothing_the_next_run_trips_on() {
    for protocol in Protocol::BOTH {
        let state = TempDir::new("spool-kill");
        let addr = free_addr();
        let endpoint = format!("http://{addr}");
        let env = env(
            protocol,
            &endpoint,
            state.path(),
            "a",
            &[("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10")],
        );
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        // Killed with SIGKILL as soon as its work is done, in the middle of its
        // exit flush: whatever it managed to spool is whole.
        let mut child = probe::command(PROBE, &["spans", "300"], &env)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start a probe");
        let mut stdout = child.stdout.take().expect("stdout");
        let mut first = [0u8; 1];
        let _ = std::io::Read::read(&mut stdout, &mut first);
        let _ = child.kill();
        let _ = child.wait();
        let before = spooled_items(state.path(), "traces");

        let (collector, b) = backend_returns(protocol, addr, state.path(), "1");
        assert!(!b.stderr.contains("unreadable spool file"), "{}", b.stderr);
        let spans = collector.wait_for_spans(before as usize + 2, Duration::from_secs(5));
        assert_unique(&spans);
        assert_eq!(ids_of(&spans, "a").len() as u64, before);
        assert_eq!(count(&b, "spans_resent"), before);
    }
}

#[test]
fn over_its_bound_the_spool_drops_the_oldest_and_counts_them() {
    for protocol in Protocol::BOTH {
        let state = TempDir::new("spool-bound");
        let endpoint = format!("http://{}", free_addr());
        let bounded = [
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "20"),
            ("ZEN_TELEMETRY_SPOOL_MAX_BYTES", "12000"),
        ];
        let a = run(protocol, &["flushed", "200"], &endpoint, state.path(), "a", &bounded);
        let (spooled_spans, dropped) = (count(&a, "spans_spooled"), count(&a, "spans_spool_dropped"));
        assert_eq!(spooled_spans, 400);
        assert!(dropped > 0, "{}", a.report);
        let kept = spooled_items(state.path(), "traces") + spooled_items(state.path(), "metrics");
        let metric_points = count(&a, "metric_points_spooled");
        assert_eq!(kept, spooled_spans + metric_points - dropped - metric_dropped(&a));
        let size: u64 = spooled(state.path())
            .values()
            .flatten()
            .map(|(path, _)| fs::metadata(path).map(|m| m.len()).unwrap_or(0))
            .sum();
        assert!(size <= 12000, "{size} bytes");
        // The oldest went: what is left is the newest, batch names sorting by age.
        let mut names: Vec<String> = spooled(state.path())["traces"]
            .iter()
            .map(|(p, _)| {
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .collect();
        names.sort();
        let last_seq = |name: &str| name.split('-').nth(2).and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
        let seqs: Vec<u64> = names.iter().map(|n| last_seq(n)).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{names:?}");
        assert!(
            *seqs.first().unwrap_or(&0) > 0,
            "the first batch was dropped: {names:?}"
        );
    }
}

fn metric_dropped(run: &WatchedRun) -> u64 {
    run.report["metric_points_spool_dropped"].as_u64().unwrap_or(0)
}

#[cfg(unix)]
#[test]
fn the_spool_is_private_to_its_user() {
    for protocol in Protocol::BOTH {
        let state = TempDir::new("spool-mode");
        let endpoint = format!("http://{}", free_addr());
        run(protocol, &["flushed", "3"], &endpoint, state.path(), "a", &[]);
        let root = state.path().join("zen-telemetry");
        for dir in [root.clone(), root.join("spool")] {
            assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        }
        let files: Vec<PathBuf> = spooled(state.path()).into_values().flatten().map(|(p, _)| p).collect();
        assert!(files.len() >= 2, "spans and metric points: {files:?}");
        for file in &files {
            assert_eq!(mode(file.parent().expect("dir")), 0o700);
            assert_eq!(mode(file), 0o600, "{}", file.display());
        }
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).map(|m| m.permissions().mode() & 0o777).unwrap_or(0)
}

/// Windows has no mode bits: the spool is private because it lives in the
/// user's profile, under `%LOCALAPPDATA%` (never under HOME or elsewhere).
#[cfg(windows)]
#[test]
fn the_spool_is_under_the_users_local_app_data() {
    for protocol in Protocol::BOTH {
        let local_app_data = TempDir::new("spool-local-app-data");
        let home = TempDir::new("spool-home");
        let endpoint = format!("http://{}", free_addr());
        let local = local_app_data.path().display().to_string();
        let home_path = home.path().display().to_string();
        let elsewhere = [
            ("XDG_STATE_HOME", ""),
            ("LOCALAPPDATA", local.as_str()),
            ("HOME", home_path.as_str()),
            ("USERPROFILE", home_path.as_str()),
        ];
        run(protocol, &["flushed", "3"], &endpoint, Path::new(""), "a", &elsewhere);
        let files: Vec<PathBuf> = spooled(local_app_data.path())
            .into_values()
            .flatten()
            .map(|(p, _)| p)
            .collect();
        assert!(
            files.len() >= 2,
            "spans and metric points under %LOCALAPPDATA%: {files:?}"
        );
        let root = local_app_data.path().join("zen-telemetry").join("spool");
        assert!(files.iter().all(|file| file.starts_with(&root)), "{files:?}");
        let in_home: Vec<PathBuf> = fs::read_dir(home.path())
            .map(|dir| dir.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(in_home.is_empty(), "made under HOME: {in_home:?}");
    }
}

#[test]
fn disabled_or_off_nothing_is_made() {
    for protocol in Protocol::BOTH {
        let endpoint = format!("http://{}", free_addr());
        for (label, switch) in [
            ("disabled", ("ZEN_TELEMETRY_DISABLED", "1")),
            ("spool off", ("ZEN_TELEMETRY_SPOOL", "off")),
        ] {
            let state = TempDir::new("spool-off");
            let a = run(protocol, &["flushed", "5"], &endpoint, state.path(), "a", &[switch]);
            let made: Vec<_> = fs::read_dir(state.path()).expect("read").flatten().collect();
            assert!(made.is_empty(), "{label}: {made:?}");
            assert_eq!(count(&a, "spans_spooled"), 0, "{label}");
        }
    }
}

#[test]
fn metric_points_are_spooled_and_resent_too() {
    for (a_protocol, b_protocol) in PAIRS {
        let state = TempDir::new("spool-metrics");
        let addr = free_addr();
        let a = run(
            a_protocol,
            &["flushed", "4"],
            &format!("http://{addr}"),
            state.path(),
            "a",
            &[],
        );
        let points = count(&a, "metric_points_spooled");
        // probe.root and probe.child: a call counter and a duration histogram each.
        assert_eq!(points, 4, "{}", a.report);
        assert_eq!(spooled_items(state.path(), "metrics"), points);

        let (collector, b) = backend_returns(b_protocol, addr, state.path(), "1");
        assert_eq!(count(&b, "metric_points_resent"), points, "{}", b.stderr);
        let requests = collector.wait_for_metric_requests(2, Duration::from_secs(5));
        let from_a: Vec<_> = requests
            .iter()
            .flat_map(|request| &request.resource_metrics)
            .filter(|rm| {
                rm.resource
                    .as_ref()
                    .map(|r| attributes(&r.attributes))
                    .unwrap_or_default()
                    .get("service.version")
                    == Some(&"a".to_owned())
            })
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .map(|m| m.name.clone())
            .collect();
        let names: BTreeSet<&str> = from_a.iter().map(String::as_str).collect();
        assert!(
            names.contains("function.calls") && names.contains("function.calls.duration"),
            "{names:?}"
        );
        assert_eq!(spooled_items(state.path(), "metrics"), 0);
    }
}
