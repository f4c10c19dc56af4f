//! The telemetry manager: the configuration in force, the pipeline built at
//! the first recorded span, and the flush at exit.
//!
//! - [`manager`]: the configuration and the on/off decision;
//! - [`build`]: the exporter's processor, the provider and the fan-out;
//! - this module: the one pipeline of the process, start-up and shutdown.

mod build;
mod manager;

use std::sync::OnceLock;
use std::time::Instant;

pub(crate) use build::{Pipeline, override_processor};
// The hooks the testing API plugs into; the pipeline itself has no testing code.
#[cfg(feature = "testing")]
pub(crate) use build::set_observer;
pub use manager::InitError;
#[cfg(feature = "testing")]
pub(crate) use manager::keep_auto_local;
pub(crate) use manager::{config, configure, force_state, is_on};

use crate::{diag, stats};

static PIPELINE: OnceLock<Pipeline> = OnceLock::new();

#[ctor::ctor]
// SAFETY: runs before `main`; it only reads the environment and stores the
// configuration in a mutex and atomics. It touches no other static with a
// constructor, spawns nothing and cannot panic across the FFI boundary: every
// failure is a warning.
unsafe fn load_at_start() {
    manager::is_on();
}

/// The pipeline, built on first use.
pub(crate) fn pipeline() -> &'static Pipeline {
    PIPELINE.get_or_init(|| {
        crate::clock::enable_if_trusted();
        let pipeline = build::build(&manager::start());
        register_exit_flush();
        pipeline
    })
}

fn register_exit_flush() {
    extern "C" fn flush_at_exit() {
        shutdown();
    }
    // SAFETY: registers a plain `extern "C"` function with no captured state.
    unsafe {
        libc::atexit(flush_at_exit);
    }
}

/// Stops recording and flushes what was recorded, within the shutdown timeout.
pub(crate) fn shutdown() {
    if !crate::state::shut_down() {
        return;
    }
    if let Some(pipeline) = PIPELINE.get() {
        let (timeout, spool_budget) = manager::shutdown_timeout();
        let deadline = Instant::now() + timeout;
        // Requests give up at the spool budget, so what they could not
        // deliver is spooled before the timeout; without a spool, at the timeout.
        crate::exporter::begin_exit(Instant::now() + spool_budget.unwrap_or(timeout).min(timeout));
        // The last metric export runs on its own thread beside the span flush.
        let metrics_done = pipeline
            .metric_export
            .as_ref()
            .map(|export| export.begin_shutdown(deadline));
        if let Err(error) = pipeline.provider.shutdown_with_timeout(timeout) {
            diag::debug_line(|| format!("shutdown: {error}"));
        }
        if let Some(done) = metrics_done
            && !done.wait(deadline)
        {
            diag::debug_line(|| "shutdown: the last metric export did not finish in time".to_owned());
        }
    }
    let totals = stats::stats();
    if totals.spans_dropped > 0 || totals.spans_failed > 0 {
        diag::debug_line(|| loss_summary(&totals));
    }
}

/// One line saying where the recorded spans went, for when some were lost.
fn loss_summary(totals: &stats::Stats) -> String {
    let mut line = format!(
        "{} spans recorded, {} exported, {} dropped (queue full), {} failed",
        totals.spans_recorded, totals.spans_exported, totals.spans_dropped, totals.spans_failed
    );
    // Spans still queued or in flight when the shutdown timeout ran out.
    let unsent = totals
        .spans_recorded
        .saturating_sub(totals.spans_exported + totals.spans_dropped + totals.spans_failed);
    if unsent > 0 {
        line.push_str(&format!(", {unsent} not sent by the shutdown timeout"));
    }
    line
}

/// Starts the pipeline now, when telemetry is on.
pub(crate) fn init() {
    if is_on() {
        pipeline();
    }
}

/// Replaces the configuration, then starts the pipeline when telemetry is on.
pub(crate) fn init_with(config: crate::config::Config) -> Result<(), InitError> {
    configure(config)?;
    init();
    Ok(())
}
