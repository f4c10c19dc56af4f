//! The `zen` command line (clap), and its translation into plain [`Action`]
//! and [`RunOptions`] values: nothing past this module depends on clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::budget;
use crate::monitoring::objectives::Objectives;
use crate::monitoring::promql::Dialect;
use crate::monitoring::{self, ApplyTarget, MonitoringOptions};
use crate::options::{
    Action, DEFAULT_MAX_LINE_LENGTH, DEFAULT_STARTUP_DELAY_SECS, DEFAULT_STATUS_INTERVAL_SECS, DirectInstance, Echo,
    LogLevel, RunOptions,
};

const EXAMPLES: &str = "\
Examples:
  zen run --config zen-orchestrator/examples/demo.json --trace-file trace.jsonl
  zen traces trace.jsonl
  zen telemetry monitoring --service zen --apply --project my-project --dry-run
  zen \"/review src/\" --workspace ~/project --timeout 600
  zen run --config claude.json --max-parallel 3 --overall-cost-budget 5 --budget-mode block --report report.json
  zen run --config claude.json --dry-run

Exit codes: 0 every instance succeeded, 1 one or more did not, 2 usage or configuration error,
3 a budget refused or terminated an instance (--budget-mode block), 130 interrupted (Ctrl-C / SIGTERM).

Python Zen's flags keep their names and meanings; where zen differs on purpose (a concurrency cap,
every set budget enforced, exit code 3, permission_denied, workspace detection from the current
directory up), README's section on zen says so.";

/// Run many agent-CLI instances in parallel, with budgets, live status and a final report.
#[derive(Debug, Parser)]
#[command(name = "zen", version, args_conflicts_with_subcommands = true, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

impl Cli {
    /// What was asked for; no subcommand means `run`.
    pub fn into_action(self) -> Action {
        match self.command {
            None => self.run.into_action(),
            Some(Command::Run(args)) => args.into_action(),
            Some(Command::Traces { file, html }) => Action::Traces { file, html },
            Some(Command::Telemetry {
                command: TelemetryCommand::Status { json, check },
            }) => Action::TelemetryStatus { json, check },
            Some(Command::Telemetry {
                command: TelemetryCommand::Monitoring(args),
            }) => Action::TelemetryMonitoring(Box::new((*args).into())),
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the instances of a configuration file, or one prompt (the default command).
    #[command(after_help = EXAMPLES)]
    Run(Box<RunArgs>),
    /// Draw a JSONL trace file (zen-telemetry's `file` exporter) as a waterfall per trace.
    Traces {
        /// The JSONL file, e.g. written by `zen run --trace-file FILE`.
        file: PathBuf,
        /// Write the waterfalls as one self-contained HTML page (opens offline) instead.
        #[arg(long, value_name = "OUT.html")]
        html: Option<PathBuf>,
    },
    /// Inspect zen's own telemetry.
    Telemetry {
        #[command(subcommand)]
        command: TelemetryCommand,
    },
}

#[derive(Debug, Subcommand)]
enum TelemetryCommand {
    /// Show whether telemetry is on, why not, and where spans go.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Send one span and one metric point to each configured destination and say
        /// what became of them; exit 1 when any was not delivered.
        #[arg(long)]
        check: bool,
    },
    /// Write a Cloud Monitoring dashboard, alert policies and Prometheus rules for a
    /// service that uses zen-telemetry; with --apply, create or update them in a project.
    #[command(after_help = MONITORING_EXAMPLES)]
    Monitoring(Box<MonitoringArgs>),
}

const MONITORING_EXAMPLES: &str = "\
Examples:
  zen telemetry monitoring --service checkout --out monitoring/
  zen telemetry monitoring --service checkout --apply --project my-project --dry-run
  zen telemetry monitoring --service zen --success-objective 99.9 --apply --project my-project \\
      --notification-channel 1234567890

Files: dashboard.json, alert-*.json (one policy each), prometheus-rules.yaml.
Objects it creates carry the user labels managed_by=zen-telemetry and zen_telemetry_service;
--apply finds them by those, updates them in place, and never touches or deletes anything else.";

/// Options of `zen telemetry monitoring`.
#[derive(Debug, Clone, Args)]
struct MonitoringArgs {
    /// The service's name: its service.name (OTEL_SERVICE_NAME), the `job` label of its metrics.
    #[arg(long, value_name = "NAME")]
    service: String,
    /// Directory of the generated files.
    #[arg(long, value_name = "DIR", default_value = "monitoring")]
    out: PathBuf,
    /// Percent of calls that must succeed (not end in an error or a panic).
    #[arg(long, value_name = "PERCENT", default_value_t = Objectives::default().success_percent)]
    success_objective: f64,
    /// Latency objective in milliseconds, for --latency-percentile.
    #[arg(long, value_name = "MS", default_value_t = Objectives::default().latency_ms)]
    latency_objective_ms: f64,
    /// Which percentile --latency-objective-ms bounds.
    #[arg(long, value_name = "PERCENTILE", default_value_t = Objectives::default().latency_percentile)]
    latency_percentile: f64,
    /// Functions with fewer calls an hour never fire an alert.
    #[arg(long, value_name = "N", default_value_t = Objectives::default().min_calls_per_hour)]
    min_calls_per_hour: f64,
    /// How the backend names the metrics: `otlp` as zen-telemetry sends them (Cloud Monitoring
    /// through the Telemetry API), or `prometheus` (function_calls_total: Prometheus' OTLP
    /// receiver, or a collector's googlemanagedprometheus exporter).
    #[arg(long, value_enum, value_name = "NAMES", default_value = "otlp")]
    metric_names: MetricNames,
    /// Notify this channel (an id, or projects/P/notificationChannels/ID); repeatable.
    #[arg(long, value_name = "ID")]
    notification_channel: Vec<String>,
    /// Create or update the dashboard and the policies in --project, through the Monitoring API.
    #[arg(long, requires = "project")]
    apply: bool,
    /// The Google Cloud project of --apply.
    #[arg(long, value_name = "PROJECT")]
    project: Option<String>,
    /// With --apply: show what would be created, updated or left, and change nothing.
    #[arg(long, requires = "apply")]
    dry_run: bool,
    /// The Monitoring API's address (http:// only to a loopback address).
    #[arg(long, value_name = "URL", default_value = monitoring::DEFAULT_ENDPOINT)]
    endpoint: String,
}

/// `--metric-names`' values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MetricNames {
    /// As sent: `{"function.calls"}`.
    Otlp,
    /// Translated: `function_calls_total`.
    Prometheus,
}

impl From<MonitoringArgs> for MonitoringOptions {
    fn from(args: MonitoringArgs) -> MonitoringOptions {
        MonitoringOptions {
            service: args.service,
            out: args.out,
            objectives: Objectives {
                success_percent: args.success_objective,
                latency_ms: args.latency_objective_ms,
                latency_percentile: args.latency_percentile,
                min_calls_per_hour: args.min_calls_per_hour,
            },
            dialect: match args.metric_names {
                MetricNames::Otlp => Dialect::Otlp,
                MetricNames::Prometheus => Dialect::Prometheus,
            },
            notification_channels: args.notification_channel,
            apply: match (args.apply, args.project) {
                (true, Some(project)) => Some(ApplyTarget {
                    project,
                    dry_run: args.dry_run,
                    endpoint: args.endpoint,
                }),
                _ => None,
            },
        }
    }
}

/// Options of `zen run`.
#[derive(Debug, Clone, Args)]
struct RunArgs {
    /// A prompt or slash command to run as a single Claude Code instance (instead of --config).
    #[arg(value_name = "PROMPT")]
    prompt: Option<String>,
    /// JSON configuration file (Python-Zen compatible; keys starting with `//` are comments).
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Working directory of every instance (default: the nearest directory, from the current one
    /// up, holding .git, .claude, package.json, setup.py, pyproject.toml or Cargo.toml; else the
    /// current directory).
    #[arg(short, long, value_name = "DIR")]
    workspace: Option<PathBuf>,
    /// Most instances running at once (default: the file's max_parallel, else 4).
    #[arg(short = 'j', long, value_name = "N")]
    max_parallel: Option<usize>,
    /// Kill an instance's whole process tree after SECS (an instance's timeout_secs wins).
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// Seconds between two launches.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_STARTUP_DELAY_SECS)]
    startup_delay: f64,
    /// Seconds between two status tables when stdout or stderr is not a terminal (0: none). On a terminal
    /// one table is redrawn in place 4 times a second instead (not with NO_COLOR or TERM=dumb).
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_STATUS_INTERVAL_SECS,
          visible_alias = "status-report-interval")]
    status_interval: f64,
    /// Do not echo the instances' output.
    #[arg(short, long)]
    quiet: bool,
    /// silent: only warnings, errors and the final table (no live table); concise: stream-json as
    /// short readable lines (the default); detailed: every line as the instance wrote it.
    #[arg(long, value_enum, value_name = "LEVEL")]
    log_level: Option<LogLevelArg>,
    /// The same as --log-level detailed (Python Zen's).
    #[arg(long, conflicts_with = "log_level")]
    verbose: bool,
    /// Echo at most N lines of each instance's output (0: none); the rest are counted.
    #[arg(long, value_name = "N")]
    max_console_lines: Option<usize>,
    /// Cut echoed lines longer than N characters.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_LINE_LENGTH as u64,
          value_parser = clap::value_parser!(u64).range(4..))]
    max_line_length: u64,
    /// Print the plan and start nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write the final table as JSON (schema: docs/orchestrator-report.md).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Overall token budget (input + output + cache read + cache write).
    #[arg(long, value_name = "TOKENS")]
    overall_token_budget: Option<u64>,
    /// Overall budget in USD.
    #[arg(long, value_name = "USD")]
    overall_cost_budget: Option<f64>,
    /// Token budget of one slash command, as /command=TOKENS (repeatable).
    #[arg(long, value_name = "/CMD=TOKENS")]
    command_budget: Vec<String>,
    /// USD budget of one slash command, as /command=USD (repeatable).
    #[arg(long, value_name = "/CMD=USD")]
    command_cost_budget: Vec<String>,
    /// Warn once when a budget reaches PERCENT of its limit, in either mode (100: never).
    #[arg(long, value_name = "PERCENT")]
    budget_warning_at: Option<f64>,
    /// What an exceeded budget does: warn, or block (refuse launches, terminate overrunning instances).
    #[arg(long, value_enum, value_name = "MODE", visible_alias = "budget-enforcement-mode")]
    budget_mode: Option<BudgetMode>,
    /// Which budgets are enforced: tokens, cost, or mixed (both). Default: the file's budget_type,
    /// else every budget that is set (Python Zen defaults to tokens).
    #[arg(long, value_enum, value_name = "TYPE")]
    budget_parameter_type: Option<BudgetType>,
    /// Direct mode: the instance's name (default: the slash command's name, else `prompt`).
    #[arg(long, value_name = "NAME", requires = "prompt")]
    instance_name: Option<String>,
    /// Direct mode: a description of the instance, shown by --dry-run.
    #[arg(long, value_name = "TEXT", requires = "prompt")]
    instance_description: Option<String>,
    /// Direct mode: Claude Code's --session-id.
    #[arg(long, value_name = "ID", requires = "prompt")]
    session_id: Option<String>,
    /// Direct mode: send /clear before the prompt.
    #[arg(long, requires = "prompt")]
    clear_history: bool,
    /// Direct mode: send /compact before the prompt.
    #[arg(long, requires = "prompt")]
    compact_history: bool,
    /// Start later: after a delay (2h, 30m, 45s) or at a local time of day (14:30, 1am,
    /// 10:30pm; tomorrow when it has passed today), with a countdown.
    #[arg(long, value_name = "WHEN")]
    start_at: Option<String>,
    /// Record this run's trace to FILE as JSON lines (every span; draw it with `zen traces FILE`).
    #[arg(long, value_name = "FILE", conflicts_with = "no_telemetry")]
    trace_file: Option<PathBuf>,
    /// Record no telemetry at all for this run.
    #[arg(long)]
    no_telemetry: bool,
    /// List the workspace's slash commands (.claude/commands/*.md) with their descriptions.
    #[arg(long, conflicts_with_all = ["prompt", "config", "inspect_command"])]
    list_commands: bool,
    /// Show a slash command's file, frontmatter and the start of its text.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["prompt", "config"])]
    inspect_command: Option<String>,
}

/// `--budget-mode`'s values: [`budget::Mode`] as clap shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BudgetMode {
    /// Print a warning and go on.
    Warn,
    /// Refuse launches and terminate instances that overrun.
    Block,
}

/// `--log-level`'s values: [`LogLevel`] as clap shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogLevelArg {
    /// Warnings, errors and the final table only.
    Silent,
    /// Readable short lines.
    Concise,
    /// Every line as written.
    Detailed,
}

/// `--budget-parameter-type`'s values: [`budget::Kinds`] as clap shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BudgetType {
    /// Token budgets only.
    Tokens,
    /// USD budgets only.
    Cost,
    /// Token and USD budgets.
    Mixed,
}

impl From<BudgetType> for budget::Kinds {
    fn from(kind: BudgetType) -> budget::Kinds {
        match kind {
            BudgetType::Tokens => budget::Kinds::Tokens,
            BudgetType::Cost => budget::Kinds::Cost,
            BudgetType::Mixed => budget::Kinds::Mixed,
        }
    }
}

impl From<BudgetMode> for budget::Mode {
    fn from(mode: BudgetMode) -> budget::Mode {
        match mode {
            BudgetMode::Warn => budget::Mode::Warn,
            BudgetMode::Block => budget::Mode::Block,
        }
    }
}

impl RunArgs {
    /// A run, or one of the command listings that share its flags.
    fn into_action(self) -> Action {
        if self.list_commands {
            Action::ListCommands {
                workspace: self.workspace,
            }
        } else if let Some(name) = self.inspect_command {
            Action::InspectCommand {
                workspace: self.workspace,
                name,
            }
        } else {
            Action::Run(Box::new(self.into()))
        }
    }
}

impl From<RunArgs> for RunOptions {
    fn from(args: RunArgs) -> RunOptions {
        RunOptions {
            prompt: args.prompt,
            config: args.config,
            workspace: args.workspace,
            max_parallel: args.max_parallel,
            timeout: args.timeout,
            startup_delay: args.startup_delay,
            status_interval: args.status_interval,
            echo: Echo {
                level: match args.log_level {
                    Some(LogLevelArg::Silent) => LogLevel::Silent,
                    Some(LogLevelArg::Detailed) => LogLevel::Detailed,
                    None if args.verbose => LogLevel::Detailed,
                    Some(LogLevelArg::Concise) | None => LogLevel::Concise,
                },
                // --quiet: nothing of the instances, whatever --max-console-lines says.
                max_lines: if args.quiet { Some(0) } else { args.max_console_lines },
                max_line_length: usize::try_from(args.max_line_length).unwrap_or(usize::MAX),
            },
            dry_run: args.dry_run,
            report: args.report,
            overall_token_budget: args.overall_token_budget,
            overall_cost_budget: args.overall_cost_budget,
            command_budget: args.command_budget,
            command_cost_budget: args.command_cost_budget,
            budget_warning_at: args.budget_warning_at,
            budget_parameter_type: args.budget_parameter_type.map(budget::Kinds::from),
            budget_mode: args.budget_mode.map(budget::Mode::from),
            direct: DirectInstance {
                name: args.instance_name,
                description: args.instance_description,
                session_id: args.session_id,
                clear_history: args.clear_history,
                compact_history: args.compact_history,
            },
            start_at: args.start_at,
            trace_file: args.trace_file,
            no_telemetry: args.no_telemetry,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn action(args: &[&str]) -> Action {
        Cli::try_parse_from(std::iter::once("zen").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
            .into_action()
    }

    fn run_options(args: &[&str]) -> RunOptions {
        match action(args) {
            Action::Run(options) => *options,
            other => panic!("{args:?}: expected a run, got {other:?}"),
        }
    }

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_bare_prompt_is_a_run_with_the_defaults() {
        assert_eq!(
            run_options(&["/review src"]),
            RunOptions {
                prompt: Some("/review src".to_owned()),
                ..RunOptions::default()
            }
        );
        assert_eq!(run_options(&["run"]), RunOptions::default());
    }

    #[test]
    fn every_run_flag_reaches_the_options() {
        let options = run_options(&[
            "run",
            "--config",
            "zen.json",
            "-w",
            "/srv",
            "-j",
            "3",
            "--timeout",
            "60",
            "--startup-delay",
            "0",
            "--status-interval",
            "1.5",
            "-q",
            "--dry-run",
            "--report",
            "report.json",
            "--overall-token-budget",
            "1000",
            "--overall-cost-budget",
            "2.5",
            "--command-budget",
            "/a=1",
            "--command-budget",
            "/b=2",
            "--command-cost-budget",
            "/a=0.5",
            "--budget-warning-at",
            "90",
            "--budget-parameter-type",
            "cost",
            "--budget-mode",
            "block",
            "--trace-file",
            "trace.jsonl",
        ]);
        assert_eq!(
            options,
            RunOptions {
                prompt: None,
                config: Some(PathBuf::from("zen.json")),
                workspace: Some(PathBuf::from("/srv")),
                max_parallel: Some(3),
                timeout: Some(60.0),
                startup_delay: 0.0,
                status_interval: 1.5,
                echo: Echo {
                    max_lines: Some(0),
                    ..Echo::default()
                },
                dry_run: true,
                report: Some(PathBuf::from("report.json")),
                overall_token_budget: Some(1000),
                overall_cost_budget: Some(2.5),
                command_budget: vec!["/a=1".to_owned(), "/b=2".to_owned()],
                command_cost_budget: vec!["/a=0.5".to_owned()],
                budget_warning_at: Some(90.0),
                budget_parameter_type: Some(budget::Kinds::Cost),
                budget_mode: Some(budget::Mode::Block),
                direct: DirectInstance::default(),
                start_at: None,
                trace_file: Some(PathBuf::from("trace.jsonl")),
                no_telemetry: false,
            }
        );
        assert_eq!(
            run_options(&["--budget-mode", "warn", "x"]).budget_mode,
            Some(budget::Mode::Warn)
        );
        assert!(run_options(&["--no-telemetry", "x"]).no_telemetry);
    }

    #[test]
    fn the_other_commands() {
        assert_eq!(
            action(&["traces", "t.jsonl"]),
            Action::Traces {
                file: PathBuf::from("t.jsonl"),
                html: None
            }
        );
        assert_eq!(
            action(&["traces", "t.jsonl", "--html", "t.html"]),
            Action::Traces {
                file: PathBuf::from("t.jsonl"),
                html: Some(PathBuf::from("t.html"))
            }
        );
        assert_eq!(
            action(&["telemetry", "status"]),
            Action::TelemetryStatus {
                json: false,
                check: false
            }
        );
        assert_eq!(
            action(&["telemetry", "status", "--json"]),
            Action::TelemetryStatus {
                json: true,
                check: false
            }
        );
    }

    #[test]
    fn python_zens_flag_names_are_aliases() {
        let options = run_options(&[
            "--budget-enforcement-mode",
            "block",
            "--status-report-interval",
            "2",
            "--verbose",
            "x",
        ]);
        assert_eq!(options.budget_mode, Some(budget::Mode::Block));
        assert_eq!(options.status_interval, 2.0);
        assert_eq!(options.echo.level, LogLevel::Detailed);
    }

    #[test]
    fn direct_mode_flags_need_a_prompt() {
        let options = run_options(&[
            "--instance-name",
            "n",
            "--session-id",
            "s",
            "--clear-history",
            "/review",
        ]);
        assert_eq!(options.direct.name.as_deref(), Some("n"));
        assert_eq!(options.direct.session_id.as_deref(), Some("s"));
        assert!(options.direct.clear_history && !options.direct.compact_history);
        let error = Cli::try_parse_from(["zen", "--session-id", "s", "--config", "c.json"]).unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }

    #[test]
    fn command_listings_are_their_own_actions() {
        assert_eq!(action(&["--list-commands"]), Action::ListCommands { workspace: None });
        assert_eq!(
            action(&["run", "--inspect-command", "/review", "--workspace", "/srv"]),
            Action::InspectCommand {
                workspace: Some(PathBuf::from("/srv")),
                name: "/review".to_owned()
            }
        );
        let error = Cli::try_parse_from(["zen", "--list-commands", "/review"]).unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn monitoring_flags_become_options() {
        let Action::TelemetryMonitoring(options) = action(&[
            "telemetry",
            "monitoring",
            "--service",
            "svc",
            "--success-objective",
            "99.9",
            "--metric-names",
            "prometheus",
            "--notification-channel",
            "1",
            "--notification-channel",
            "2",
            "--apply",
            "--project",
            "my-project",
            "--dry-run",
        ]) else {
            panic!("not monitoring")
        };
        assert_eq!(options.service, "svc");
        assert_eq!(options.objectives.success_percent, 99.9);
        assert_eq!(options.objectives.latency_ms, 500.0);
        assert_eq!(options.dialect, Dialect::Prometheus);
        assert_eq!(options.notification_channels, ["1", "2"]);
        let target = options.apply.expect("--apply");
        assert_eq!((target.project.as_str(), target.dry_run), ("my-project", true));
        assert_eq!(target.endpoint, monitoring::DEFAULT_ENDPOINT);
    }

    #[test]
    fn apply_needs_a_project_and_dry_run_needs_apply() {
        for args in [
            &["zen", "telemetry", "monitoring", "--service", "s", "--apply"][..],
            &["zen", "telemetry", "monitoring", "--service", "s", "--dry-run"][..],
        ] {
            let error = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::MissingRequiredArgument,
                "{args:?}"
            );
        }
    }

    #[test]
    fn a_trace_file_and_no_telemetry_conflict() {
        let error = Cli::try_parse_from(["zen", "run", "--trace-file", "t", "--no-telemetry"]).unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
    }
}
