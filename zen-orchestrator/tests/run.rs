//! `zen run` end to end, with the fake agent standing in for Claude Code.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

fn claude_instance(name: &str, command: &str, fixture_name: &str) -> Value {
    json!({"name": name, "command": command, "env": {"FAKE_AGENT_FIXTURE": fixture(fixture_name)}})
}

#[test]
fn accounts_tokens_cost_tools_and_malformed_lines_from_stream_json() {
    let dir = TempDir::new("accounting");
    let config = dir.config(&json!({"instances": [
        claude_instance("session", "/review src --strict", "session.jsonl"),
        claude_instance("broken", "explain the build", "malformed.jsonl"),
        claude_instance("estimate", "/cost", "no-result.jsonl"),
    ]}));
    let report_path = dir.path("report.json");
    let out = run_config(&config, &["--report", report_path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let report = read_json(&report_path);

    let session = instance(&report, "session");
    assert_eq!(session["status"], "succeeded");
    assert_eq!(session["command"], "/review");
    assert_eq!(
        session["tokens"],
        json!({"input": 1200, "output": 350, "cache_read": 20000, "cache_creation": 3000, "total": 24550})
    );
    assert_eq!(session["tools"], json!({"Bash": 1, "Read": 2}));
    assert_eq!(session["tool_calls"], 3);
    assert_eq!(session["cost_usd"], 0.0421);
    assert_eq!(session["cost_source"], "reported");
    assert_eq!(session["model"], "claude-sonnet-4-5-20250929");

    let broken = instance(&report, "broken");
    assert_eq!(broken["malformed_lines"], 3);
    assert_eq!(broken["tokens"]["input"], 100);
    assert_eq!(broken["command"], Value::Null, "a free prompt has no command name");

    let estimate = instance(&report, "estimate");
    assert_eq!(estimate["cost_source"], "estimated");
    let cost = estimate["cost_usd"].as_f64().unwrap();
    assert!((cost - 25.875).abs() < 1e-9, "{cost}");

    // The final table is printed, with the readable echo of the stream before it.
    let stdout = text(&out.stdout);
    assert!(stdout.contains("[session] -> Read"), "{stdout}");
    assert!(stdout.contains("INSTANCE  STATUS"), "{stdout}");
    assert!(stdout.contains("24550") || stdout.contains("20000"), "{stdout}");
    // Then the tool-usage table: session's Read used 2 of its messages' 19 150 tokens' worth.
    let tools: Vec<&str> = stdout.lines().skip_while(|l| *l != "zen: tool usage").collect();
    assert!(tools.len() >= 4, "{stdout}");
    assert!(tools[1].starts_with("TOOL "), "{stdout}");
    assert!(
        tools
            .iter()
            .any(|l| l.starts_with("Read ") && l.contains(" 16325 ") && l.ends_with("session (2)")),
        "{stdout}"
    );
    assert!(
        tools
            .iter()
            .any(|l| l.starts_with("Bash ") && l.ends_with("session (1)")),
        "{stdout}"
    );
}

#[test]
fn report_matches_the_documented_schema() {
    let dir = TempDir::new("schema");
    let config = dir.config(&json!({"instances": [
        claude_instance("ok", "/review", "session.jsonl"),
        {"name": "fails", "program": FAKE_AGENT, "args": ["--exit", "4"]},
    ], "budget": {"overall_budget": 1000000}}));
    let report_path = dir.path("report.json");
    let out = run_config(&config, &["--report", report_path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "one instance failed: {}", text(&out.stderr));
    let report = read_json(&report_path);
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/orchestrator-report.md"))
        .expect("docs/orchestrator-report.md");

    let keys = |v: &Value| -> Vec<String> { v.as_object().expect("object").keys().cloned().collect() };
    let check = |section: &str, value: &Value| {
        for key in keys(value) {
            assert!(
                doc.contains(&format!("`{key}`")),
                "{section} key {key:?} is not documented"
            );
        }
    };
    check("top-level", &report);
    check("budget", &report["budget"]);
    check("totals", &report["totals"]);
    check("instance", &report["instances"][0]);
    check("tokens", &report["instances"][0]["tokens"]);

    assert_eq!(report["schema_version"], 1);
    assert_eq!(
        keys(&report),
        [
            "budget",
            "cancelled",
            "duration_ms",
            "exit_code",
            "failed",
            "instances",
            "schema_version",
            "started_at_unix_ms",
            "succeeded",
            "totals",
            "zen_version"
        ]
    );
    assert_eq!(report["exit_code"], 1);
    assert_eq!(report["succeeded"], 1);
    assert_eq!(report["failed"], 1);
    assert_eq!(report["cancelled"], false);
    assert!(report["duration_ms"].is_u64() && report["started_at_unix_ms"].is_u64());
    assert_eq!(report["budget"]["mode"], "warn");
    assert_eq!(report["budget"]["overall_tokens"], 1000000);
    assert_eq!(report["totals"]["total_tokens"], 24550);
    let fails = instance(&report, "fails");
    assert_eq!(fails["status"], "failed");
    assert_eq!(fails["exit_code"], 4);
    assert_eq!(fails["cost_source"], "none");
    for item in report["instances"].as_array().unwrap() {
        assert_eq!(
            keys(item),
            [
                "command",
                "cost_source",
                "cost_usd",
                "duration_ms",
                "exit_code",
                "malformed_lines",
                "message",
                "model",
                "name",
                "signal",
                "status",
                "tokens",
                "tool_calls",
                "tools"
            ]
        );
    }
}

#[test]
fn concurrency_cap_is_respected() {
    let dir = TempDir::new("cap");
    let timeline = dir.path("timeline");
    std::fs::create_dir_all(&timeline).unwrap();
    let instances: Vec<Value> = (0..6)
        .map(|i| {
            json!({"name": format!("job{i}"), "program": FAKE_AGENT,
                   "args": ["--sleep-ms", "300", "--timeline-dir", timeline.to_str().unwrap()]})
        })
        .collect();
    let config = dir.config(&json!({"instances": instances}));
    let out = run_config(&config, &["--max-parallel", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let mut events = Vec::new();
    for entry in std::fs::read_dir(&timeline).unwrap() {
        let content = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let mut parts = content.split_whitespace().map(|n| n.parse::<u128>().unwrap());
        let (start, end) = (parts.next().unwrap(), parts.next().unwrap());
        events.push((start, 1i32));
        events.push((end, -1i32));
    }
    assert_eq!(events.len(), 12, "every child recorded its timeline");
    events.sort();
    let mut running = 0;
    let mut most = 0;
    for (_, delta) in events {
        running += delta;
        most = most.max(running);
    }
    assert!(most <= 2, "at most 2 children at once, saw {most}");
    assert_eq!(most, 2, "the cap is used");
}

#[test]
fn timeout_kills_the_whole_process_tree() {
    let dir = TempDir::new("timeout");
    let pid_file = dir.path("pids");
    let config = dir.config(&json!({"instances": [{
        "name": "hung", "program": FAKE_AGENT, "timeout_secs": 1,
        "args": ["--grandchild-secs", "60", "--pid-file", pid_file.to_str().unwrap(), "--sleep-ms", "60000"]
    }]}));
    let report_path = dir.path("report.json");
    let start = Instant::now();
    let out = run_config(&config, &["--report", report_path.to_str().unwrap()]);
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
    assert_eq!(out.status.code(), Some(1));
    let (pid, grandchild) = wait_pids(&pid_file, Duration::from_secs(1)).expect("the agent wrote its pids");
    assert_ne!(grandchild, 0);
    assert!(
        wait_gone(&[pid, grandchild], Duration::from_secs(3)),
        "pid {pid} or grandchild {grandchild} survived"
    );
    let report = read_json(&report_path);
    assert_eq!(instance(&report, "hung")["status"], "timed_out");
    assert!(
        text(&out.stderr).contains("timed out after 1.0s"),
        "{}",
        text(&out.stderr)
    );
}

// Unix only: under Wine zen never saw the Ctrl-Break that
// GenerateConsoleCtrlEvent sends its console process group (the test hung).
#[cfg(unix)]
#[test]
fn ctrl_c_terminates_children_prints_the_table_and_exits_130() {
    let dir = TempDir::new("sigint");
    let pids: Vec<_> = (0..2).map(|i| dir.path(&format!("pids{i}"))).collect();
    let instances: Vec<Value> = pids
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({"name": format!("long{i}"), "program": FAKE_AGENT,
                   "args": ["--grandchild-secs", "60", "--pid-file", p.to_str().unwrap(), "--sleep-ms", "60000"]})
        })
        .chain(std::iter::once(json!({"name": "never", "program": FAKE_AGENT})))
        .collect();
    let config = dir.config(&json!({"instances": instances, "max_parallel": 2}));
    let child = run_command(&config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn zen");
    let started: Vec<(u32, u32)> = pids
        .iter()
        .map(|p| wait_pids(p, Duration::from_secs(5)).expect("instance started"))
        .collect();
    interrupt(&child);
    let start = Instant::now();
    let out = child.wait_with_output().expect("wait zen");
    assert!(start.elapsed() < Duration::from_secs(8), "took {:?}", start.elapsed());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("final status (interrupted)"), "{stdout}");
    assert!(stdout.contains("INSTANCE  STATUS"), "{stdout}");
    assert!(stdout.contains("cancelled"), "{stdout}");
    let all: Vec<u32> = started.iter().flat_map(|(a, b)| [*a, *b]).collect();
    assert!(wait_gone(&all, Duration::from_secs(3)), "children survived: {all:?}");
}

#[test]
fn start_at_is_shown_by_a_dry_run_and_refused_when_malformed() {
    let dir = TempDir::new("start-at");
    let config = dir.config(&json!({"instances": [{"name": "later", "program": FAKE_AGENT}]}));
    let out = run_config(&config, &["--dry-run", "--start-at", "2h"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("would start at ") && stdout.contains("(in 2h 0m)"),
        "{stdout}"
    );
    let bad = run_config(&config, &["--start-at", "teatime"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("--start-at \"teatime\": expected a delay"),
        "{}",
        text(&bad.stderr)
    );
}

// Unix only: under Wine zen never saw the Ctrl-Break that
// GenerateConsoleCtrlEvent sends its console process group (the test hung).
#[cfg(unix)]
#[test]
fn ctrl_c_during_the_start_at_countdown_starts_nothing() {
    use std::io::{BufRead, BufReader};

    let dir = TempDir::new("start-at-cancel");
    let pid_file = dir.path("pids");
    let config = dir.config(&json!({"instances": [
        {"name": "later", "program": FAKE_AGENT, "args": ["--pid-file", pid_file.to_str().unwrap()]}
    ]}));
    let mut child = run_command(&config)
        .args(["--start-at", "1h"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn zen");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let announced = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.starts_with("zen: starting at "))
        .expect("the start time is announced");
    assert!(announced.ends_with("(in 1h 0m)"), "{announced}");
    interrupt(&child);
    let start = Instant::now();
    let out = child.wait_with_output().expect("wait zen");
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
    assert_eq!(out.status.code(), Some(130));
    assert!(
        text(&out.stdout).contains("final status (interrupted)"),
        "{}",
        text(&out.stdout)
    );
    assert!(!pid_file.exists(), "nothing was started");
}

#[test]
fn list_and_inspect_commands_from_a_subdirectory_of_the_workspace() {
    let dir = TempDir::new("commands");
    let commands = dir.0.join(".claude/commands");
    std::fs::create_dir_all(&commands).unwrap();
    std::fs::create_dir_all(dir.0.join("src/deep")).unwrap();
    std::fs::write(
        commands.join("review.md"),
        "---\ndescription: Review the diff\n---\nReview $ARGUMENTS\n",
    )
    .unwrap();
    let listed = zen()
        .arg("--list-commands")
        .current_dir(dir.0.join("src/deep"))
        .output()
        .unwrap();
    assert_eq!(listed.status.code(), Some(0), "{}", text(&listed.stderr));
    let stdout = text(&listed.stdout);
    assert!(stdout.starts_with("Available Slash Commands:\n"), "{stdout}");
    assert!(
        stdout.contains("/review                   - Review the diff\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("/compact                  - Built-in command\n"),
        "{stdout}"
    );

    let inspected = zen()
        .args(["--inspect-command", "review", "--workspace"])
        .arg(&dir.0)
        .output()
        .unwrap();
    assert_eq!(inspected.status.code(), Some(0), "{}", text(&inspected.stderr));
    assert!(text(&inspected.stdout).contains("Configuration:\n  description: Review the diff\n"));
    let missing = zen()
        .args(["--inspect-command", "/nope", "--workspace"])
        .arg(&dir.0)
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(text(&missing.stdout), "Command not found or is a built-in command\n");
}

// `sh` prints the lines.
#[cfg(unix)]
#[test]
fn console_options_limit_cut_and_silence_the_echo() {
    let dir = TempDir::new("console");
    let config = dir.config(&json!({"instances": [{"name": "talker", "program": "sh",
        "args": ["-c", "for i in 1 2 3 4 5; do echo line-$i-xxxxxxxxxxxxxxxx; done"]}]}));
    let limited = run_config(&config, &["--max-console-lines", "2", "--max-line-length", "10"]);
    assert_eq!(limited.status.code(), Some(0), "{}", text(&limited.stderr));
    let echoed: Vec<String> = text(&limited.stdout)
        .lines()
        .filter(|l| l.starts_with("[talker]"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        echoed,
        [
            "[talker] line-1-...",
            "[talker] line-2-...",
            "[talker] ... 3 more line(s) not shown (--max-console-lines)"
        ]
    );

    let silent = run_config(&config, &["--log-level", "silent"]);
    let stdout = text(&silent.stdout);
    assert!(!stdout.contains("[talker]"), "{stdout}");
    assert!(stdout.contains("final status"), "{stdout}");

    let claude = dir.config(&json!({"instances": [claude_instance("agent", "/review", "session.jsonl")]}));
    let detailed = text(&run_config(&claude, &["--log-level", "detailed"]).stdout);
    assert!(detailed.contains("[agent] {\"type\":"), "raw stream-json: {detailed}");
    let concise = text(&run_config(&claude, &[]).stdout);
    assert!(!concise.contains("[agent] {\"type\":"), "readable lines: {concise}");
    assert!(concise.contains("[agent] "), "{concise}");
}

#[test]
fn a_refused_tool_is_a_permission_error_with_a_banner_and_its_own_status() {
    let dir = TempDir::new("permission");
    let config = dir.config(&json!({"instances": [
        claude_instance("refused", "/test", "permission.jsonl"),
        claude_instance("fine", "/review", "session.jsonl"),
    ]}));
    let report_path = dir.path("report.json");
    let out = run_config(&config, &["--report", report_path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("zen: PERMISSION ERROR: refused was refused a tool: Claude requested permissions to use Bash"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("PERMISSION ERROR:").count(), 1, "{stderr}");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("PERMISSION ERRORS: 1 instance(s) were refused tools: refused"),
        "{stdout}"
    );
    let report = read_json(&report_path);
    assert_eq!(instance(&report, "refused")["status"], "permission_denied");
    assert_eq!(instance(&report, "fine")["status"], "succeeded");
}

#[test]
fn budget_warn_lets_everything_run() {
    let dir = TempDir::new("warn");
    let config = dir.config(&json!({"instances": [
        claude_instance("first", "/review", "session.jsonl"),
        claude_instance("second", "/review", "session.jsonl"),
    ], "budget": {"overall_budget": 30000, "enforcement_mode": "warn"}}));
    let report_path = dir.path("report.json");
    let out = run_config(
        &config,
        &["--max-parallel", "1", "--report", report_path.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("zen: budget warning: "),
        "{}",
        text(&out.stderr)
    );
    let report = read_json(&report_path);
    assert_eq!(instance(&report, "second")["status"], "succeeded");
    assert!(!report["budget"]["warnings"].as_array().unwrap().is_empty());
}

#[test]
fn budget_block_refuses_a_launch_over_the_estimate() {
    let dir = TempDir::new("block");
    let config = dir.config(&json!({"instances": [
        claude_instance("first", "/review", "session.jsonl"),
        claude_instance("second", "/review", "session.jsonl"),
    ], "budget": {"overall_budget": 30000}}));
    let report_path = dir.path("report.json");
    let out = run_config(
        &config,
        &[
            "--max-parallel",
            "1",
            "--budget-mode",
            "block",
            "--report",
            report_path.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "a budget stopped something: {}",
        text(&out.stderr)
    );
    let report = read_json(&report_path);
    assert_eq!(report["exit_code"], 3);
    assert_eq!(instance(&report, "first")["status"], "succeeded");
    assert_eq!(instance(&report, "second")["status"], "blocked");
    assert!(
        text(&out.stderr).contains("not starting second"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn token_and_cost_budgets_warn_at_80_percent_then_block_with_exit_code_3() {
    let dir = TempDir::new("budget-warning");
    // One session uses 24 550 tokens and $0.0421: 82 % and 84 % of these budgets.
    let config = dir.config(&json!({"instances": [
        claude_instance("first", "/review", "session.jsonl"),
        claude_instance("second", "/review", "session.jsonl"),
    ]}));
    let report_path = dir.path("report.json");
    let out = run_config(
        &config,
        &[
            "--max-parallel",
            "1",
            "--overall-token-budget",
            "30000",
            "--command-cost-budget",
            "/review=0.05",
            "--budget-mode",
            "block",
            "--report",
            report_path.to_str().unwrap(),
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("zen: budget warning:"))
        .collect();
    assert_eq!(warnings.len(), 2, "one early warning per budget: {stderr}");
    assert!(
        warnings.iter().any(|w| w.contains("overall token budget at 8")),
        "{stderr}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("cost budget of /review at 8")),
        "{stderr}"
    );
    assert!(stderr.contains("not starting second"), "{stderr}");
    let report = read_json(&report_path);
    assert_eq!(instance(&report, "first")["status"], "succeeded");
    assert_eq!(instance(&report, "second")["status"], "blocked");
    let recorded = report["budget"]["warnings"].as_array().map_or(0, Vec::len);
    assert_eq!(recorded, 3, "two early warnings and the block: {report:#}");
}

#[test]
fn budget_warning_at_100_warns_only_when_exceeded() {
    let dir = TempDir::new("budget-no-warning");
    let config = dir.config(&json!({"instances": [claude_instance("only", "/review", "session.jsonl")]}));
    let out = run_config(
        &config,
        &["--overall-token-budget", "30000", "--budget-warning-at", "100"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("budget warning"), "{}", text(&out.stderr));
    let bad = run_config(&config, &["--budget-warning-at", "120"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("--budget-warning-at 120"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn budget_parameter_type_picks_which_budgets_apply_over_the_files_budget_type() {
    let dir = TempDir::new("budget-type");
    // 24 550 tokens against a 1 000-token budget: over, unless only cost budgets apply.
    let config = |name: &str, linger: bool| {
        let mut env = json!({"FAKE_AGENT_FIXTURE": fixture("session.jsonl")});
        if linger {
            // Still running when the budget looks, so it is terminated.
            env["FAKE_AGENT_SLEEP_MS"] = json!("60000");
        }
        let path = dir.path(name);
        let document = json!({
            "instances": [{"name": "only", "command": "/review", "env": env}],
            "budget": {"overall_budget": 1000, "budget_type": "cost", "enforcement_mode": "block"}
        });
        std::fs::write(&path, document.to_string()).expect("write the config");
        path
    };
    let file_says_cost = run_config(&config("quick.json", false), &[]);
    assert_eq!(
        file_says_cost.status.code(),
        Some(0),
        "{}",
        text(&file_says_cost.stderr)
    );
    let lingering = config("lingering.json", true);
    for kind in ["tokens", "mixed"] {
        let start = Instant::now();
        let out = run_config(&lingering, &["--budget-parameter-type", kind]);
        assert_eq!(out.status.code(), Some(3), "{kind}: {}", text(&out.stderr));
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{kind}: terminated, not waited for"
        );
    }
}

#[test]
fn budget_block_terminates_an_overrunning_instance() {
    let dir = TempDir::new("overrun");
    let config = dir.config(&json!({"instances": [{
        "name": "greedy", "command": "/review",
        "env": {"FAKE_AGENT_FIXTURE": fixture("session.jsonl"), "FAKE_AGENT_SLEEP_MS": "60000"}
    }]}));
    let report_path = dir.path("report.json");
    let start = Instant::now();
    let out = run_config(
        &config,
        &[
            "--command-budget",
            "/review=10000",
            "--budget-mode",
            "block",
            "--report",
            report_path.to_str().unwrap(),
        ],
    );
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
    assert_eq!(out.status.code(), Some(3), "a budget terminated greedy");
    let report = read_json(&report_path);
    let greedy = instance(&report, "greedy");
    assert_eq!(greedy["status"], "over_budget", "{report:#}");
    assert!(
        greedy["message"].as_str().unwrap().contains("token budget of /review"),
        "{greedy}"
    );
}

// inotify sees that nothing is run.
#[cfg(target_os = "linux")]
#[test]
fn dry_run_prints_the_plan_and_spawns_nothing() {
    let dir = TempDir::new("dry");
    let pid_file = dir.path("pids");
    // A copy of its own, in a directory watched for opens: executing the
    // program opens it before zen's spawn returns, so the event is queued
    // by the time zen has exited.
    let program_dir = dir.path("bin");
    std::fs::create_dir_all(&program_dir).expect("mkdir");
    let program = program_dir.join("agent");
    std::fs::copy(FAKE_AGENT, &program).expect("copy the fake agent");
    let watch = zen_tests::watch::OpenWatch::new(&[&program_dir]).expect("inotify");
    let config = dir.config(&json!({"instances": [
        {"name": "would-run", "program": program, "args": ["--pid-file", pid_file.to_str().unwrap()],
         "env": {"SECRET_TOKEN": "do-not-print"}},
        {"name": "reviewer", "command": "/review src", "allowed_tools": ["Read", "Grep"], "session_id": "s-1"},
    ], "budget": {"overall_cost_budget": 2.5}}));
    let out = run_config(&config, &["--dry-run"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("dry run: 2 instance(s)"), "{stdout}");
    assert!(stdout.contains("1. would-run (program)"), "{stdout}");
    assert!(stdout.contains("2. reviewer (claude)"), "{stdout}");
    assert!(
        stdout.contains(
            "-p '/review src' --output-format stream-json --verbose --permission-mode bypassPermissions --allowedTools Read,Grep --session-id s-1"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("env SECRET_TOKEN") && !stdout.contains("do-not-print"),
        "{stdout}"
    );
    assert!(stdout.contains("overall $2.50"), "{stdout}");
    assert!(stdout.contains("nothing was started"), "{stdout}");
    assert_eq!(
        watch.opened(),
        Vec::<std::path::PathBuf>::new(),
        "dry run started a process"
    );
    assert!(!pid_file.exists(), "dry run started a process");
}

#[test]
fn missing_claude_is_a_clear_error() {
    let dir = TempDir::new("noclaude");
    let config = dir.config(&json!({"instances": [{"command": "/review"}]}));
    let out = zen()
        .env_remove("ZEN_CLAUDE_BIN")
        .env("PATH", dir.0.to_str().unwrap())
        .args(["run", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("`claude`) was not found") && stderr.contains("ZEN_CLAUDE_BIN"),
        "{stderr}"
    );
}

#[test]
fn direct_prompt_runs_one_claude_instance() {
    let out = zen()
        .env("FAKE_AGENT_FIXTURE", fixture("session.jsonl"))
        .args(["/review src", "--status-interval", "0"])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("review    succeeded"), "{stdout}");
}

/// The Windows demo's `cmd.exe` programs, as a Windows user runs it.
#[cfg(windows)]
#[test]
fn the_windows_demo_runs_every_instance_and_ends_the_hung_one_with_its_tree() {
    let demo = example("demo-windows.json");
    let dir = TempDir::new("windows-demo");
    let report_path = dir.path("report.json");
    let start = Instant::now();
    let out = run_command(&demo)
        .current_dir(&dir.0)
        .args(["--report", report_path.to_str().unwrap()])
        .output()
        .expect("run zen");
    // The hung job is ended at 2 s (that its background ping goes too is
    // `timeout_kills_the_whole_process_tree`).
    assert!(start.elapsed() < Duration::from_secs(20), "took {:?}", start.elapsed());
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    let report = read_json(&report_path);
    for name in ["build", "lint", "docs"] {
        assert_eq!(instance(&report, name)["status"], "succeeded", "{name}: {report:#}");
    }
    assert_eq!(instance(&report, "flaky-test")["status"], "failed");
    assert_eq!(instance(&report, "flaky-test")["exit_code"], 3);
    assert_eq!(instance(&report, "hung-job")["status"], "timed_out");
    let stdout = text(&out.stdout);
    assert!(stdout.contains("[build] compile..."), "{stdout}");
    assert!(stdout.contains("[build] done"), "{stdout}");
    assert!(
        text(&out.stderr).contains("[flaky-test] test parser::nested ... FAILED"),
        "{}",
        text(&out.stderr)
    );
}
