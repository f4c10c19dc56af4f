//! What the command line asks for, as plain values: the domain never sees clap.

use std::path::PathBuf;

use crate::budget;

/// Default of `--startup-delay`, in seconds.
pub const DEFAULT_STARTUP_DELAY_SECS: f64 = 0.25;
/// Default of `--status-interval`, in seconds.
pub const DEFAULT_STATUS_INTERVAL_SECS: f64 = 5.0;

/// One `zen` invocation: which command, with which options.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `zen run` (or the default command): run a configuration or one prompt.
    Run(Box<RunOptions>),
    /// `zen traces FILE`: draw a JSONL trace file.
    Traces {
        /// The JSONL file.
        file: PathBuf,
        /// `--html OUT`: write an HTML page instead.
        html: Option<PathBuf>,
    },
    /// `zen telemetry status`: show what zen's own telemetry does.
    TelemetryStatus {
        /// Send one span and one metric point to each destination.
        check: bool,
        /// Print JSON instead of text.
        json: bool,
    },
    /// `zen --list-commands`: the workspace's slash commands.
    ListCommands {
        /// `--workspace`, else detected.
        workspace: Option<PathBuf>,
    },
    /// `zen --inspect-command NAME`: one slash command's file and frontmatter.
    InspectCommand {
        /// `--workspace`, else detected.
        workspace: Option<PathBuf>,
        /// The command, with or without `/`.
        name: String,
    },
    /// `zen telemetry monitoring`: dashboards and alerts for a service.
    TelemetryMonitoring(Box<crate::monitoring::MonitoringOptions>),
}

/// `--log-level`: how much of the instances' output `zen` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLevel {
    /// Nothing of the instances and no live table: warnings, errors and the final table only.
    Silent,
    /// Stream-json as short readable lines (tool calls, text, results), other output as it is.
    #[default]
    Concise,
    /// Every line as the instance wrote it, stream-json included.
    Detailed,
}

/// How the instances' output is echoed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Echo {
    /// How much.
    pub level: LogLevel,
    /// At most this many lines per instance and stream; `None`: all.
    pub max_lines: Option<usize>,
    /// Longer lines are cut to this many characters, ending in `...`.
    pub max_line_length: usize,
}

/// Python Zen's default of `--max-line-length`.
pub const DEFAULT_MAX_LINE_LENGTH: usize = 800;

impl Default for Echo {
    fn default() -> Echo {
        Echo {
            level: LogLevel::Concise,
            max_lines: None,
            max_line_length: DEFAULT_MAX_LINE_LENGTH,
        }
    }
}

/// Python Zen's direct-mode options: the one instance of a prompt run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectInstance {
    /// `--instance-name` (default: the slash command's name, else `prompt`).
    pub name: Option<String>,
    /// `--instance-description`, shown by `--dry-run`.
    pub description: Option<String>,
    /// `--session-id`, passed to Claude Code.
    pub session_id: Option<String>,
    /// `--clear-history`: `/clear` before the prompt.
    pub clear_history: bool,
    /// `--compact-history`: `/compact` before the prompt.
    pub compact_history: bool,
}

/// The options of `zen run` (see `zen run --help` for each flag).
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// A prompt or slash command to run as a single Claude Code instance.
    pub prompt: Option<String>,
    /// The JSON configuration file.
    pub config: Option<PathBuf>,
    /// Working directory of every instance (`None`: the current directory).
    pub workspace: Option<PathBuf>,
    /// Concurrency cap; overrides the file's `max_parallel`.
    pub max_parallel: Option<usize>,
    /// Default per-instance timeout in seconds (an instance's `timeout_secs` wins).
    pub timeout: Option<f64>,
    /// Seconds between two launches.
    pub startup_delay: f64,
    /// Seconds between two live status tables (0: none).
    pub status_interval: f64,
    /// `--log-level`, `--max-console-lines` (0 with `--quiet`), `--max-line-length`.
    pub echo: Echo,
    /// Print the plan and start nothing.
    pub dry_run: bool,
    /// Where to write the JSON report.
    pub report: Option<PathBuf>,
    /// Overall token budget; overrides the file's.
    pub overall_token_budget: Option<u64>,
    /// Overall USD budget; overrides the file's.
    pub overall_cost_budget: Option<f64>,
    /// Per-command token budgets as written, `/command=TOKENS` (parsed by the plan).
    pub command_budget: Vec<String>,
    /// Per-command USD budgets as written, `/command=USD` (parsed by the plan).
    pub command_cost_budget: Vec<String>,
    /// Percent of a budget at which to warn once (default 80; 100: never).
    pub budget_warning_at: Option<f64>,
    /// Which kinds of budget are enforced; overrides the file's `budget_type`.
    pub budget_parameter_type: Option<budget::Kinds>,
    /// What an exceeded budget does; overrides the file's `enforcement_mode`.
    pub budget_mode: Option<budget::Mode>,
    /// Direct mode (a prompt instead of `--config`): how its one instance runs.
    pub direct: DirectInstance,
    /// `--start-at` as written (parsed by `start_at::parse`).
    pub start_at: Option<String>,
    /// Record this run's trace to this JSONL file.
    pub trace_file: Option<PathBuf>,
    /// Record no telemetry at all.
    pub no_telemetry: bool,
}

impl Default for RunOptions {
    /// The command line's defaults (nothing to run yet).
    fn default() -> RunOptions {
        RunOptions {
            prompt: None,
            config: None,
            workspace: None,
            max_parallel: None,
            timeout: None,
            startup_delay: DEFAULT_STARTUP_DELAY_SECS,
            status_interval: DEFAULT_STATUS_INTERVAL_SECS,
            echo: Echo::default(),
            dry_run: false,
            report: None,
            overall_token_budget: None,
            overall_cost_budget: None,
            command_budget: Vec::new(),
            command_cost_budget: Vec::new(),
            budget_warning_at: None,
            budget_parameter_type: None,
            budget_mode: None,
            direct: DirectInstance::default(),
            start_at: None,
            trace_file: None,
            no_telemetry: false,
        }
    }
}
