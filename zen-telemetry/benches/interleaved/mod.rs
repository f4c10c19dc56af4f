//! A/B comparisons that can resolve a few percent on a noisy 2-core
//! machine: the two sides run in alternating blocks, so a slow phase of the
//! machine (another process, frequency changes) hits both alike, and each
//! block is timed by the calling thread's CPU clock, so the export thread's
//! work on the other core is not counted against the call.

use std::time::Duration;

/// The calling thread's CPU time so far; `None` where the platform has no
/// per-thread clock we read (then only wall time is printed).
pub(crate) fn thread_cpu() -> Option<Duration> {
    #[cfg(unix)]
    {
        let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `clock_gettime` writes one `timespec` through the pointer,
        // which points at `now`, a live and exclusively borrowed local.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
        let secs = u64::try_from(now.tv_sec).ok()?;
        let nanos = u32::try_from(now.tv_nsec).ok()?;
        (rc == 0).then(|| Duration::new(secs, nanos))
    }
    #[cfg(not(unix))]
    None
}

/// One side of a comparison.
pub(crate) struct Side<'a> {
    pub(crate) name: &'static str,
    /// Puts the process in this side's state (zen on or off, its rate);
    /// outside the timed part.
    pub(crate) setup: &'a dyn Fn(),
    /// Makes `n` calls.
    pub(crate) run: &'a dyn Fn(u64),
    /// Drains what the calls queued; outside the timed part.
    pub(crate) drain: &'a dyn Fn(),
}

/// CPU ns per call of each side: the median over `rounds` alternating
/// blocks of `block` calls each (`NaN` without a thread clock).
pub(crate) fn compare(a: &Side<'_>, b: &Side<'_>, rounds: usize, block: u64) -> (f64, f64) {
    let mut per_call = [Vec::with_capacity(rounds), Vec::with_capacity(rounds)];
    for round in 0..rounds {
        // Which side goes first alternates too.
        let order = if round % 2 == 0 {
            [(0, a), (1, b)]
        } else {
            [(1, b), (0, a)]
        };
        for (index, side) in order {
            (side.setup)();
            let start = thread_cpu();
            (side.run)(block);
            let end = thread_cpu();
            (side.drain)();
            if let (Some(start), Some(end)) = (start, end) {
                per_call[index].push(end.saturating_sub(start).as_nanos() as f64 / block as f64);
            }
        }
    }
    let [a_times, b_times] = per_call;
    (median(a_times), median(b_times))
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
