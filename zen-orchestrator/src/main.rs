//! `zen`: runs many headless agent-CLI instances (Claude Code, or any program)
//! in parallel in one workspace, with budgets, live status and a final report,
//! traced end to end with `#[zen_telemetry::traced]`.

mod accounting;
mod budget;
mod claude;
mod config;
mod error;
mod plan;
mod privacy;
mod report;
mod runner;
mod signals;
mod status;
mod telemetry_status;
mod traces;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use clap::{Args, Parser, Subcommand};

use crate::error::ZenError;
use crate::status::{Board, Console, InstanceStatus, Stream};

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
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
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
pub struct RunArgs {
    /// A prompt or slash command to run as a single Claude Code instance (instead of --config).
    #[arg(value_name = "PROMPT")]
    pub prompt: Option<String>,
    /// JSON configuration file (Python-Zen compatible; keys starting with `//` are comments).
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Working directory of every instance (default: the current directory).
    #[arg(short, long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Most instances running at once (default: the file's max_parallel, else 4).
    #[arg(short = 'j', long, value_name = "N")]
    pub max_parallel: Option<usize>,
    /// Kill an instance's whole process group after SECS (an instance's timeout_secs wins).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Seconds between two launches.
    #[arg(long, value_name = "SECS", default_value_t = 0.25)]
    pub startup_delay: f64,
    /// Seconds between two live status tables (0: none).
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub status_interval: f64,
    /// Do not echo the instances' output.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print the plan and start nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write the final table as JSON (schema: docs/orchestrator-report.md).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Overall token budget (input + output + cache read + cache write).
    #[arg(long, value_name = "TOKENS")]
    pub overall_token_budget: Option<u64>,
    /// Overall budget in USD.
    #[arg(long, value_name = "USD")]
    pub overall_cost_budget: Option<f64>,
    /// Token budget of one slash command, as /command=TOKENS (repeatable).
    #[arg(long, value_name = "/CMD=TOKENS")]
    pub command_budget: Vec<String>,
    /// What an exceeded budget does: warn, or block (refuse launches, terminate overrunning instances).
    #[arg(long, value_enum, value_name = "MODE")]
    pub budget_mode: Option<budget::Mode>,
    /// Record this run's trace to FILE as JSON lines (every span; draw it with `zen traces FILE`).
    #[arg(long, value_name = "FILE", conflicts_with = "no_telemetry")]
    pub trace_file: Option<PathBuf>,
    /// Record no telemetry at all for this run.
    #[arg(long)]
    pub no_telemetry: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Run(args)) => run_command(*args),
        None => run_command(cli.run),
        Some(Command::Traces { file }) => match traces::render_file(&file, traces::colour_wanted()) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("zen: error: {message}");
                ExitCode::from(2)
            }
        },
        Some(Command::Telemetry {
            command: TelemetryCommand::Status { json },
        }) => {
            print!("{}", telemetry_status(json));
            ExitCode::SUCCESS
        }
    }
}

/// Configures zen's own telemetry from the flags; must run before any traced call.
fn configure_telemetry(args: &RunArgs) {
    let mut builder = zen_telemetry::Config::builder();
    if zen_telemetry::config().service_name == zen_telemetry::config::DEFAULT_SERVICE_NAME {
        builder = builder.service_name("zen");
    }
    if let Some(file) = &args.trace_file {
        // The trace file holds this run only: start it empty.
        if let Err(e) = std::fs::File::create(file) {
            eprintln!("zen: warning: cannot write the trace file {}: {e}", file.display());
        }
        builder = builder
            .exporter(zen_telemetry::ExporterKind::File)
            .file_path(file)
            .sample_rate(1.0);
    }
    if args.no_telemetry {
        builder = builder.disabled(true);
    }
    if let Err(e) = zen_telemetry::init_with(builder.build()) {
        eprintln!("zen: warning: {e}");
    }
}

fn telemetry_status(json: bool) -> String {
    let mut config = zen_telemetry::config();
    if config.service_name == zen_telemetry::config::DEFAULT_SERVICE_NAME {
        // What `zen run` reports itself as.
        config.service_name = "zen".to_owned();
    }
    let variable = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let otlp_endpoint =
        variable("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| variable("OTEL_EXPORTER_OTLP_ENDPOINT"));
    let traceparent_present = variable("TRACEPARENT").is_some();
    if json {
        let status = telemetry_status::to_json(&config, otlp_endpoint.as_deref(), traceparent_present);
        format!("{status:#}\n")
    } else {
        telemetry_status::to_text(&config, otlp_endpoint.as_deref(), traceparent_present)
    }
}

/// What a finished run leaves for the final table and the report.
struct RunSummary {
    board: Board,
    cancelled: bool,
    started_at: SystemTime,
    duration: Duration,
    budget: budget::Settings,
    budget_warnings: Vec<String>,
}

fn run_command(args: RunArgs) -> ExitCode {
    configure_telemetry(&args);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("zen: error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let console = Arc::new(Console::new());
    let result = runtime.block_on(run(&args, console.clone()));
    drop(runtime);
    let code = match result {
        Err(e) => {
            eprintln!("zen: error: {}", e.message());
            2
        }
        Ok(None) => 0,
        Ok(Some(summary)) => finish(&args, &console, &summary),
    };
    zen_telemetry::shutdown();
    ExitCode::from(code)
}

/// Prints the final table and writes the report; returns the exit code.
fn finish(args: &RunArgs, console: &Console, summary: &RunSummary) -> u8 {
    let rows = summary.board.snapshot();
    let all_succeeded = rows.iter().all(|r| r.status == InstanceStatus::Succeeded);
    let code: u8 = if summary.cancelled {
        130
    } else if all_succeeded {
        0
    } else {
        1
    };
    console.clear_live();
    let mut text = String::from("\nzen: final status");
    if summary.cancelled {
        text.push_str(" (interrupted)");
    }
    text.push('\n');
    text.push_str(&status::render_table(&rows));
    for row in rows.iter().filter(|r| r.status != InstanceStatus::Succeeded) {
        if let Some(message) = &row.message {
            text.push_str(&format!("  {}: {}\n", row.name, message));
        }
    }
    console.line(Stream::Stdout, text.trim_end());
    if let Some(path) = &args.report {
        let document = report::build(&report::RunFacts {
            started_at: summary.started_at,
            duration: summary.duration,
            exit_code: i32::from(code),
            cancelled: summary.cancelled,
            budget: &summary.budget,
            budget_warnings: &summary.budget_warnings,
            rows: &rows,
        });
        if let Err(e) = report::write(path, &document) {
            eprintln!("zen: error: cannot write the report {}: {e}", path.display());
            return if code == 0 { 1 } else { code };
        }
    }
    code
}

/// The whole run: configuration, plan, instances. `None` for a dry run.
#[zen_telemetry::traced("zen.run")]
async fn run(args: &RunArgs, console: Arc<Console>) -> Result<Option<RunSummary>, ZenError> {
    let plan = plan::build(args)?;
    let workspace = std::fs::canonicalize(&plan.workspace).unwrap_or_else(|_| plan.workspace.clone());
    zen_telemetry::span_attributes!(
        zen.instances.count = plan.instances.len(),
        zen.max_parallel = plan.max_parallel,
        zen.budget.mode = plan.budget.mode.as_str(),
        zen.workspace.hash = privacy::short_hash(&workspace.to_string_lossy()),
        zen.dry_run = args.dry_run,
    );
    if args.dry_run {
        print!("{}", plan::describe(&plan));
        return Ok(None);
    }

    let started_at = SystemTime::now();
    let started = Instant::now();
    let board = Board::new(plan.instances.iter().map(|s| (s.name.clone(), s.command_name.clone())));
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let cancel_tx = Arc::new(cancel_tx);
    let groups = signals::Groups::default();
    let listener = signals::spawn_listener(cancel_tx.clone(), groups.clone(), console.clone())
        .map_err(|e| ZenError::Usage(format!("cannot listen for signals: {e}")))?;
    let interval = Duration::try_from_secs_f64(args.status_interval)
        .map_err(|_| ZenError::Usage("--status-interval must be a number of seconds, 0 or more".to_owned()))?;
    let live = status::spawn_live(board.clone(), console.clone(), interval);

    let runner = runner::Runner::new(&plan, board.clone(), console, cancel_rx, groups, args.quiet);
    let cancelled = runner.run().await;
    if let Some(live) = live {
        live.abort();
    }
    if !cancelled {
        listener.abort();
    }
    let (budget_warnings, tokens, cost) = runner.budget_summary();
    let rows = board.snapshot();
    let succeeded = rows.iter().filter(|r| r.status == InstanceStatus::Succeeded).count();
    zen_telemetry::span_attributes!(
        zen.run.succeeded = succeeded,
        zen.run.failed = rows.len() - succeeded,
        zen.run.cancelled = cancelled,
        zen.tokens.total = tokens,
        zen.cost.usd = cost,
        zen.run.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    );
    Ok(Some(RunSummary {
        board,
        cancelled,
        started_at,
        duration: started.elapsed(),
        budget: plan.budget.clone(),
        budget_warnings,
    }))
}
