//! Live status and the final table, and the console every line goes through
//! (so child output and the live table never garble each other).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::accounting::{Accounting, CostSource, ToolUse};
use crate::budget;

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
    /// The last line it wrote, as the console shows it.
    pub last_line: Option<String>,
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
            last_line: None,
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
///
/// On a terminal (stdout and stderr TTYs, `NO_COLOR` unset, `TERM` not `dumb`) the
/// live table is one block redrawn in place with crossterm's cursor
/// commands, the cursor hidden meanwhile; anything else gets the table as
/// plain periodic lines. The terminal never leaves normal mode (no raw mode,
/// no alternate screen), so all there is to restore is the cursor: on
/// [`Console::clear_live`], on drop and on panic.
#[derive(Debug)]
pub struct Console {
    state: Mutex<ConsoleState>,
    live_in_place: bool,
}

#[derive(Debug, Default)]
struct ConsoleState {
    /// Lines of the live table currently at the bottom of the terminal.
    live_lines: usize,
    cursor_hidden: bool,
}

/// Which stream a line goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Whether the live table may be redrawn in place: both streams on the
/// terminal (echoed lines piped elsewhere would come back through `tee` and
/// break the cursor arithmetic), colour allowed, and a capable terminal.
fn in_place_wanted() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var("TERM").is_ok_and(|term| term == "dumb");
    std::io::stdout().is_terminal() && std::io::stderr().is_terminal() && !no_color && !dumb
}

/// Shows the cursor again if a panic unwinds past a hidden one.
fn restore_cursor_on_panic() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = crossterm::execute!(std::io::stderr(), crossterm::cursor::Show);
            previous(info);
        }));
    });
}

impl Console {
    /// A console for this process.
    pub fn new() -> Console {
        let live_in_place = in_place_wanted();
        if live_in_place {
            restore_cursor_on_panic();
        }
        Console {
            state: Mutex::new(ConsoleState::default()),
            live_in_place,
        }
    }

    /// True when the live table is redrawn in place.
    pub fn redraws_in_place(&self) -> bool {
        self.live_in_place
    }

    fn lock(&self) -> MutexGuard<'_, ConsoleState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn erase_live(&self, state: &mut ConsoleState) {
        if state.live_lines > 0 {
            let lines = u16::try_from(state.live_lines).unwrap_or(u16::MAX);
            let _ = crossterm::execute!(
                std::io::stderr(),
                crossterm::cursor::MoveToPreviousLine(lines),
                crossterm::terminal::Clear(crossterm::terminal::ClearType::FromCursorDown)
            );
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

    /// Draws the live table (on stderr): in place on a terminal, each line
    /// cut to its width so none wraps, else as it is.
    pub fn live(&self, table: &str) {
        let mut state = self.lock();
        self.erase_live(&mut state);
        let mut err = std::io::stderr().lock();
        if !self.live_in_place {
            let _ = write!(err, "{table}");
            let _ = err.flush();
            return;
        }
        if !state.cursor_hidden {
            let _ = crossterm::queue!(err, crossterm::cursor::Hide);
            state.cursor_hidden = true;
        }
        let width = crossterm::terminal::size().map_or(usize::MAX, |(columns, _)| usize::from(columns.max(1)));
        let mut lines = 0;
        for line in table.lines() {
            let cut: String = line.chars().take(width.saturating_sub(1).max(1)).collect();
            let _ = writeln!(err, "{cut}");
            lines += 1;
        }
        let _ = err.flush();
        state.live_lines = lines;
    }

    /// Removes the live table before the final output, and shows the cursor.
    pub fn clear_live(&self) {
        let mut state = self.lock();
        self.erase_live(&mut state);
        self.show_cursor(&mut state);
    }

    fn show_cursor(&self, state: &mut ConsoleState) {
        if state.cursor_hidden {
            let _ = crossterm::execute!(std::io::stderr(), crossterm::cursor::Show);
            state.cursor_hidden = false;
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let mut state = self.lock();
        self.show_cursor(&mut state);
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
    let mut cells = vec![header.map(str::to_owned)];
    cells.extend(lines);
    aligned(&cells, 3..9)
}

/// Cells as columns two spaces apart, those in `right` right-aligned, the
/// rest left-aligned; trailing spaces trimmed.
fn aligned<const N: usize>(cells: &[[String; N]], right: std::ops::Range<usize>) -> String {
    let mut widths = [0usize; N];
    for line in cells {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for line in cells {
        let mut text = String::new();
        for (i, (cell, width)) in line.iter().zip(widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            if right.contains(&i) {
                text.push_str(&format!("{cell:>width$}"));
            } else {
                text.push_str(&format!("{cell:<width$}"));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

/// The tool-usage table (Python Zen's "TOOL USAGE DETAILS"): per tool, its
/// uses, the tokens and estimated cost of the messages that used it, and
/// which instances used it. `None` when no tool was used.
pub fn render_tools(rows: &[Row]) -> Option<String> {
    let mut tools: BTreeMap<String, (ToolUse, Vec<String>)> = BTreeMap::new();
    for row in rows {
        for (name, usage) in row.accounting.tool_usage() {
            let (total, users) = tools.entry(name).or_default();
            total.uses += usage.uses;
            total.tokens += usage.tokens;
            total.cost += usage.cost;
            users.push(format!("{} ({})", row.name, usage.uses));
        }
    }
    if tools.is_empty() {
        return None;
    }
    let mut cells: Vec<[String; 5]> = vec![["TOOL", "USES", "TOKENS", "COST", "USED BY"].map(str::to_owned)];
    let mut sum = ToolUse::default();
    for (name, (usage, users)) in &tools {
        sum.uses += usage.uses;
        sum.tokens += usage.tokens;
        sum.cost += usage.cost;
        let mut used_by = users.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
        if users.len() > 3 {
            used_by.push_str(&format!(" +{} more", users.len() - 3));
        }
        cells.push([
            name.clone(),
            usage.uses.to_string(),
            usage.tokens.to_string(),
            tool_cost(usage.cost),
            used_by,
        ]);
    }
    cells.push([
        "TOTAL".to_owned(),
        sum.uses.to_string(),
        sum.tokens.to_string(),
        tool_cost(sum.cost),
        String::new(),
    ]);
    Some(aligned(&cells, 1..4))
}

fn tool_cost(cost: f64) -> String {
    if cost > 0.0 {
        format!("~${cost:.4}")
    } else {
        "-".to_owned()
    }
}

/// How often the table is redrawn in place.
pub const IN_PLACE_INTERVAL: Duration = Duration::from_millis(250);

/// Shows the live table until the returned handle is aborted: redrawn in
/// place about four times a second on a terminal, else printed every
/// `interval`. `None` when `interval` is zero (no live table).
pub fn spawn_live(
    board: Board,
    console: Arc<Console>,
    interval: Duration,
    budget: budget::Settings,
) -> Option<tokio::task::JoinHandle<()>> {
    if interval.is_zero() {
        return None;
    }
    let in_place = console.redraws_in_place();
    let interval = if in_place { IN_PLACE_INTERVAL } else { interval };
    Some(tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        if !in_place {
            // Periodic lines start one interval in, as the table of a short run would be noise.
            ticker.tick().await;
        }
        loop {
            ticker.tick().await;
            let rows = board.snapshot();
            let table = if in_place {
                render_live(&rows, &budget)
            } else {
                format!("zen: status\n{}", render_table(&rows))
            };
            console.live(&table);
        }
    }))
}

/// The in-place table: status, elapsed, tokens, cost and the last line of
/// each instance, then a bar per budget.
pub fn render_live(rows: &[Row], budget: &budget::Settings) -> String {
    let mut cells: Vec<[String; 6]> =
        vec![["INSTANCE", "STATUS", "ELAPSED", "TOKENS", "COST", "LAST OUTPUT"].map(str::to_owned)];
    for row in rows {
        cells.push([
            row.name.clone(),
            row.status.as_str().to_owned(),
            row.elapsed().map(format_duration).unwrap_or_else(|| "-".to_owned()),
            row.accounting.usage().total().to_string(),
            format_cost(row),
            row.last_line.clone().unwrap_or_default(),
        ]);
    }
    let done = rows.iter().filter(|r| r.status.is_final()).count();
    let mut out = format!("zen: {done}/{} done\n", rows.len());
    out.push_str(&aligned(&cells, 3..5));
    let mut tools: BTreeMap<String, u64> = BTreeMap::new();
    for row in rows {
        for (name, uses) in &row.accounting.tools {
            *tools.entry(name.clone()).or_default() += uses;
        }
    }
    if !tools.is_empty() {
        let list: Vec<String> = tools.iter().map(|(name, uses)| format!("{name} {uses}")).collect();
        out.push_str(&format!("tools: {}\n", list.join(", ")));
    }
    for (what, used, limit, is_cost) in budget_uses(rows, budget) {
        let fraction = if limit > 0.0 {
            (used / limit).clamp(0.0, 1.0)
        } else {
            1.0
        };
        let filled = (fraction * 20.0).round() as usize;
        let (used, limit) = if is_cost {
            (format!("${used:.4}"), format!("${limit:.2}"))
        } else {
            (format!("{}", used as u64), format!("{}", limit as u64))
        };
        out.push_str(&format!(
            "budget {what:<24} [{}{}] {:>3.0} %  {used} / {limit}\n",
            "#".repeat(filled),
            "-".repeat(20 - filled),
            fraction * 100.0
        ));
    }
    out
}

/// Every budget in force and what the rows used of it.
fn budget_uses(rows: &[Row], budget: &budget::Settings) -> Vec<(String, f64, f64, bool)> {
    let used = |command: Option<&str>| {
        rows.iter()
            .filter(|r| command.is_none() || r.command.as_deref() == command)
            .fold((0u64, 0.0f64), |(tokens, cost), r| {
                (tokens + r.accounting.usage().total(), cost + r.accounting.cost().0)
            })
    };
    let mut uses = Vec::new();
    if let Some(limit) = budget.overall_tokens {
        uses.push(("overall tokens".to_owned(), used(None).0 as f64, limit as f64, false));
    }
    if let Some(limit) = budget.overall_cost {
        uses.push(("overall cost".to_owned(), used(None).1, limit, true));
    }
    for (command, limit) in &budget.command_tokens {
        uses.push((
            format!("{command} tokens"),
            used(Some(command)).0 as f64,
            *limit as f64,
            false,
        ));
    }
    for (command, limit) in &budget.command_cost {
        uses.push((format!("{command} cost"), used(Some(command)).1, *limit, true));
    }
    uses
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
    fn the_tool_table_sums_tools_over_instances() {
        let mut rows = Vec::new();
        for name in ["a", "b"] {
            let mut row = Row::new(name.to_owned(), Some("/review".to_owned()));
            for line in include_str!("../tests/fixtures/session.jsonl").lines() {
                row.accounting.ingest_line(line);
            }
            rows.push(row);
        }
        rows.push(Row::new("plain".to_owned(), None));
        let table = render_tools(&rows).expect("tools were used");
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert!(lines[0].starts_with("TOOL   USES  TOKENS"), "{table}");
        assert!(lines[1].starts_with("Bash      2    5650  ~$"), "{table}");
        assert!(lines[1].ends_with("a (1), b (1)"), "{table}");
        assert!(lines[2].starts_with("Read      4   32650  ~$"), "{table}");
        assert!(lines[3].starts_with("TOTAL     6   38300  ~$"), "{table}");
        assert_eq!(render_tools(&rows[2..]), None);
        let live = render_live(&rows, &budget::Settings::default());
        assert!(live.contains("\ntools: Bash 2, Read 4\n"), "{live}");
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(format_duration(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(format_duration(Duration::from_secs(245)), "4m05s");
    }
}
