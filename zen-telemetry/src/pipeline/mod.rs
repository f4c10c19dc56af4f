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
pub(crate) use manager::record_in_memory;
pub(crate) use manager::{config, configure, force_state, is_on};

use crate::{diag, stats};

static PIPELINE: OnceLock<Pipeline> = OnceLock::new();

#[ctor::ctor]
// SAFETY: runs before `main`, where std is usable but other constructors may
// not have run. It reads environment variables (`std::env::var_os`), parses
// them into the configuration, stores it in a mutex and atomics, and writes
// one stderr line per invalid value (`write(2)` on fd 2). It opens no file,
// makes no thread, socket or directory, touches no static of another crate
// that needs a constructor, and cannot unwind across the FFI boundary: every
// parse failure is a warning, not a panic.
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
    // Runs inside `exit`, after `main` returned: it stops recording, hands
    // the export threads their deadline, and waits for them at most the
    // shutdown timeout; they may still send and spool within it. A panic in
    // it would abort (an `extern "C"` function does not unwind), which is why
    // `shutdown` reports failures instead of panicking.
    extern "C" fn flush_at_exit() {
        shutdown();
    }
    // SAFETY: `atexit` only stores the pointer of a plain `extern "C"`
    // function with no captured state, which lives as long as the program.
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
    if totals.spans_dropped > 0 || totals.spans_failed > 0 || totals.spans_spooled > 0 || unsent(&totals) != Some(0) {
        diag::debug_line(|| loss_summary(&totals));
    }
}

/// Recorded spans neither exported, dropped, failed nor spooled: still
/// queued or in flight when the shutdown timeout ran out. `None` if the
/// counters disagree (more accounted for than recorded), which is a bug.
fn unsent(totals: &stats::Stats) -> Option<u64> {
    let accounted = totals.spans_exported + totals.spans_dropped + totals.spans_failed + totals.spans_spooled;
    totals.spans_recorded.checked_sub(accounted)
}

/// One line saying where the recorded spans went, for when some were not
/// delivered.
fn loss_summary(totals: &stats::Stats) -> String {
    let mut line = format!(
        "{} spans recorded, {} exported, {} dropped (queue full), {} failed, {} spooled",
        totals.spans_recorded, totals.spans_exported, totals.spans_dropped, totals.spans_failed, totals.spans_spooled
    );
    match unsent(totals) {
        Some(0) => {}
        Some(unsent) => line.push_str(&format!(", {unsent} not sent by the shutdown timeout")),
        None => line.push_str(", more accounted for than recorded (a counting bug: please report it)"),
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
