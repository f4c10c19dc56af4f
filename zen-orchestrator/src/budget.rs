//! Token and USD budgets: overall and per slash command, `warn` or `block`.
//!
//! `block` refuses a launch whose estimate exceeds what is left and terminates
//! an instance that overruns; `warn` only prints (once per budget).
//!
//! An instance's estimate is its `max_tokens_per_command` when set, else the
//! mean of the finished instances of the same command (or of all finished
//! instances), else zero: the first launch is refused only when the budget is
//! already spent.

use std::collections::{BTreeMap, BTreeSet};

/// What happens when a budget is exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Print a warning and go on.
    #[default]
    Warn,
    /// Refuse launches and terminate instances that overrun.
    Block,
}

impl Mode {
    /// `warn` or `block`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Warn => "warn",
            Mode::Block => "block",
        }
    }
}

/// Which kinds of budget are enforced (`--budget-parameter-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kinds {
    /// Token budgets only.
    Tokens,
    /// USD budgets only.
    Cost,
    /// Both.
    Mixed,
}

impl Kinds {
    /// `tokens`, `cost` or `mixed` (the config file's `budget_type`).
    pub fn parse(word: &str) -> Option<Kinds> {
        match word {
            "tokens" => Some(Kinds::Tokens),
            "cost" => Some(Kinds::Cost),
            "mixed" => Some(Kinds::Mixed),
            _ => None,
        }
    }

    fn tokens(self) -> bool {
        self != Kinds::Cost
    }

    fn cost(self) -> bool {
        self != Kinds::Tokens
    }
}

/// The budgets in force.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `warn` or `block`.
    pub mode: Mode,
    /// Overall token budget.
    pub overall_tokens: Option<u64>,
    /// Overall USD budget.
    pub overall_cost: Option<f64>,
    /// Token budget per slash command.
    pub command_tokens: BTreeMap<String, u64>,
    /// USD budget per slash command.
    pub command_cost: BTreeMap<String, f64>,
    /// Warn once when a budget reaches this fraction of its limit (e.g.
    /// `0.8`), whatever the mode; `None`: no early warning.
    pub warn_fraction: Option<f64>,
    /// The kinds enforced; a budget of another kind is shown but not applied.
    pub kinds: Kinds,
}

/// The default of `--budget-warning-at`: a warning at 80 % of a budget.
pub const DEFAULT_WARN_FRACTION: f64 = 0.8;

impl Default for Settings {
    /// No budget; the early warning at its default.
    fn default() -> Settings {
        Settings {
            mode: Mode::default(),
            overall_tokens: None,
            overall_cost: None,
            command_tokens: BTreeMap::new(),
            command_cost: BTreeMap::new(),
            warn_fraction: Some(DEFAULT_WARN_FRACTION),
            kinds: Kinds::Mixed,
        }
    }
}

impl Settings {
    /// True when any budget is set.
    pub fn any(&self) -> bool {
        self.overall_tokens.is_some()
            || self.overall_cost.is_some()
            || !self.command_tokens.is_empty()
            || !self.command_cost.is_empty()
    }
}

/// What the budget says about a launch or a usage update.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Within budget.
    Allow,
    /// Over budget in `warn` mode (the message is printed once per budget).
    Warn(String),
    /// Over budget in `block` mode.
    Block(String),
}

impl Decision {
    /// `allow`, `warn` or `block`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Warn(_) => "warn",
            Decision::Block(_) => "block",
        }
    }
}

/// What the tracker needs to know about an instance.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    /// Instance name.
    pub name: String,
    /// Slash command, if any.
    pub command: Option<String>,
    /// `max_tokens_per_command`.
    pub token_limit: Option<u64>,
}

#[derive(Debug, Clone, Default)]
struct Entry {
    command: Option<String>,
    tokens: u64,
    cost: f64,
    finished: bool,
}

/// Usage so far, per instance, checked against the budgets.
#[derive(Debug, Default)]
pub struct Tracker {
    settings: Settings,
    entries: BTreeMap<usize, Entry>,
    warned: BTreeSet<String>,
    /// Every warning printed, for the report.
    pub warnings: Vec<String>,
}

struct Limit {
    key: String,
    what: String,
    limit: f64,
    used: f64,
    estimate: f64,
    is_cost: bool,
}

impl Tracker {
    /// A tracker for `settings`.
    pub fn new(settings: Settings) -> Tracker {
        Tracker {
            settings,
            ..Tracker::default()
        }
    }

    /// Tokens and USD used by every instance so far.
    pub fn used(&self) -> (u64, f64) {
        self.entries
            .values()
            .fold((0, 0.0), |(t, c), e| (t.saturating_add(e.tokens), c + e.cost))
    }

    fn used_by(&self, command: Option<&str>) -> (u64, f64) {
        self.entries
            .values()
            .filter(|e| command.is_none() || e.command.as_deref() == command)
            .fold((0, 0.0), |(t, c), e| (t.saturating_add(e.tokens), c + e.cost))
    }

    fn estimate(&self, subject: &Subject) -> (u64, f64) {
        let mean = |filter: &dyn Fn(&Entry) -> bool| {
            let done: Vec<&Entry> = self.entries.values().filter(|e| e.finished && filter(e)).collect();
            if done.is_empty() {
                return None;
            }
            let n = done.len() as u64;
            let tokens = done.iter().map(|e| e.tokens).sum::<u64>() / n;
            let cost = done.iter().map(|e| e.cost).sum::<f64>() / n as f64;
            Some((tokens, cost))
        };
        let (mean_tokens, mean_cost) = mean(&|e| subject.command.is_some() && e.command == subject.command)
            .or_else(|| mean(&|_| true))
            .unwrap_or((0, 0.0));
        (subject.token_limit.unwrap_or(mean_tokens), mean_cost)
    }

    fn limits(&self, subject: &Subject, estimate: (u64, f64)) -> Vec<Limit> {
        let mut limits = Vec::new();
        let (tokens, cost) = self.used();
        let kinds = self.settings.kinds;
        if let Some(limit) = self.settings.overall_tokens.filter(|_| kinds.tokens()) {
            limits.push(Limit {
                key: "overall_tokens".to_owned(),
                what: "overall token budget".to_owned(),
                limit: limit as f64,
                used: tokens as f64,
                estimate: estimate.0 as f64,
                is_cost: false,
            });
        }
        if let Some(limit) = self.settings.overall_cost.filter(|_| kinds.cost()) {
            limits.push(Limit {
                key: "overall_cost".to_owned(),
                what: "overall cost budget".to_owned(),
                limit,
                used: cost,
                estimate: estimate.1,
                is_cost: true,
            });
        }
        if let Some(command) = &subject.command {
            let (tokens, cost) = self.used_by(Some(command));
            if let Some(limit) = self.settings.command_tokens.get(command).filter(|_| kinds.tokens()) {
                limits.push(Limit {
                    key: format!("command_tokens:{command}"),
                    what: format!("token budget of {command}"),
                    limit: *limit as f64,
                    used: tokens as f64,
                    estimate: estimate.0 as f64,
                    is_cost: false,
                });
            }
            if let Some(limit) = self.settings.command_cost.get(command).filter(|_| kinds.cost()) {
                limits.push(Limit {
                    key: format!("command_cost:{command}"),
                    what: format!("cost budget of {command}"),
                    limit: *limit,
                    used: cost,
                    estimate: estimate.1,
                    is_cost: true,
                });
            }
        }
        limits
    }

    fn decide(&mut self, name: &str, key: String, message: String) -> Decision {
        match self.settings.mode {
            Mode::Block => {
                self.warnings.push(format!("{name}: {message}"));
                Decision::Block(message)
            }
            Mode::Warn => {
                if self.warned.insert(key) {
                    self.warnings.push(format!("{name}: {message}"));
                    Decision::Warn(message)
                } else {
                    Decision::Allow
                }
            }
        }
    }

    /// Whether instance `index` may start.
    #[zen_telemetry::traced("zen.budget.check", attrs(zen.instance.name = subject.name.as_str()))]
    pub fn check_launch(&mut self, index: usize, subject: &Subject) -> Decision {
        self.entries.insert(
            index,
            Entry {
                command: subject.command.clone(),
                ..Entry::default()
            },
        );
        let estimate = self.estimate(subject);
        let mut decision = Decision::Allow;
        for limit in self.limits(subject, estimate) {
            let remaining = limit.limit - limit.used;
            if remaining <= 0.0 || limit.estimate > remaining {
                let message = format!(
                    "{} would be exceeded (used {}, estimate {}, budget {})",
                    limit.what,
                    amount(limit.used, limit.is_cost),
                    amount(limit.estimate, limit.is_cost),
                    amount(limit.limit, limit.is_cost),
                );
                decision = self.decide(&subject.name, format!("launch:{}:{}", limit.key, subject.name), message);
                if decision != Decision::Allow {
                    break;
                }
            }
        }
        if matches!(decision, Decision::Block(_)) {
            self.entries.remove(&index);
        }
        zen_telemetry::span_attributes!(zen.budget.decision = decision.as_str());
        decision
    }

    /// The early warning for `limit`, once, when its use has reached the
    /// warning fraction but not the limit.
    fn early_warning(
        &mut self,
        name: &str,
        key: &str,
        what: &str,
        used: f64,
        limit: f64,
        is_cost: bool,
    ) -> Option<Decision> {
        let fraction = self.settings.warn_fraction?;
        if limit <= 0.0 || used > limit || used < fraction * limit || !self.warned.insert(format!("near:{key}")) {
            return None;
        }
        let message = format!(
            "{what} at {:.0} % (used {}, budget {})",
            used / limit * 100.0,
            amount(used, is_cost),
            amount(limit, is_cost)
        );
        self.warnings.push(format!("{name}: {message}"));
        Some(Decision::Warn(message))
    }

    /// Records instance `index`'s usage so far and checks every budget it counts against.
    pub fn record(&mut self, index: usize, subject: &Subject, tokens: u64, cost: f64) -> Decision {
        let entry = self.entries.entry(index).or_insert_with(|| Entry {
            command: subject.command.clone(),
            ..Entry::default()
        });
        entry.tokens = tokens;
        entry.cost = cost;
        if let Some(limit) = subject.token_limit.filter(|_| self.settings.kinds.tokens())
            && tokens > limit
        {
            let message = format!("max_tokens_per_command exceeded (used {tokens}, budget {limit})");
            let decision = self.decide(&subject.name, format!("instance:{}", subject.name), message);
            if decision != Decision::Allow {
                return decision;
            }
        }
        let mut early = None;
        if let Some(limit) = subject.token_limit.filter(|_| self.settings.kinds.tokens()) {
            let key = format!("instance:{}", subject.name);
            early = self.early_warning(
                &subject.name,
                &key,
                "max_tokens_per_command",
                tokens as f64,
                limit as f64,
                false,
            );
        }
        for limit in self.limits(subject, (0, 0.0)) {
            if early.is_none() {
                early = self.early_warning(
                    &subject.name,
                    &limit.key,
                    &limit.what,
                    limit.used,
                    limit.limit,
                    limit.is_cost,
                );
            }
            if limit.used > limit.limit {
                let message = format!(
                    "{} exceeded (used {}, budget {})",
                    limit.what,
                    amount(limit.used, limit.is_cost),
                    amount(limit.limit, limit.is_cost)
                );
                let decision = self.decide(&subject.name, limit.key, message);
                if decision != Decision::Allow {
                    return decision;
                }
            }
        }
        early.unwrap_or(Decision::Allow)
    }

    /// Marks instance `index` finished, so its usage feeds later estimates.
    pub fn finish(&mut self, index: usize) {
        if let Some(entry) = self.entries.get_mut(&index) {
            entry.finished = true;
        }
    }
}

fn amount(value: f64, is_cost: bool) -> String {
    if is_cost {
        format!("${value:.4}")
    } else {
        format!("{} tokens", value.round() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(name: &str, command: Option<&str>) -> Subject {
        Subject {
            name: name.to_owned(),
            command: command.map(str::to_owned),
            token_limit: None,
        }
    }

    #[test]
    fn block_refuses_a_launch_whose_estimate_exceeds_what_is_left() {
        let mut tracker = Tracker::new(Settings {
            mode: Mode::Block,
            overall_tokens: Some(1000),
            ..Settings::default()
        });
        let a = subject("a", Some("/x"));
        assert_eq!(tracker.check_launch(0, &a), Decision::Allow);
        assert_eq!(tracker.record(0, &a, 600, 0.0), Decision::Allow);
        tracker.finish(0);
        let b = subject("b", Some("/x"));
        assert!(matches!(tracker.check_launch(1, &b), Decision::Block(m) if m.contains("overall token budget")));
    }

    #[test]
    fn block_stops_an_overrunning_instance_and_warn_warns_once() {
        let settings = Settings {
            overall_cost: Some(0.5),
            ..Settings::default()
        };
        let mut warn = Tracker::new(settings.clone());
        let a = subject("a", None);
        assert!(matches!(warn.record(0, &a, 10, 0.6), Decision::Warn(_)));
        assert_eq!(warn.record(0, &a, 20, 0.7), Decision::Allow);
        assert_eq!(warn.warnings.len(), 1);

        let mut block = Tracker::new(Settings {
            mode: Mode::Block,
            ..settings
        });
        assert!(matches!(block.record(0, &a, 10, 0.6), Decision::Block(_)));
    }

    #[test]
    fn command_budgets_count_only_their_command() {
        let mut tracker = Tracker::new(Settings {
            mode: Mode::Block,
            command_tokens: BTreeMap::from([("/review".to_owned(), 100)]),
            ..Settings::default()
        });
        let other = subject("o", Some("/other"));
        assert_eq!(tracker.record(0, &other, 500, 0.0), Decision::Allow);
        let review = subject("r", Some("/review"));
        assert_eq!(tracker.record(1, &review, 50, 0.0), Decision::Allow);
        assert!(matches!(tracker.record(1, &review, 150, 0.0), Decision::Block(_)));
    }

    #[test]
    fn a_budget_warns_once_at_its_warning_fraction_then_blocks_at_its_limit() {
        let mut tracker = Tracker::new(Settings {
            mode: Mode::Block,
            overall_tokens: Some(1000),
            overall_cost: Some(1.0),
            warn_fraction: Some(DEFAULT_WARN_FRACTION),
            ..Settings::default()
        });
        let a = subject("a", None);
        assert_eq!(tracker.record(0, &a, 700, 0.1), Decision::Allow, "70 % of the tokens");
        let Decision::Warn(tokens) = tracker.record(0, &a, 800, 0.1) else {
            panic!("no warning at 80 % of the tokens")
        };
        assert_eq!(
            tokens,
            "overall token budget at 80 % (used 800 tokens, budget 1000 tokens)"
        );
        assert_eq!(tracker.record(0, &a, 850, 0.1), Decision::Allow, "warned once");
        let Decision::Warn(cost) = tracker.record(0, &a, 850, 0.9) else {
            panic!("no warning at 90 % of the cost")
        };
        assert_eq!(cost, "overall cost budget at 90 % (used $0.9000, budget $1.0000)");
        assert!(
            matches!(tracker.record(0, &a, 1001, 0.9), Decision::Block(m) if m.contains("overall token budget exceeded"))
        );
        assert!(
            matches!(tracker.record(0, &a, 900, 1.2), Decision::Block(m) if m.contains("overall cost budget exceeded"))
        );
        assert_eq!(tracker.warnings.len(), 4, "{:?}", tracker.warnings);
    }

    #[test]
    fn the_parameter_type_picks_the_kinds_enforced() {
        let settings = |kinds| Settings {
            mode: Mode::Block,
            overall_tokens: Some(100),
            overall_cost: Some(1.0),
            kinds,
            ..Settings::default()
        };
        let a = subject("a", None);
        let over_tokens = |kinds| Tracker::new(settings(kinds)).record(0, &a, 200, 0.1);
        let over_cost = |kinds| Tracker::new(settings(kinds)).record(0, &a, 10, 2.0);
        assert!(matches!(over_tokens(Kinds::Tokens), Decision::Block(_)));
        assert_eq!(over_cost(Kinds::Tokens), Decision::Allow);
        assert_eq!(over_tokens(Kinds::Cost), Decision::Allow);
        assert!(matches!(over_cost(Kinds::Cost), Decision::Block(_)));
        assert!(matches!(over_tokens(Kinds::Mixed), Decision::Block(_)));
        assert!(matches!(over_cost(Kinds::Mixed), Decision::Block(_)));
    }

    #[test]
    fn per_instance_limit() {
        let mut tracker = Tracker::new(Settings {
            mode: Mode::Block,
            ..Settings::default()
        });
        let a = Subject {
            token_limit: Some(10),
            ..subject("a", None)
        };
        assert!(matches!(tracker.record(0, &a, 11, 0.0), Decision::Block(m) if m.contains("max_tokens_per_command")));
    }
}
