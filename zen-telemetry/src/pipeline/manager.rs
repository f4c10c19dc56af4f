//! The configuration in force, and whether telemetry is on.
//!
//! Loading the program only reads the environment (a `ctor` constructor in
//! the parent module, and again lazily should the linker have dropped it);
//! the files the environment points at are read when the pipeline starts.
//! Code may replace the configuration until then, but never undo the
//! user's opt-out (`ZEN_TELEMETRY_DISABLED`, `OTEL_SDK_DISABLED`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::config::{Config, DisabledBy, ExporterKind};
use crate::state::{self, Switch};
use crate::{diag, sampling, scrub};

static CONFIG: Mutex<Option<Config>> = Mutex::new(None);
/// Set, under the `CONFIG` lock, when the pipeline starts building: the
/// configuration can no longer change.
static STARTED: AtomicBool = AtomicBool::new(false);
/// The opt-out the environment gave, kept whatever code configures later.
static OPTED_OUT: OnceLock<Option<DisabledBy>> = OnceLock::new();

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
        let _ = OPTED_OUT.set(config.disabled_by.clone());
        sampling::set_process_parent(config.process_parent.clone());
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
    state::set_disabled(config.is_disabled());
    diag::set_debug(config.debug);
    state::set_error_messages(config.error_messages);
    state::set_mutable_spans(config.mutable_spans);
    state::set_metrics(config.metrics);
    sampling::set_rate(config.sample_rate);
    sampling::set_parent_based(config.sampler_parent_based);
    scrub::set_home(config.home_dir.as_deref());
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

/// Replaces the configuration before the pipeline starts. The user's
/// opt-out stays in force whatever `config` says.
pub(crate) fn configure(mut config: Config) -> Result<(), InitError> {
    is_on();
    let mut guard = lock_config();
    if STARTED.load(Ordering::SeqCst) {
        return Err(InitError::AlreadyStarted);
    }
    if let Some(Some(opt_out)) = OPTED_OUT.get() {
        config.disabled_by = Some(opt_out.clone());
    }
    apply(&config);
    *guard = Some(config);
    Ok(())
}

/// Marks the pipeline as starting and returns the configuration it starts
/// with, the files its variables name read. When only those files could
/// have named a destination and none did, recording stops.
pub(crate) fn start() -> Config {
    is_on();
    let mut guard = lock_config();
    STARTED.store(true, Ordering::SeqCst);
    let config = guard.get_or_insert_with(Config::default);
    let was_on = config.turns_on();
    for warning in config.read_files() {
        diag::stderr_line(&warning.to_string());
    }
    if was_on && !config.turns_on() {
        state::no_destination();
    }
    config.clone()
}

/// True once the pipeline has started building.
pub(crate) fn has_started() -> bool {
    STARTED.load(Ordering::SeqCst)
}

/// Turns recording on for the testing API's in-memory capture. An `auto`
/// exporter becomes `none`, so captured spans reach no real backend by
/// accident; while disabled, whatever exporter was chosen does, so nothing
/// leaves the process.
#[cfg(feature = "testing")]
pub(crate) fn record_in_memory() {
    is_on();
    let mut guard = lock_config();
    let config = guard.get_or_insert_with(Config::default);
    if !STARTED.load(Ordering::SeqCst) && (config.exporter == ExporterKind::Auto || config.is_disabled()) {
        config.exporter = ExporterKind::None;
    }
    let local = config.exporter == ExporterKind::None;
    drop(guard);
    if local {
        state::force_on_in_memory();
    } else {
        state::force_on();
    }
}

/// Turns recording on or off regardless of the destination (testing API,
/// benchmarks); `None` goes back to what the configuration says. Never on
/// while disabled: an opt-out is final.
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
