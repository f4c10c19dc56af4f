//! The configuration in force, and whether telemetry is on.
//!
//! Loading the program only reads the environment (a `ctor` constructor in
//! the parent module, and again lazily should the linker have dropped it).
//! Code may replace the configuration until the pipeline starts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::config::{Config, ExporterKind};
use crate::state::{self, Switch};
use crate::{diag, sampling};

static CONFIG: Mutex<Option<Config>> = Mutex::new(None);
/// Set, under the `CONFIG` lock, when the pipeline starts building: the
/// configuration can no longer change.
static STARTED: AtomicBool = AtomicBool::new(false);

/// Why [`init_with`](crate::init_with) refused a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InitError {
    /// A span was already recorded with the previous configuration.
    AlreadyStarted,
}

impl std::fmt::Display for InitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InitError::AlreadyStarted => {
                f.write_str("telemetry already started; configure it before the first traced call")
            }
        }
    }
}

impl std::error::Error for InitError {}

/// True when traced calls should start spans. Loads the configuration the
/// first time.
#[inline(always)]
pub(crate) fn is_on() -> bool {
    match state::switch() {
        Switch::On => true,
        Switch::Off => false,
        Switch::Unknown => load_from_env(),
    }
}

#[cold]
fn load_from_env() -> bool {
    let mut guard = lock_config();
    if guard.is_none() {
        let (config, warnings) = Config::from_env();
        for warning in &warnings {
            diag::stderr_line(&warning.to_string());
        }
        apply(&config);
        *guard = Some(config);
    }
    state::switch() == Switch::On
}

fn lock_config() -> MutexGuard<'static, Option<Config>> {
    CONFIG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn apply(config: &Config) {
    diag::set_debug(config.debug);
    state::set_error_messages(config.error_messages);
    state::set_metrics(config.metrics);
    sampling::set_rate(config.sample_rate);
    state::set_on(config.turns_on());
    diag::debug_line(|| {
        format!(
            "{} (sample rate {}, service {} {}, exporter {} -> {}{})",
            match &config.disabled_by {
                Some(by) => format!("disabled by {by}"),
                None => "enabled".to_owned(),
            },
            config.sample_rate,
            config.service_name,
            config.service_version,
            config.exporter,
            config.resolved_exporter(),
            if config.resolved_exporter() == ExporterKind::File {
                format!(" {}", config.file_path.display())
            } else {
                String::new()
            }
        )
    });
}

/// The configuration in force.
pub(crate) fn config() -> Config {
    is_on();
    lock_config().clone().unwrap_or_default()
}

/// Replaces the configuration before the pipeline starts.
pub(crate) fn configure(config: Config) -> Result<(), InitError> {
    let mut guard = lock_config();
    if STARTED.load(Ordering::SeqCst) {
        return Err(InitError::AlreadyStarted);
    }
    apply(&config);
    *guard = Some(config);
    Ok(())
}

/// Marks the pipeline as starting and returns the configuration it starts with.
pub(crate) fn start() -> Config {
    is_on();
    let guard = lock_config();
    STARTED.store(true, Ordering::SeqCst);
    guard.clone().unwrap_or_default()
}

/// True once the pipeline has started building.
pub(crate) fn has_started() -> bool {
    STARTED.load(Ordering::SeqCst)
}

/// Keeps an `auto` exporter from sending captured spans anywhere: tests
/// capture in memory and must not reach a real backend by accident.
#[cfg(feature = "testing")]
pub(crate) fn keep_auto_local() {
    is_on();
    let mut guard = lock_config();
    if STARTED.load(Ordering::SeqCst) {
        return;
    }
    if let Some(config) = guard.as_mut()
        && config.exporter == ExporterKind::Auto
    {
        config.exporter = ExporterKind::None;
    }
}

/// Turns recording on or off regardless of configuration (testing API,
/// benchmarks); `None` goes back to what the configuration says.
pub(crate) fn force_state(on: Option<bool>) {
    match on {
        Some(true) => state::force_on(),
        Some(false) => state::set_on(false),
        None => apply(&config()),
    }
}

/// The most that flushing at exit may add to the program's exit, and how
/// long requests may try before their batches are spooled (`None`: no spool).
pub(crate) fn shutdown_timeout() -> (std::time::Duration, Option<std::time::Duration>) {
    let guard = lock_config();
    let Some(config) = guard.as_ref() else {
        return Default::default();
    };
    let spool_budget = config.spool.active_root().map(|_| config.spool.exit_budget);
    (config.shutdown_timeout, spool_budget)
}
