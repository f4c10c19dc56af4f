//! Span timestamps.
//!
//! A recorded span reads the clock twice, and `clock_gettime` (about 22 ns
//! through the vDSO on our machines) was a tenth of a span's cost. Where the
//! kernel itself keeps time with the TSC (its clocksource is `tsc`, so the
//! counter is invariant and in step across CPUs), a span reads the counter
//! instead (about 9 ns) and converts it with an anchor: a (wall time, counter)
//! pair and the counter's rate.
//!
//! Crates that do this (`fastant`, `quanta`) calibrate for 10 ms or more when
//! the program starts, which the start-up budget forbids. Here the rate is
//! measured against the wall clock while spans are recorded: until the first
//! anchor is 50 ms old `now` reads the wall clock, and after that one call a
//! second re-anchors and re-measures the rate. Wall-clock adjustments (NTP)
//! and rate error therefore never build up beyond one second's worth.

use std::time::SystemTime;

/// The time a span starts or ends.
#[inline]
pub(crate) fn now() -> SystemTime {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        tsc::now()
    }
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    {
        SystemTime::now()
    }
}

/// Nanoseconds since the Unix epoch, as OTLP and our JSON lines write
/// times: 0 before the epoch, saturated past `u64`.
pub(crate) fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
}

/// A reading for timing a call, taken once at each end and shared by the
/// call's metrics and (when sampled) its span: the TSC once its rate is
/// known, else monotonic nanoseconds since the first reading (the top bit
/// tells which; the TSC reaches it after a century).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stamp(u64);

const MONOTONIC: u64 = 1 << 63;

/// Reads the clock at the start of a call.
#[inline]
pub(crate) fn stamp() -> Stamp {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    if let Some(ticks) = tsc::calibrated_ticks() {
        return Stamp(ticks);
    }
    monotonic_stamp()
}

/// Reads the clock at the end of a call started at `start`, the same way.
#[inline]
pub(crate) fn stamp_after(start: Stamp) -> Stamp {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    if start.0 & MONOTONIC == 0 {
        return Stamp(tsc::ticks());
    }
    let _ = start;
    monotonic_stamp()
}

/// Nanoseconds from `start` to `end` (0 if `end` is not after it).
#[inline]
pub(crate) fn nanos_between(start: Stamp, end: Stamp) -> u64 {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    if start.0 & MONOTONIC == 0 {
        return tsc::nanos(end.0.saturating_sub(start.0));
    }
    end.0.saturating_sub(start.0)
}

/// The wall-clock time of a reading just taken.
#[inline]
pub(crate) fn time_of(stamp: Stamp) -> SystemTime {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    if stamp.0 & MONOTONIC == 0 {
        return tsc::time_at(stamp.0);
    }
    let _ = stamp;
    SystemTime::now()
}

// Out of line: it is the path for the first 50 ms, or where the kernel does
// not trust the counter.
#[inline(never)]
fn monotonic_stamp() -> Stamp {
    static FIRST: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    tsc::keep_calibrating();
    let first = *FIRST.get_or_init(std::time::Instant::now);
    let nanos = u64::try_from(first.elapsed().as_nanos()).unwrap_or(u64::MAX >> 1);
    Stamp(MONOTONIC | nanos)
}

/// Uses the TSC when the kernel's clocksource is the TSC. Called when the
/// pipeline starts; reads one sysfs file.
pub(crate) fn enable_if_trusted() {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        const CLOCKSOURCE: &str = "/sys/devices/system/clocksource/clocksource0/current_clocksource";
        if std::fs::read_to_string(CLOCKSOURCE).is_ok_and(|source| source.trim() == "tsc") {
            tsc::enable();
        }
    }
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod tsc {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    /// The first rate is measured over at least this long.
    const CALIBRATE_AFTER_NS: u64 = 50_000_000;
    /// An anchor is used for at most this long before it is renewed.
    const REANCHOR_AFTER_NS: u64 = 1_000_000_000;
    /// A wall-clock read that took longer than this many ticks (1–2 µs; a
    /// read takes about 70) was interrupted, so it does not pin the counter.
    const MAX_READ_TICKS: u64 = 5_000;

    static ENABLED: AtomicBool = AtomicBool::new(false);
    /// Seqlock over the anchor below: odd while it is being written.
    static SEQ: AtomicU64 = AtomicU64::new(0);
    static ANCHOR_WALL_NS: AtomicU64 = AtomicU64::new(0);
    static ANCHOR_TICKS: AtomicU64 = AtomicU64::new(0);
    /// Nanoseconds per tick in 32.32 fixed point; 0 until measured.
    static NS_PER_TICK_Q32: AtomicU64 = AtomicU64::new(0);

    pub(super) fn enable() {
        ENABLED.store(true, Ordering::Relaxed);
    }

    /// Nanoseconds per tick, as last measured; kept when a re-measurement
    /// is discarded, so a call that started on the counter can still be timed.
    static LAST_RATE_Q32: AtomicU64 = AtomicU64::new(0);

    /// The counter, once its rate is known.
    #[inline]
    pub(super) fn calibrated_ticks() -> Option<u64> {
        (LAST_RATE_Q32.load(Ordering::Relaxed) != 0).then(ticks)
    }

    /// Ticks to nanoseconds at the last measured rate.
    #[inline]
    pub(super) fn nanos(ticks: u64) -> u64 {
        let rate = LAST_RATE_Q32.load(Ordering::Relaxed);
        u64::try_from((u128::from(ticks) * u128::from(rate)) >> 32).unwrap_or(u64::MAX)
    }

    /// Drives the first calibration when only metrics read the clock (no
    /// span calls `now`): the anchor, then the rate once it is 50 ms old.
    pub(super) fn keep_calibrating() {
        if ENABLED.load(Ordering::Relaxed) {
            now();
        }
    }

    #[inline]
    pub(super) fn ticks() -> u64 {
        // SAFETY: `rdtsc` exists on every x86_64 CPU and has no preconditions.
        unsafe { core::arch::x86_64::_rdtsc() }
    }

    #[inline]
    pub(super) fn now() -> SystemTime {
        if !ENABLED.load(Ordering::Relaxed) {
            return SystemTime::now();
        }
        time_at(ticks())
    }

    /// The wall-clock time of a counter reading just taken.
    #[inline]
    pub(super) fn time_at(read_ticks: u64) -> SystemTime {
        let seq = SEQ.load(Ordering::Acquire);
        let wall_ns = ANCHOR_WALL_NS.load(Ordering::Relaxed);
        let anchor_ticks = ANCHOR_TICKS.load(Ordering::Relaxed);
        let rate = NS_PER_TICK_Q32.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        if seq & 1 == 1 || SEQ.load(Ordering::Relaxed) != seq || rate == 0 {
            return wall_clock();
        }
        // A counter read before the anchor (another thread just renewed it)
        // wraps to a huge value and falls back to the wall clock too.
        let elapsed = read_ticks.wrapping_sub(anchor_ticks);
        let elapsed_ns = (u128::from(elapsed) * u128::from(rate)) >> 32;
        if elapsed_ns >= u128::from(REANCHOR_AFTER_NS) {
            return wall_clock();
        }
        UNIX_EPOCH + Duration::from_nanos(wall_ns + elapsed_ns as u64)
    }

    /// Reads the wall clock, and renews the anchor when it is due and no
    /// other thread is renewing it.
    #[cold]
    #[inline(never)]
    fn wall_clock() -> SystemTime {
        let before = ticks();
        let now = SystemTime::now();
        let after = ticks();
        let Ok(since_epoch) = now.duration_since(UNIX_EPOCH) else {
            return now;
        };
        let Ok(wall_ns) = u64::try_from(since_epoch.as_nanos()) else {
            return now;
        };
        if after.wrapping_sub(before) > MAX_READ_TICKS {
            return now;
        }
        let read_ticks = before + (after - before) / 2;
        let seq = SEQ.load(Ordering::Relaxed);
        let anchor_wall_ns = ANCHOR_WALL_NS.load(Ordering::Relaxed);
        let rate = NS_PER_TICK_Q32.load(Ordering::Relaxed);
        if seq & 1 == 1 || !renewal_due(anchor_wall_ns, rate, wall_ns) {
            return now;
        }
        if SEQ
            .compare_exchange(seq, seq + 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return now;
        }
        let anchor_ticks = ANCHOR_TICKS.load(Ordering::Relaxed);
        let new_rate = measured_rate(anchor_wall_ns, anchor_ticks, wall_ns, read_ticks);
        // A rate far from the last one means the anchor is stale (the
        // machine slept, or the wall clock was stepped): measure afresh.
        let plausible = rate == 0 || (rate / 2..=rate.saturating_mul(2)).contains(&new_rate);
        NS_PER_TICK_Q32.store(if plausible { new_rate } else { 0 }, Ordering::Relaxed);
        if plausible && new_rate != 0 {
            LAST_RATE_Q32.store(new_rate, Ordering::Relaxed);
        }
        ANCHOR_WALL_NS.store(wall_ns, Ordering::Relaxed);
        ANCHOR_TICKS.store(read_ticks, Ordering::Relaxed);
        SEQ.store(seq + 2, Ordering::Release);
        now
    }

    /// True when the anchor taken at `anchor_wall_ns` should be renewed at
    /// `wall_ns`: there is none yet, it is old enough to measure the rate
    /// (or to be renewed), or the wall clock was stepped back past it.
    fn renewal_due(anchor_wall_ns: u64, rate: u64, wall_ns: u64) -> bool {
        let due = if rate == 0 {
            CALIBRATE_AFTER_NS
        } else {
            REANCHOR_AFTER_NS
        };
        anchor_wall_ns == 0 || wall_ns < anchor_wall_ns || wall_ns - anchor_wall_ns >= due
    }

    /// Nanoseconds per tick (32.32) between two anchors; 0 when unknown.
    fn measured_rate(wall_ns_0: u64, ticks_0: u64, wall_ns_1: u64, ticks_1: u64) -> u64 {
        if wall_ns_0 == 0 || wall_ns_1 <= wall_ns_0 || ticks_1 <= ticks_0 {
            return 0;
        }
        let rate = (u128::from(wall_ns_1 - wall_ns_0) << 32) / u128::from(ticks_1 - ticks_0);
        u64::try_from(rate).unwrap_or(0)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn nanos(time: SystemTime) -> i128 {
            time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128)
        }

        #[test]
        fn counter_time_follows_the_wall_clock() {
            // Where the kernel does not trust the TSC, `now` is the wall
            // clock, which must pass the same checks.
            super::super::enable_if_trusted();
            let counter_in_use = ENABLED.load(Ordering::Relaxed);
            let start = std::time::Instant::now();
            // Calibrate: the first anchor, then the rate once it is 50 ms old.
            while start.elapsed() < std::time::Duration::from_millis(120) {
                now();
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            if counter_in_use {
                assert_ne!(
                    NS_PER_TICK_Q32.load(Ordering::Relaxed),
                    0,
                    "the rate was never measured"
                );
            }
            let mut previous = now();
            for _ in 0..1000 {
                let wall_before = SystemTime::now();
                let counter = now();
                let wall_after = SystemTime::now();
                // Within 50 µs of the wall clock: far below any span's
                // meaningful precision, far above the counter's error.
                assert!(
                    nanos(counter) >= nanos(wall_before) - 50_000,
                    "{counter:?} < {wall_before:?}"
                );
                assert!(
                    nanos(counter) <= nanos(wall_after) + 50_000,
                    "{counter:?} > {wall_after:?}"
                );
                assert!(counter >= previous, "went back from {previous:?} to {counter:?}");
                previous = counter;
            }
        }

        #[test]
        fn anchors_are_renewed_when_due_or_when_the_wall_clock_steps_back() {
            let anchor = 10_000_000_000;
            assert!(renewal_due(0, 0, anchor));
            assert!(!renewal_due(anchor, 0, anchor + CALIBRATE_AFTER_NS - 1));
            assert!(renewal_due(anchor, 0, anchor + CALIBRATE_AFTER_NS));
            assert!(!renewal_due(anchor, 1 << 32, anchor + CALIBRATE_AFTER_NS));
            assert!(renewal_due(anchor, 1 << 32, anchor + REANCHOR_AFTER_NS));
            assert!(renewal_due(anchor, 1 << 32, anchor - 1));
        }

        #[test]
        fn rates_are_measured_only_forwards() {
            assert_eq!(measured_rate(0, 0, 10, 10), 0);
            assert_eq!(measured_rate(100, 50, 100, 60), 0);
            assert_eq!(measured_rate(100, 50, 200, 50), 0);
            // 100 ns over 50 ticks: 2 ns per tick.
            assert_eq!(measured_rate(100, 50, 200, 100), 2 << 32);
        }
    }
}
