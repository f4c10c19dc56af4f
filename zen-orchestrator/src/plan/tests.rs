//! Building plans in process: names, kinds, commands, timeouts, concurrency,
//! budgets and the usage errors, from run options and small configuration files.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::*;
use crate::config::BudgetConfig;

/// A configuration file with `text`, removed on drop.
struct ConfigFile(PathBuf);

impl ConfigFile {
    fn new(text: &str) -> ConfigFile {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("zen-plan-test-{}-{n}.json", std::process::id()));
        std::fs::write(&path, text).expect("write the configuration");
        ConfigFile(path)
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn options() -> RunOptions {
    RunOptions {
        workspace: Some(std::env::temp_dir()),
        ..RunOptions::default()
    }
}

/// Options for one prompt; a dry run, so a missing `claude` is no error.
fn prompt_options(prompt: &str) -> RunOptions {
    RunOptions {
        prompt: Some(prompt.to_owned()),
        dry_run: true,
        ..options()
    }
}

fn usage_error(options: &RunOptions) -> String {
    match build(options) {
        Err(ZenError::Usage(message)) => message,
        other => panic!("expected a usage error, got {other:?}"),
    }
}

const PROGRAMS: &str = r#"{
    "max_parallel": 3,
    "instances": [
        {"name": "instance-2", "program": "sh", "args": ["-c", "exit 0"], "timeout_secs": 1.5,
         "env": {"B": "2", "A": "1"}, "output_format": "stream-json", "max_tokens_per_command": 10},
        {"program": "echo", "args": ["hi"], "command": "/deploy prod", "output_format": "json"}
    ]
}"#;

#[test]
fn a_prompt_becomes_one_claude_instance_named_after_its_command() {
    let plan = build(&prompt_options("/review src --strict")).unwrap();
    assert_eq!(plan.instances.len(), 1);
    let spec = &plan.instances[0];
    assert_eq!(spec.name, "review");
    assert_eq!(spec.kind, Kind::Claude);
    assert_eq!(spec.command_name.as_deref(), Some("/review"));
    assert_eq!(
        spec.args,
        [
            "-p",
            "/review src --strict",
            "--output-format",
            "stream-json",
            "--verbose",
            "--permission-mode",
            "bypassPermissions"
        ]
    );
    assert!(spec.stream_json);
    assert_eq!(plan.max_parallel, DEFAULT_MAX_PARALLEL);
    assert_eq!(plan.startup_delay, Duration::from_millis(250));
    assert_eq!(plan.budget, budget::Settings::default());
}

#[test]
fn direct_mode_flags_shape_the_one_instance() {
    let options = RunOptions {
        direct: crate::options::DirectInstance {
            name: Some("nightly-review".to_owned()),
            description: Some("reviews main every night".to_owned()),
            session_id: Some("0b6c2f1e".to_owned()),
            clear_history: true,
            compact_history: true,
        },
        ..prompt_options("/review src")
    };
    let plan = build(&options).unwrap();
    let spec = &plan.instances[0];
    assert_eq!(spec.name, "nightly-review");
    assert_eq!(spec.description.as_deref(), Some("reviews main every night"));
    assert_eq!(spec.args[..2], ["-p", "/clear\n/compact\n/review src"]);
    let session = spec
        .args
        .iter()
        .position(|a| a == "--session-id")
        .expect("--session-id");
    assert_eq!(spec.args[session + 1], "0b6c2f1e");
    assert_eq!(
        spec.command_name.as_deref(),
        Some("/review"),
        "budgets still see the command"
    );
}

#[test]
fn direct_names_come_from_the_slash_command_else_prompt() {
    let name = |prompt: &str| build(&prompt_options(prompt)).unwrap().instances[0].name.clone();
    assert_eq!(name("/ns:sub/cmd arg"), "ns-sub-cmd");
    assert_eq!(name("explain the build"), "prompt");
    let plan = build(&prompt_options("explain the build")).unwrap();
    assert_eq!(plan.instances[0].command_name, None);
}

#[test]
fn program_instances_from_a_file_keep_unique_names_and_their_settings() {
    let file = ConfigFile::new(PROGRAMS);
    let plan = build(&RunOptions {
        config: Some(file.0.clone()),
        timeout: Some(10.0),
        ..options()
    })
    .unwrap();
    let names: Vec<&str> = plan.instances.iter().map(|s| s.name.as_str()).collect();
    // The unnamed second instance would be instance-2 too.
    assert_eq!(names, ["instance-2", "instance-2-2"]);
    assert_eq!(plan.max_parallel, 3, "the file's max_parallel");
    assert!(!plan.claude_missing);

    let first = &plan.instances[0];
    assert_eq!((first.kind, first.program.as_path()), (Kind::Program, Path::new("sh")));
    assert_eq!(first.args, ["-c", "exit 0"]);
    assert_eq!(
        first.timeout,
        Some(Duration::from_secs_f64(1.5)),
        "timeout_secs beats --timeout"
    );
    assert_eq!(
        first.env,
        [("A".to_owned(), "1".to_owned()), ("B".to_owned(), "2".to_owned())]
    );
    assert!(first.stream_json);
    assert_eq!(first.token_limit, Some(10));

    let second = &plan.instances[1];
    assert_eq!(
        second.timeout,
        Some(Duration::from_secs(10)),
        "--timeout as the default"
    );
    assert_eq!(second.command_name.as_deref(), Some("/deploy"));
    assert!(!second.stream_json, "only stream-json is accounted for a program");
}

#[test]
fn the_command_line_beats_the_file() {
    let file = ConfigFile::new(PROGRAMS);
    let plan = build(&RunOptions {
        config: Some(file.0.clone()),
        max_parallel: Some(1),
        startup_delay: 0.0,
        ..options()
    })
    .unwrap();
    assert_eq!(plan.max_parallel, 1);
    assert_eq!(plan.startup_delay, Duration::ZERO);
}

#[test]
fn the_claude_preset_composes_the_prompt_and_its_flags() {
    let instance = InstanceConfig {
        command: Some("/review x".to_owned()),
        clear_history: true,
        pre_commands: vec!["/init".to_owned()],
        allowed_tools: Some(vec!["Read".to_owned(), "Grep".to_owned()]),
        session_id: Some("session-1".to_owned()),
        output_format: Some("json".to_owned()),
        ..InstanceConfig::default()
    };
    let spec = prepare_instance(
        &instance,
        0,
        Some(Path::new("/opt/bin/claude")),
        Some(Duration::from_secs(5)),
    );
    assert_eq!(spec.name, "instance-1");
    assert_eq!(
        (spec.kind, spec.program.as_path()),
        (Kind::Claude, Path::new("/opt/bin/claude"))
    );
    assert_eq!(
        spec.args,
        [
            "-p",
            "/clear\n/init\n/review x",
            "--output-format",
            "json",
            "--verbose",
            "--permission-mode",
            "bypassPermissions",
            "--allowedTools",
            "Read,Grep",
            "--session-id",
            "session-1"
        ]
    );
    assert!(spec.stream_json, "claude's json output is accounted too");
    assert_eq!(spec.timeout, Some(Duration::from_secs(5)));
    assert_eq!(
        spec.session_hash.as_deref(),
        Some(privacy::short_hash("session-1").as_str())
    );
    assert_eq!(spec.command_name.as_deref(), Some("/review"));
}

#[test]
fn budget_flags_override_the_file_and_add_command_budgets() {
    let file = BudgetConfig {
        overall_budget: Some(100),
        overall_cost_budget: Some(1.0),
        enforcement_mode: Some("block".to_owned()),
        command_budgets: BTreeMap::from([("/a".to_owned(), 5)]),
        ..BudgetConfig::default()
    };
    let from_file = budget_settings(&options(), &file).unwrap();
    assert_eq!(from_file.mode, Mode::Block);
    assert_eq!(
        (from_file.overall_tokens, from_file.overall_cost),
        (Some(100), Some(1.0))
    );

    let flags = RunOptions {
        budget_mode: Some(Mode::Warn),
        overall_token_budget: Some(7),
        command_budget: vec!["/a=6".to_owned(), " /b = 9".to_owned()],
        ..options()
    };
    let settings = budget_settings(&flags, &file).unwrap();
    assert_eq!(settings.mode, Mode::Warn);
    assert_eq!(settings.overall_tokens, Some(7));
    assert_eq!(settings.overall_cost, Some(1.0), "the file's, as no flag sets it");
    assert_eq!(
        settings.command_tokens,
        BTreeMap::from([("/a".to_owned(), 6), ("/b".to_owned(), 9)])
    );
    let unknown_mode = BudgetConfig {
        enforcement_mode: None,
        ..file
    };
    assert_eq!(budget_settings(&options(), &unknown_mode).unwrap().mode, Mode::Warn);
}

#[test]
fn usage_errors_say_what_is_wrong() {
    assert_eq!(
        usage_error(&options()),
        "nothing to run: give --config FILE or a prompt/slash command (see zen run --help)"
    );
    let both = RunOptions {
        config: Some(PathBuf::from("zen.json")),
        ..prompt_options("/x")
    };
    assert_eq!(usage_error(&both), "give either --config FILE or a prompt, not both");
    let nowhere = RunOptions {
        workspace: Some(PathBuf::from("/nonexistent/zen-plan-test")),
        ..prompt_options("/x")
    };
    assert_eq!(
        usage_error(&nowhere),
        "--workspace /nonexistent/zen-plan-test: not a directory"
    );
    for timeout in [0.0, -1.0, f64::NAN] {
        let options = RunOptions {
            timeout: Some(timeout),
            ..prompt_options("/x")
        };
        assert_eq!(usage_error(&options), "--timeout must be a positive number of seconds");
    }
    let serial = RunOptions {
        max_parallel: Some(0),
        ..prompt_options("/x")
    };
    assert_eq!(usage_error(&serial), "--max-parallel must be at least 1");
    let backwards = RunOptions {
        startup_delay: -0.5,
        ..prompt_options("/x")
    };
    assert_eq!(
        usage_error(&backwards),
        "--startup-delay must be a number of seconds, 0 or more"
    );
    let bad_budget = |entry: &str| {
        usage_error(&RunOptions {
            command_budget: vec![entry.to_owned()],
            ..prompt_options("/x")
        })
    };
    assert_eq!(bad_budget("/x"), "--command-budget \"/x\": expected /command=TOKENS");
    assert_eq!(
        bad_budget("/x=many"),
        "--command-budget \"/x=many\": \"many\" is not a whole number of tokens"
    );
    let negative_cost = RunOptions {
        overall_cost_budget: Some(-1.0),
        ..prompt_options("/x")
    };
    assert_eq!(
        usage_error(&negative_cost),
        "--overall-cost-budget must be a number of USD, 0 or more"
    );
}

#[test]
fn a_configuration_error_is_not_a_usage_error() {
    let file = ConfigFile::new(r#"{"instances": [{"program": "sh", "nmae": "x"}]}"#);
    let options = RunOptions {
        config: Some(file.0.clone()),
        ..options()
    };
    match build(&options) {
        Err(ZenError::Config(error)) => assert_eq!(error.kind, config::ErrorKind::UnknownKey),
        other => panic!("expected a configuration error, got {other:?}"),
    }
}
