//! Live status and the final table, and the console every line goes through
//! (so child output and the live table never garble each other).

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::accounting::{Accounting, CostSource};

/// Where an instance is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceStatus {
    /// Not started yet.
    Pending,
    /// Running.
    Running,
    /// Exited 0.
    Succeeded,
    /// Exited non-zero (or reported an error).
    Failed,
    /// Killed at its timeout.
    TimedOut,
    /// Terminated for overrunning a budget (`block`).
    OverBudget,
    /// Not started: the budget refused it (`block`).
    Blocked,
    /// Stopped or never started because of Ctrl-C / SIGTERM.
    Cancelled,
    /// Could not be started.
    SpawnFailed,
    /// Ran, but Claude Code was refused a tool it asked for.
    PermissionDenied,
}

impl InstanceStatus {
    /// The name used in the table and the report.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceStatus::Pending => "pending",
            InstanceStatus::Running => "running",
            InstanceStatus::Succeeded => "succeeded",
            InstanceStatus::Failed => "failed",
            InstanceStatus::TimedOut => "timed_out",
            InstanceStatus::OverBudget => "over_budget",
            InstanceStatus::Blocked => "blocked",
            InstanceStatus::Cancelled => "cancelled",
            InstanceStatus::SpawnFailed => "spawn_failed",
            InstanceStatus::PermissionDenied => "permission_denied",
        }
    }

    /// True once nothing more will happen.
    pub fn is_final(self) -> bool {
        !matches!(self, InstanceStatus::Pending | InstanceStatus::Running)
    }
}

/// One instance's line in the table.
#[derive(Debug, Clone)]
pub struct Row {
    /// Instance name.
    pub name: String,
    /// Slash command name.
    pub command: Option<String>,
    /// Status.
    pub status: InstanceStatus,
    /// When it started.
    pub started: Option<Instant>,
    /// How long it ran (set when it ends).
    pub duration: Option<Duration>,
    /// Exit code, when it exited.
    pub exit_code: Option<i32>,
    /// Signal that ended it, when one did.
    pub signal: Option<i32>,
    /// What went wrong, in a few words.
    pub message: Option<String>,
    /// Stream accounting (empty for plain programs).
    pub accounting: Accounting,
}

impl Row {
    fn new(name: String, command: Option<String>) -> Row {
        Row {
            name,
            command,
            status: InstanceStatus::Pending,
            started: None,
            duration: None,
            exit_code: None,
            signal: None,
            message: None,
            accounting: Accounting::default(),
        }
    }

    /// Time run so far, or in all.
    pub fn elapsed(&self) -> Option<Duration> {
        self.duration.or_else(|| self.started.map(|s| s.elapsed()))
    }
}

/// The shared table of instances.
#[derive(Debug, Clone)]
pub struct Board {
    rows: Arc<Mutex<Vec<Row>>>,
}

impl Board {
    /// A board with one pending row per `(name, command)`.
    pub fn new(instances: impl IntoIterator<Item = (String, Option<String>)>) -> Board {
        let rows = instances
            .into_iter()
            .map(|(name, command)| Row::new(name, command))
            .collect();
        Board {
            rows: Arc::new(Mutex::new(rows)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Row>> {
        self.rows.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes row `index`.
    pub fn update(&self, index: usize, change: impl FnOnce(&mut Row)) {
        if let Some(row) = self.lock().get_mut(index) {
            change(row);
        }
    }

    /// A copy of every row.
    pub fn snapshot(&self) -> Vec<Row> {
        self.lock().clone()
    }
}

/// Serialises terminal output: child lines, warnings and the live table.
#[derive(Debug)]
pub struct Console {
    state: Mutex<ConsoleState>,
    live_in_place: bool,
}

#[derive(Debug, Default)]
struct ConsoleState {
    /// Lines of the live table currently at the bottom of the terminal.
    live_lines: usize,
}

/// Which stream a line goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl Console {
    /// A console for this process; the live table is redrawn in place when stderr is a terminal.
    pub fn new() -> Console {
        Console {
            state: Mutex::new(ConsoleState::default()),
            live_in_place: std::io::stderr().is_terminal(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ConsoleState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn erase_live(&self, state: &mut ConsoleState) {
        if state.live_lines > 0 {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\x1b[{}F\x1b[J", state.live_lines);
            let _ = err.flush();
            state.live_lines = 0;
        }
    }

    /// Writes one line now (never held back).
    pub fn line(&self, stream: Stream, text: &str) {
        let mut state = self.lock();
        self.erase_live(&mut state);
        match stream {
            Stream::Stdout => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            }
            Stream::Stderr => {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{text}");
                let _ = err.flush();
            }
        }
    }

    /// Draws the live table (on stderr).
    pub fn live(&self, table: &str) {
        let mut state = self.lock();
        self.erase_live(&mut state);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{table}");
        let _ = err.flush();
        if self.live_in_place {
            state.live_lines = table.lines().count();
        }
    }

    /// Removes the live table before the final output.
    pub fn clear_live(&self) {
        let mut state = self.lock();
        self.erase_live(&mut state);
    }
}

impl Default for Console {
    fn default() -> Self {
        Console::new()
    }
}

/// Formats a duration for the table: `850ms`, `12.3s`, `4m05s`.
pub fn format_duration(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs < 1.0 {
        format!("{}ms", duration.as_millis())
    } else if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        format!("{}m{:02}s", duration.as_secs() / 60, duration.as_secs() % 60)
    }
}

fn format_cost(row: &Row) -> String {
    match row.accounting.cost() {
        (_, CostSource::None) => "-".to_owned(),
        (cost, CostSource::Reported) => format!("${cost:.4}"),
        (cost, CostSource::Estimated) => format!("~${cost:.4}"),
    }
}

/// The status table: instance, status, duration, tokens (in/out/cache read/cache write), tools, cost.
pub fn render_table(rows: &[Row]) -> String {
    let header = [
        "INSTANCE", "STATUS", "DURATION", "IN", "OUT", "CACHE R", "CACHE W", "TOOLS", "COST",
    ];
    let mut lines: Vec<[String; 9]> = Vec::with_capacity(rows.len() + 1);
    let mut totals = (0u64, 0u64, 0u64, 0u64, 0u64, 0.0f64);
    for row in rows {
        let usage = row.accounting.usage();
        let (cost, _) = row.accounting.cost();
        totals.0 += usage.input;
        totals.1 += usage.output;
        totals.2 += usage.cache_read;
        totals.3 += usage.cache_creation;
        totals.4 += row.accounting.tool_calls();
        totals.5 += cost;
        let mut status = row.status.as_str().to_owned();
        if let Some(code) = row.exit_code.filter(|c| *c != 0) {
            status.push_str(&format!(" ({code})"));
        }
        lines.push([
            row.name.clone(),
            status,
            row.elapsed().map(format_duration).unwrap_or_else(|| "-".to_owned()),
            usage.input.to_string(),
            usage.output.to_string(),
            usage.cache_read.to_string(),
            usage.cache_creation.to_string(),
            row.accounting.tool_calls().to_string(),
            format_cost(row),
        ]);
    }
    let done = rows.iter().filter(|r| r.status.is_final()).count();
    lines.push([
        "TOTAL".to_owned(),
        format!("{done}/{} done", rows.len()),
        String::new(),
        totals.0.to_string(),
        totals.1.to_string(),
        totals.2.to_string(),
        totals.3.to_string(),
        totals.4.to_string(),
        if totals.5 > 0.0 {
            format!("${:.4}", totals.5)
        } else {
            "-".to_owned()
        },
    ]);
    let mut widths = header.map(str::len);
    for line in &lines {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let render = |cells: &[String]| {
        let mut out = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            if i < 3 {
                out.push_str(&format!("{cell:<width$}"));
            } else {
                out.push_str(&format!("{cell:>width$}"));
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = render(&header.map(str::to_owned));
    for line in &lines {
        out.push_str(&render(line));
    }
    out
}

/// Redraws the live table every `interval` until the returned handle is aborted.
pub fn spawn_live(board: Board, console: Arc<Console>, interval: Duration) -> Option<tokio::task::JoinHandle<()>> {
    if interval.is_zero() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            let table = render_table(&board.snapshot());
            console.live(&format!("zen: status\n{table}"));
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_every_column_and_a_total() {
        let mut row = Row::new("alpha".to_owned(), None);
        row.status = InstanceStatus::Failed;
        row.exit_code = Some(3);
        row.duration = Some(Duration::from_millis(1500));
        row.accounting.ingest_line(
            r#"{"type":"assistant","message":{"id":"m","content":[{"type":"tool_use","id":"t","name":"Read"}],"usage":{"input_tokens":7,"output_tokens":8,"cache_read_input_tokens":9,"cache_creation_input_tokens":10}}}"#,
        );
        let table = render_table(&[row]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(lines[0].starts_with("INSTANCE  STATUS"), "{table}");
        assert!(lines[1].starts_with("alpha     failed (3)  1.5s"), "{table}");
        assert!(lines[1].contains(" 7  ") && lines[1].contains("~$0."), "{table}");
        assert!(lines[2].starts_with("TOTAL     1/1 done"), "{table}");
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(format_duration(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(format_duration(Duration::from_secs(245)), "4m05s");
    }
}
