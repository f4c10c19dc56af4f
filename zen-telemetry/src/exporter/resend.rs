//! Sending the spool back: the one resend path of the span and the metric
//! export threads. Spooled batches go before new data, a few per round so a
//! large spool cannot starve it, a second apart while any is left (half a
//! minute apart while the backend fails), over whichever transport the
//! destination has now.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::destination::Destination;
use super::spool::{Signal, Skipped};
use crate::{diag, stats};

/// Spooled batches sent in one round, so a large spool cannot starve new data.
const RESEND_BATCHES_PER_ROUND: usize = 4;
/// The least time between two resend rounds.
const RESEND_INTERVAL: Duration = Duration::from_secs(1);
/// The time between two resend rounds while the backend is failing.
const RESEND_RETRY_INTERVAL: Duration = Duration::from_secs(30);

/// One signal's resending to one destination.
#[derive(Debug)]
pub(crate) struct Resend {
    destination: Arc<Destination>,
    signal: Signal,
    last_round: Option<Instant>,
}

impl Resend {
    pub(crate) fn new(destination: Arc<Destination>, signal: Signal) -> Resend {
        Resend {
            destination,
            signal,
            last_round: None,
        }
    }

    /// Runs a round if one is due; returns how long until the next is due,
    /// `None` while nothing is known to wait.
    pub(crate) fn housekeeping(&mut self) -> Option<Duration> {
        if self.next_round() == Some(Duration::ZERO) {
            resend_round(&self.destination, self.signal);
            self.last_round = Some(Instant::now());
        }
        self.next_round()
    }

    fn next_round(&self) -> Option<Duration> {
        let destination = &self.destination;
        if !destination.resend_pending.load(Ordering::Relaxed) {
            return None;
        }
        let Some(last) = self.last_round else {
            return Some(Duration::ZERO);
        };
        let interval = if destination.failing.load(Ordering::Relaxed) {
            RESEND_RETRY_INTERVAL
        } else {
            RESEND_INTERVAL
        };
        Some(interval.saturating_sub(last.elapsed()))
    }
}

/// Sends spooled batches of `signal`; a round that starts as the program
/// exits is cut off at the exit deadline like any request. A batch is
/// removed only once the backend took it (or refused it as invalid); a
/// failure ends the round and hands the batch back.
fn resend_round(destination: &Destination, signal: Signal) {
    let Some(spool) = &destination.spool else { return };
    let mut skipped = Skipped::default();
    for _ in 0..RESEND_BATCHES_PER_ROUND {
        let Some(claimed) = spool.claim_next(signal, &mut skipped) else {
            destination.resend_pending.store(false, Ordering::Relaxed);
            break;
        };
        let items = claimed.batch.items;
        let payload = Bytes::from(claimed.batch.payload.clone());
        let deadline = Instant::now() + destination.timeout();
        let sent = destination
            .runtime
            .block_on(destination.send_before(signal, payload, deadline));
        let (spans, points) = signal.split(items);
        match sent {
            Ok(delivered) => {
                let _ = claimed.acknowledge();
                let (rejected_spans, rejected_points) = signal.split(delivered.rejected.min(items));
                stats::add_resent(spans - rejected_spans, points - rejected_points);
            }
            Err(refusal) if !refusal.retry => {
                let _ = claimed.acknowledge();
                stats::add_spool_dropped(spans, points);
                diag::debug_line(|| format!("spooled batch refused, removed: {}", refusal.message));
            }
            Err(refusal) => {
                let _ = claimed.release();
                destination.failing.store(true, Ordering::Relaxed);
                diag::debug_line(|| format!("resend failed: {}", refusal.message));
                break;
            }
        }
    }
    skipped.dropped.count();
    if let Some(first) = skipped.unreadable.first() {
        diag::stderr_line(&format!(
            "zen-telemetry: warning: removed {} unreadable spool file(s) in {} (first: {}: {})",
            skipped.unreadable.len(),
            spool.dir().display(),
            first.path.display(),
            first.reason
        ));
    }
}
