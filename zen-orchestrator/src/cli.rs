//! The `zen` command line (clap), and its translation into plain [`Action`]
//! and [`RunOptions`] values: nothing past this module depends on clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::budget;
use crate::options::{Action, DEFAULT_STARTUP_DELAY_SECS, DEFAULT_STATUS_INTERVAL_SECS, RunOptions};

const EXAMPLES: &str = "\
Examples:
  zen run --config zen-orchestrator/examples/demo.json --trace-file trace.jsonl
  zen traces trace.jsonl
  zen \"/review src/\" --workspace ~/project --timeout 600
  zen run --config claude.json --max-parallel 3 --overall-cost-budget 5 --budget-mode block --report report.json
  zen run --config claude.json --dry-run

Exit codes: 0 every instance succeeded, 1 one or more did not, 2 usage or configuration error,
130 interrupted (Ctrl-C / SIGTERM).";

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
            None => Action::Run(Box::new(self.run.into())),
            Some(Command::Run(args)) => Action::Run(Box::new((*args).into())),
            Some(Command::Traces { file }) => Action::Traces(file),
            Some(Command::Telemetry {
                command: TelemetryCommand::Status { json },
            }) => Action::TelemetryStatus { json },
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
    },
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
    /// Working directory of every instance (default: the current directory).
    #[arg(short, long, value_name = "DIR")]
    workspace: Option<PathBuf>,
    /// Most instances running at once (default: the file's max_parallel, else 4).
    #[arg(short = 'j', long, value_name = "N")]
    max_parallel: Option<usize>,
    /// Kill an instance's whole process group after SECS (an instance's timeout_secs wins).
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// Seconds between two launches.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_STARTUP_DELAY_SECS)]
    startup_delay: f64,
    /// Seconds between two live status tables (0: none).
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_STATUS_INTERVAL_SECS)]
    status_interval: f64,
    /// Do not echo the instances' output.
    #[arg(short, long)]
    quiet: bool,
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
    /// What an exceeded budget does: warn, or block (refuse launches, terminate overrunning instances).
    #[arg(long, value_enum, value_name = "MODE")]
    budget_mode: Option<BudgetMode>,
    /// Record this run's trace to FILE as JSON lines (every span; draw it with `zen traces FILE`).
    #[arg(long, value_name = "FILE", conflicts_with = "no_telemetry")]
    trace_file: Option<PathBuf>,
    /// Record no telemetry at all for this run.
    #[arg(long)]
    no_telemetry: bool,
}

/// `--budget-mode`'s values: [`budget::Mode`] as clap shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BudgetMode {
    /// Print a warning and go on.
    Warn,
    /// Refuse launches and terminate instances that overrun.
    Block,
}

impl From<BudgetMode> for budget::Mode {
    fn from(mode: BudgetMode) -> budget::Mode {
        match mode {
            BudgetMode::Warn => budget::Mode::Warn,
            BudgetMode::Block => budget::Mode::Block,
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
            quiet: args.quiet,
            dry_run: args.dry_run,
            report: args.report,
            overall_token_budget: args.overall_token_budget,
            overall_cost_budget: args.overall_cost_budget,
            command_budget: args.command_budget,
            budget_mode: args.budget_mode.map(budget::Mode::from),
            trace_file: args.trace_file,
            no_telemetry: args.no_telemetry,
        }
    }
}
