//! What each command does, from plain options to an exit code: `zen run`'s
//! flow (telemetry, runtime, plan, instances, final table and report),
//! `zen traces` and `zen telemetry status`.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::error::ZenError;
use crate::options::{Action, LogLevel, RunOptions};
use crate::status::{Board, Console, InstanceStatus, Stream};
use crate::{
    budget, commands, monitoring, plan, privacy, report, runner, signals, start_at, status, telemetry_status,
    trace_html, traces, usage_metrics, workspace,
};

/// The exit code of a run in which a `block` budget refused or terminated an
/// instance (whatever the other instances did).
pub const EXIT_BUDGET: u8 = 3;

/// Runs one `zen` invocation to its end; returns the process exit code.
pub fn execute(action: Action) -> u8 {
    match action {
        Action::Run(options) => run_command(&options),
        Action::Traces { file, html } => {
            let drawn = match html {
                Some(out) => trace_html::write_file(&file, &out),
                None => traces::render_file(&file, traces::colour_wanted()),
            };
            match drawn {
                Ok(text) => {
                    print!("{text}");
                    0
                }
                Err(message) => usage_error(&message),
            }
        }
        Action::TelemetryStatus { json, check } => {
            let (text, config) = telemetry_status(json);
            print!("{text}");
            if check {
                telemetry_status::check(&config, json)
            } else {
                0
            }
        }
        Action::TelemetryMonitoring(options) => monitoring::run(&options),
        Action::ListCommands { workspace } => match workspace::resolve(workspace.as_deref()) {
            Ok(workspace) => {
                print!("{}", commands::list(&commands::discover(&workspace)));
                0
            }
            Err(message) => usage_error(&message),
        },
        Action::InspectCommand { workspace, name } => match workspace::resolve(workspace.as_deref()) {
            Ok(workspace) => match commands::inspect(&commands::discover(&workspace), &name) {
                Some(text) => {
                    print!("{text}");
                    0
                }
                None => {
                    println!("Command not found or is a built-in command");
                    1
                }
            },
            Err(message) => usage_error(&message),
        },
    }
}

fn usage_error(message: &str) -> u8 {
    eprintln!("zen: error: {message}");
    2
}

/// Configures zen's own telemetry from the options; must run before any traced call.
fn configure_telemetry(options: &RunOptions) {
    let mut builder = zen_telemetry::Config::builder();
    if zen_telemetry::config().service_name == zen_telemetry::config::DEFAULT_SERVICE_NAME {
        builder = builder.service_name(usage_metrics::SERVICE_NAME);
    }
    if let Some(file) = &options.trace_file {
        // The trace file holds this run only: start it empty.
        if let Err(e) = std::fs::File::create(file) {
            eprintln!("zen: warning: cannot write the trace file {}: {e}", file.display());
        }
        // Its metrics go beside it (zen-telemetry's default), for this run only too.
        let _ = std::fs::remove_file(file.with_extension("metrics.jsonl"));
        builder = builder
            .exporter(zen_telemetry::ExporterKind::File)
            .file_path(file)
            .metrics_across_runs(false)
            .sample_rate(1.0);
    }
    if options.no_telemetry {
        builder = builder.disabled(true);
    }
    if let Err(e) = zen_telemetry::init_with(builder.build()) {
        eprintln!("zen: warning: {e}");
    }
}

fn telemetry_status(json: bool) -> (String, zen_telemetry::Config) {
    let mut config = zen_telemetry::config();
    // What a run would read when its pipeline starts (nothing while disabled).
    for warning in config.read_files() {
        eprintln!("{warning}");
    }
    if config.service_name == zen_telemetry::config::DEFAULT_SERVICE_NAME {
        // What `zen run` reports itself as.
        config.service_name = usage_metrics::SERVICE_NAME.to_owned();
    }
    let traceparent_given = std::env::var_os("TRACEPARENT").is_some_and(|v| !v.to_string_lossy().trim().is_empty());
    let text = if json {
        let status = telemetry_status::to_json(&config, traceparent_given);
        format!("{status:#}\n")
    } else {
        telemetry_status::to_text(&config, traceparent_given)
    };
    (text, config)
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

fn run_command(options: &RunOptions) -> u8 {
    configure_telemetry(options);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("zen: error: cannot start the async runtime: {e}");
            return 2;
        }
    };
    let console = Arc::new(Console::new());
    let result = runtime.block_on(run(options, console.clone()));
    drop(runtime);
    let code = match result {
        Err(e) => {
            eprintln!("zen: error: {}", e.message());
            2
        }
        Ok(None) => 0,
        Ok(Some(summary)) => finish(options, &console, &summary),
    };
    zen_telemetry::shutdown();
    code
}

/// Prints the final table and writes the report; returns the exit code.
fn finish(options: &RunOptions, console: &Console, summary: &RunSummary) -> u8 {
    let rows = summary.board.snapshot();
    let all_succeeded = rows.iter().all(|r| r.status == InstanceStatus::Succeeded);
    let budget_stopped = rows
        .iter()
        .any(|r| matches!(r.status, InstanceStatus::Blocked | InstanceStatus::OverBudget));
    let code: u8 = if summary.cancelled {
        130
    } else if budget_stopped {
        EXIT_BUDGET
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
    if let Some(tools) = status::render_tools(&rows) {
        text.push_str("\nzen: tool usage\n");
        text.push_str(&tools);
    }
    let refused: Vec<&str> = rows
        .iter()
        .filter(|r| r.status == InstanceStatus::PermissionDenied)
        .map(|r| r.name.as_str())
        .collect();
    if !refused.is_empty() {
        text.push_str(&format!(
            "zen: PERMISSION ERRORS: {} instance(s) were refused tools: {}\n",
            refused.len(),
            refused.join(", ")
        ));
    }
    console.line(Stream::Stdout, text.trim_end());
    if let Some(path) = &options.report {
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
async fn run(options: &RunOptions, console: Arc<Console>) -> Result<Option<RunSummary>, ZenError> {
    let start_at = options
        .start_at
        .as_deref()
        .map(start_at::parse)
        .transpose()
        .map_err(ZenError::Usage)?;
    let plan = plan::build(options)?;
    let workspace = std::fs::canonicalize(&plan.workspace).unwrap_or_else(|_| plan.workspace.clone());
    zen_telemetry::span_attributes!(
        zen.instances.count = plan.instances.len(),
        zen.max_parallel = plan.max_parallel,
        zen.budget.mode = plan.budget.mode.as_str(),
        zen.workspace.hash = privacy::short_hash(&workspace.to_string_lossy()),
        zen.dry_run = options.dry_run,
    );
    let now = chrono::Local::now().naive_local();
    if options.dry_run {
        print!("{}", plan::describe(&plan));
        if let Some(start) = start_at {
            println!("would start at {}", start.describe(now));
        }
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
    let interval = Duration::try_from_secs_f64(options.status_interval)
        .map_err(|_| ZenError::Usage("--status-interval must be a number of seconds, 0 or more".to_owned()))?;
    if let Some(start) = start_at {
        let wait = start.wait(now);
        console.line(Stream::Stderr, &format!("zen: starting at {}", start.describe(now)));
        let said = console.clone();
        if !start_at::countdown(wait, cancel_rx.clone(), |line| said.line(Stream::Stderr, &line)).await {
            return Ok(Some(RunSummary {
                board,
                cancelled: true,
                started_at,
                duration: started.elapsed(),
                budget: plan.budget.clone(),
                budget_warnings: Vec::new(),
            }));
        }
    }
    let echo = options.echo;
    let live = if echo.level == LogLevel::Silent {
        None
    } else {
        status::spawn_live(board.clone(), console.clone(), interval, plan.budget.clone())
    };

    let runner = runner::Runner::new(&plan, board.clone(), console, cancel_rx, groups, echo);
    let cancelled = runner.run().await;
    if let Some(live) = live {
        live.abort();
    }
    if !cancelled {
        listener.abort();
    }
    let budget_used = runner.budget_summary();
    let rows = board.snapshot();
    let succeeded = rows.iter().filter(|r| r.status == InstanceStatus::Succeeded).count();
    zen_telemetry::span_attributes!(
        zen.run.succeeded = succeeded,
        zen.run.failed = rows.len() - succeeded,
        zen.run.cancelled = cancelled,
        zen.tokens.total = budget_used.tokens,
        zen.cost.usd = budget_used.cost_usd,
        zen.run.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    );
    usage_metrics::record_run(if cancelled {
        "cancelled"
    } else if succeeded == rows.len() {
        "succeeded"
    } else {
        "failed"
    });
    Ok(Some(RunSummary {
        board,
        cancelled,
        started_at,
        duration: started.elapsed(),
        budget: plan.budget.clone(),
        budget_warnings: budget_used.warnings,
    }))
}
