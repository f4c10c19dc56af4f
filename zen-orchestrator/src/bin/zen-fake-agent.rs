//! A stand-in for `claude` in zen's tests: replays a stream-json fixture with
//! delays, can sleep, spawn a grandchild, record its timeline and exit with
//! any code. Options come from arguments (`--fixture F`) or, so that the
//! Claude preset's own arguments can be ignored, from `FAKE_AGENT_*` variables.
//!
//! | argument | variable | meaning |
//! |---|---|---|
//! | `--fixture FILE` | `FAKE_AGENT_FIXTURE` | stream-json lines to print |
//! | `--line-delay-ms N` | `FAKE_AGENT_LINE_DELAY_MS` | pause before each line |
//! | `--sleep-ms N` | `FAKE_AGENT_SLEEP_MS` | pause after the replay |
//! | `--exit N` | `FAKE_AGENT_EXIT` | exit code |
//! | `--grandchild-secs N` | `FAKE_AGENT_GRANDCHILD_SECS` | start a copy of itself that sleeps N s |
//! | `--pid-file FILE` | `FAKE_AGENT_PID_FILE` | write "PID GRANDCHILD_PID" once started |
//! | `--timeline-dir DIR` | `FAKE_AGENT_TIMELINE_DIR` | write "START_NS END_NS" to DIR/PID |
//! | `--stderr TEXT` | `FAKE_AGENT_STDERR` | print TEXT on stderr |
//!
//! `FAKE_AGENT_ENV_FILE=FILE` writes `TRACEPARENT` (or nothing) to FILE.
//! The replay runs in a `fake_agent.replay` span, so a trace continued through
//! `TRACEPARENT` can be checked.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Default)]
struct Options {
    fixture: Option<PathBuf>,
    line_delay: Duration,
    sleep: Duration,
    exit: i32,
    grandchild_secs: Option<u64>,
    pid_file: Option<PathBuf>,
    timeline_dir: Option<PathBuf>,
    stderr: Option<String>,
    env_file: Option<PathBuf>,
}

/// Every option's argument name, without `--`.
const OPTIONS: [&str; 9] = [
    "fixture",
    "line-delay-ms",
    "sleep-ms",
    "exit",
    "grandchild-secs",
    "pid-file",
    "timeline-dir",
    "stderr",
    "env-file",
];

fn options() -> Options {
    let mut values: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for key in OPTIONS {
        if let Ok(value) = std::env::var(variable(key)) {
            values.insert(key.to_owned(), value);
        }
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        if let Some(key) = args[i].strip_prefix("--")
            && let Some(value) = args.get(i + 1)
            && is_option(key)
        {
            values.insert(key.to_owned(), value.clone());
            i += 2;
        } else {
            i += 1;
        }
    }
    let number = |key: &str| values.get(key).and_then(|v| v.trim().parse::<u64>().ok());
    Options {
        fixture: values.get("fixture").map(PathBuf::from),
        line_delay: Duration::from_millis(number("line-delay-ms").unwrap_or(0)),
        sleep: Duration::from_millis(number("sleep-ms").unwrap_or(0)),
        exit: values.get("exit").and_then(|v| v.trim().parse().ok()).unwrap_or(0),
        grandchild_secs: number("grandchild-secs"),
        pid_file: values.get("pid-file").map(PathBuf::from),
        timeline_dir: values.get("timeline-dir").map(PathBuf::from),
        stderr: values.get("stderr").cloned(),
        env_file: values.get("env-file").map(PathBuf::from),
    }
}

/// The variable of option `key`: `line-delay-ms` is `FAKE_AGENT_LINE_DELAY_MS`.
fn variable(key: &str) -> String {
    format!("FAKE_AGENT_{}", key.to_uppercase().replace('-', "_"))
}

fn is_option(key: &str) -> bool {
    OPTIONS.contains(&key)
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Writes atomically, so a reader never sees half a file.
fn write_file(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    if std::fs::write(&tmp, text).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}

#[zen_telemetry::traced("fake_agent.replay")]
fn replay(fixture: Option<&Path>, line_delay: Duration) -> std::io::Result<usize> {
    let Some(fixture) = fixture else {
        return Ok(0);
    };
    let text = std::fs::read_to_string(fixture)?;
    let mut stdout = std::io::stdout().lock();
    let mut lines = 0;
    for line in text.lines() {
        if !line_delay.is_zero() {
            std::thread::sleep(line_delay);
        }
        writeln!(stdout, "{line}")?;
        stdout.flush()?;
        lines += 1;
    }
    Ok(lines)
}

fn main() {
    let options = options();
    let start = now_ns();
    let pid = std::process::id();
    if let Some(path) = &options.env_file {
        write_file(path, &std::env::var("TRACEPARENT").unwrap_or_default());
    }
    let grandchild = options.grandchild_secs.and_then(|secs| {
        // Itself, not `sleep`, so it runs where there is no `sleep` (Windows).
        let mut command = std::process::Command::new(std::env::current_exe().ok()?);
        for key in OPTIONS {
            command.env_remove(variable(key));
        }
        command
            .args(["--sleep-ms", &(secs * 1000).to_string()])
            .env("ZEN_TELEMETRY_DISABLED", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()
    });
    if let Some(path) = &options.pid_file {
        let grandchild_pid = grandchild.as_ref().map_or(0, |c| c.id());
        write_file(path, &format!("{pid} {grandchild_pid}\n"));
    }
    if let Some(text) = &options.stderr {
        eprintln!("{text}");
    }
    if let Err(e) = replay(options.fixture.as_deref(), options.line_delay) {
        eprintln!("zen-fake-agent: {e}");
        exit(70);
    }
    std::thread::sleep(options.sleep);
    if let Some(dir) = &options.timeline_dir {
        write_file(&dir.join(pid.to_string()), &format!("{start} {}\n", now_ns()));
    }
    exit(options.exit);
}

/// Flushes telemetry, then exits: on Windows `process::exit` ends the export
/// threads before any exit hook could.
fn exit(code: i32) -> ! {
    zen_telemetry::shutdown();
    std::process::exit(code);
}
