//! Runs the plan: child processes with a staggered start, a concurrency cap,
//! per-instance timeouts, budgets and cancellation. Each child runs in its own
//! process tree (`process_tree.rs`), which is terminated as a whole: nothing it
//! started outlives it.
//!
//! Every instance future is polled inside the `zen.run` future (not spawned),
//! so its `zen.instance` span is a child of `zen.run`.

mod child;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

use child::{Ended, echo_lines, exit_details, finished, terminate};

use crate::budget::{Decision, Tracker};
use crate::options::Echo;
use crate::plan::{InstanceSpec, Plan};
use crate::process_tree::ProcessTree;
use crate::signals::Groups;
use crate::status::{Board, Console, InstanceStatus, Stream};

/// How long output may still be read once a child has ended.
const DRAIN_GRACE: Duration = Duration::from_secs(1);

/// Runs a plan.
pub struct Runner<'a> {
    plan: &'a Plan,
    board: Board,
    console: Arc<Console>,
    budget: Mutex<Tracker>,
    cancel: watch::Receiver<bool>,
    groups: Groups,
    echo: Echo,
}

/// What the budgets saw over a run, for the `zen.run` span and the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BudgetSummary {
    /// Every budget warning (or block) printed, in order.
    pub warnings: Vec<String>,
    /// Tokens used by every instance (input + output + cache read + cache write).
    pub tokens: u64,
    /// USD used by every instance.
    pub cost_usd: f64,
}

/// How an instance ended, when not successfully (a span's error message: no paths, no text).
#[derive(Debug)]
pub struct InstanceFailure(InstanceStatus);

impl fmt::Display for InstanceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

enum Stop {
    TimedOut(Duration),
    OverBudget(String),
    Cancelled,
}

impl<'a> Runner<'a> {
    /// A runner for `plan`, reporting into `board`.
    pub fn new(
        plan: &'a Plan,
        board: Board,
        console: Arc<Console>,
        cancel: watch::Receiver<bool>,
        groups: Groups,
        echo: Echo,
    ) -> Runner<'a> {
        Runner {
            budget: Mutex::new(Tracker::new(plan.budget.clone())),
            plan,
            board,
            console,
            cancel,
            groups,
            echo,
        }
    }

    fn budget(&self) -> MutexGuard<'_, Tracker> {
        self.budget.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Budget warnings so far, and tokens and USD used.
    pub fn budget_summary(&self) -> BudgetSummary {
        let tracker = self.budget();
        let (tokens, cost_usd) = tracker.used();
        BudgetSummary {
            warnings: tracker.warnings.clone(),
            tokens,
            cost_usd,
        }
    }

    /// Runs every instance; returns true when the run was cancelled by a signal.
    pub async fn run(&self) -> bool {
        let semaphore = Arc::new(Semaphore::new(self.plan.max_parallel));
        let mut running = FuturesUnordered::new();
        let mut cancel = self.cancel.clone();
        let mut cancelled = *cancel.borrow();
        let mut next = 0;
        let mut last_launch: Option<tokio::time::Instant> = None;
        let total = self.plan.instances.len();
        loop {
            if (next >= total || cancelled) && running.is_empty() {
                break;
            }
            let can_launch = next < total && !cancelled;
            let launch_at = last_launch.map(|t| t + self.plan.startup_delay);
            let staggered = launch_at.is_some_and(|at| tokio::time::Instant::now() < at);
            let wake_at = launch_at.unwrap_or_else(tokio::time::Instant::now);
            tokio::select! {
                biased;
                changed = cancel.wait_for(|c| *c), if !cancelled => {
                    if changed.is_ok() {
                        cancelled = true;
                    }
                }
                Some(_) = running.next(), if !running.is_empty() => {}
                () = tokio::time::sleep_until(wake_at), if can_launch && staggered => {}
                permit = semaphore.clone().acquire_owned(), if can_launch && !staggered => {
                    let Ok(permit) = permit else { break };
                    let index = next;
                    next += 1;
                    last_launch = Some(tokio::time::Instant::now());
                    let spec = &self.plan.instances[index];
                    let decision = self.budget().check_launch(index, &spec.subject());
                    match decision {
                        Decision::Block(message) => {
                            self.console.line(Stream::Stderr, &format!("zen: budget: not starting {}: {message}", spec.name));
                            self.board.update(index, |row| {
                                row.status = InstanceStatus::Blocked;
                                row.message = Some(message);
                            });
                            continue;
                        }
                        Decision::Warn(message) => {
                            self.console.line(Stream::Stderr, &format!("zen: budget warning: {}: {message}", spec.name));
                        }
                        Decision::Allow => {}
                    }
                    running.push(self.run_instance(index, spec, permit));
                }
                else => break,
            }
        }
        if cancelled {
            for index in 0..total {
                self.board.update(index, |row| {
                    if row.status == InstanceStatus::Pending {
                        row.status = InstanceStatus::Cancelled;
                        row.message = Some("not started".to_owned());
                    }
                });
            }
        }
        cancelled
    }

    #[zen_telemetry::traced(
        "zen.instance",
        attrs(zen.instance.name = spec.name.as_str(), zen.instance.kind = spec.kind.as_str())
    )]
    async fn run_instance(
        &self,
        index: usize,
        spec: &InstanceSpec,
        _permit: OwnedSemaphorePermit,
    ) -> Result<(), InstanceFailure> {
        if let Some(command) = &spec.command_name {
            zen_telemetry::span_attributes!(zen.command.name = command.as_str());
        }
        if let Some(hash) = &spec.session_hash {
            zen_telemetry::span_attributes!(zen.session.hash = hash.as_str());
        }
        let started = Instant::now();
        self.board.update(index, |row| {
            row.status = InstanceStatus::Running;
            row.started = Some(started);
        });
        let ended = self.drive(index, spec).await;
        let duration = started.elapsed();
        self.budget().finish(index);
        let mut row_after = None;
        self.board.update(index, |row| {
            row.status = ended.status;
            row.duration = Some(duration);
            row.exit_code = ended.exit_code;
            row.signal = ended.signal;
            row.message = ended.message.clone();
            row_after = Some(row.clone());
        });
        if let Some(row) = &row_after {
            let usage = row.accounting.usage();
            zen_telemetry::span_attributes!(
                zen.instance.status = ended.status.as_str(),
                zen.instance.duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
                zen.tokens.input = usage.input,
                zen.tokens.output = usage.output,
                zen.tokens.cache_read = usage.cache_read,
                zen.tokens.cache_creation = usage.cache_creation,
                zen.tools.calls = row.accounting.tool_calls(),
                zen.cost.usd = row.accounting.cost().0,
            );
            crate::usage_metrics::record_instance(
                spec.kind.as_str(),
                ended.status.as_str(),
                &usage,
                row.accounting.cost().0,
            );
        }
        if let Some(code) = ended.exit_code {
            zen_telemetry::span_attributes!(zen.instance.exit_code = code);
        }
        let mut line = format!(
            "zen: {} {} after {}",
            spec.name,
            ended.status.as_str(),
            crate::status::format_duration(duration)
        );
        if let Some(message) = &ended.message {
            line.push_str(&format!(": {message}"));
        }
        self.console.line(Stream::Stderr, &line);
        match ended.status {
            InstanceStatus::Succeeded => Ok(()),
            other => Err(InstanceFailure(other)),
        }
    }

    /// Keeps instance `index`'s last shown line on the board, for the live table.
    fn last_line_of(&self, index: usize) -> impl Fn(&str) + Send + 'static {
        let board = self.board.clone();
        move |line: &str| board.update(index, |row| row.last_line = Some(line.to_owned()))
    }

    /// Reads one stream-json line; returns a message when a `block` budget says stop.
    fn account(&self, index: usize, spec: &InstanceSpec, line: &str) -> Option<String> {
        let mut changed = None;
        let mut refused = None;
        self.board.update(index, |row| {
            let before = row.accounting.permission_errors.len();
            if row.accounting.ingest_line(line) {
                changed = Some((row.accounting.usage().total(), row.accounting.cost().0));
            }
            if row.accounting.permission_errors.len() > before {
                refused = row.accounting.permission_errors.last().cloned();
            }
        });
        if let Some(refusal) = refused {
            self.console.line(
                Stream::Stderr,
                &format!(
                    "zen: PERMISSION ERROR: {} was refused a tool: {refusal}\n\
                     zen:   its permission_mode ({}) does not allow it; set \"permission_mode\": \"bypassPermissions\" \
                     or list the tool in \"allowed_tools\"",
                    spec.name,
                    spec.permission_mode.as_deref().unwrap_or("default")
                ),
            );
        }
        let (tokens, cost) = changed?;
        let decision = self.budget().record(index, &spec.subject(), tokens, cost);
        match decision {
            Decision::Allow => None,
            Decision::Warn(message) => {
                self.console
                    .line(Stream::Stderr, &format!("zen: budget warning: {message}"));
                None
            }
            Decision::Block(message) => Some(message),
        }
    }

    async fn drive(&self, index: usize, spec: &InstanceSpec) -> Ended {
        let mut child = match child::command(spec, &self.plan.workspace).spawn() {
            Ok(child) => child,
            Err(e) => {
                return Ended {
                    status: InstanceStatus::SpawnFailed,
                    exit_code: None,
                    signal: None,
                    message: Some(format!("cannot start {}: {e}", spec.program.display())),
                };
            }
        };
        let tree = match ProcessTree::adopt(&child) {
            Ok(tree) => Arc::new(tree),
            Err(_) => {
                let status = child.wait().await.ok();
                return finished(status, None);
            }
        };
        let guard = self.groups.register(tree.clone());

        let (lines_tx, mut lines_rx) = mpsc::unbounded_channel();
        let accounting_tx = spec.stream_json.then_some(lines_tx);
        let prefix = format!("[{}]", spec.name);
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(tokio::spawn(echo_lines(
                stdout,
                prefix.clone(),
                Stream::Stdout,
                self.console.clone(),
                self.echo,
                accounting_tx,
                self.last_line_of(index),
            )));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(tokio::spawn(echo_lines(
                stderr,
                prefix,
                Stream::Stderr,
                self.console.clone(),
                self.echo,
                None,
                self.last_line_of(index),
            )));
        }

        let far_future = tokio::time::Instant::now() + Duration::from_secs(10 * 365 * 24 * 3600);
        let deadline = spec.timeout.map(|t| tokio::time::Instant::now() + t);
        let mut cancel = self.cancel.clone();
        let mut accounting_open = spec.stream_json;
        let (stop, exit) = loop {
            tokio::select! {
                status = child.wait() => break (None, status.ok()),
                line = lines_rx.recv(), if accounting_open => match line {
                    Some(line) => {
                        if let Some(message) = self.account(index, spec, &line) {
                            break (Some(Stop::OverBudget(message)), None);
                        }
                    }
                    None => accounting_open = false,
                },
                () = tokio::time::sleep_until(deadline.unwrap_or(far_future)), if deadline.is_some() => {
                    break (Some(Stop::TimedOut(spec.timeout.unwrap_or_default())), None);
                }
                changed = cancel.wait_for(|c| *c) => {
                    if changed.is_ok() {
                        break (Some(Stop::Cancelled), None);
                    }
                }
            }
        };
        let exit = match &stop {
            Some(_) => terminate(&mut child, &tree).await,
            None => exit,
        };
        // Whatever the child left behind in its tree goes too: no orphans.
        tree.ask_to_stop();
        let drain = async {
            if spec.stream_json && stop.is_none() {
                while let Some(line) = lines_rx.recv().await {
                    // Past the end, a budget can only warn: the process is gone.
                    let _ = self.account(index, spec, &line);
                }
            }
            for reader in &mut readers {
                let _ = reader.await;
            }
        };
        let _ = tokio::time::timeout(DRAIN_GRACE, drain).await;
        tree.kill();
        for reader in &readers {
            reader.abort();
        }
        guard.disarm();

        match stop {
            Some(Stop::TimedOut(after)) => Ended {
                status: InstanceStatus::TimedOut,
                message: Some(format!(
                    "timed out after {}; process tree terminated",
                    crate::status::format_duration(after)
                )),
                ..exit_details(exit)
            },
            Some(Stop::OverBudget(message)) => Ended {
                status: InstanceStatus::OverBudget,
                message: Some(format!("budget exceeded, terminated: {message}")),
                ..exit_details(exit)
            },
            Some(Stop::Cancelled) => Ended {
                status: InstanceStatus::Cancelled,
                message: Some("terminated by signal".to_owned()),
                ..exit_details(exit)
            },
            None => {
                let row = self.board.snapshot().into_iter().nth(index);
                let accounting = row.map(|r| r.accounting);
                let refusals = accounting.as_ref().map_or(0, |a| a.permission_errors.len());
                let ended = finished(exit, accounting.and_then(|a| a.result_is_error));
                if refusals == 0 {
                    return ended;
                }
                Ended {
                    status: InstanceStatus::PermissionDenied,
                    message: Some(format!(
                        "Claude Code was refused {refusals} tool call(s); {}",
                        ended.message.as_deref().unwrap_or("it exited 0")
                    )),
                    ..ended
                }
            }
        }
    }
}
