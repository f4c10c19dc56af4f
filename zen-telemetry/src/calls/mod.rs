//! Exact per-function metrics: every traced function's call counts by result
//! and its duration histogram, kept in the function's own static.
//!
//! A traced call, sampled or not, adds to its call site's cells: no map
//! lookup, no attribute, no lock. Each thread writes its own shard, claimed
//! the first time it records, so two threads calling one function never
//! share a cache line; a thread that owns a shard updates it with a plain
//! load and store (no locked instruction), and threads beyond the owned
//! shards share one more, updated atomically. The export side sums the
//! shards of every call site that has recorded, found through a lock-free
//! list each site joins at its first call.
//!
//! A leaf: it takes durations in nanoseconds and knows nothing of clocks,
//! spans or export.

use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};

pub(crate) mod objective;

use self::objective::Objective;
use crate::shard::{OWNED_SHARDS, add, thread_shard};

/// The counter of traced calls, by `function`, `module` and `result`
/// (autometrics' name: Prometheus reads it as `function_calls_total`).
pub const CALLS_METRIC: &str = "function.calls";
/// The histogram of traced calls' durations in seconds, by `function` and
/// `module` (Prometheus: `function_calls_duration_seconds`).
pub const DURATION_METRIC: &str = "function.calls.duration";
/// The attribute naming the traced function (its span name) on both metrics.
pub const FUNCTION_ATTRIBUTE: &str = "function";
/// The attribute naming the function's module (`module_path!()`) on both metrics.
pub const MODULE_ATTRIBUTE: &str = "module";
/// The attribute of `function.calls` saying how a call ended ([`CallResult::as_str`]).
pub const RESULT_ATTRIBUTE: &str = "result";

/// How a call ended, as the `result` attribute of `function.calls`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallResult {
    /// Returned normally (or `Ok`).
    Ok,
    /// Returned `Err`.
    Error,
    /// Panicked.
    Panic,
    /// A future dropped before it completed.
    Cancelled,
}

impl CallResult {
    /// Every result, in the order of [`CallCounts::by_result`].
    pub const ALL: [CallResult; 4] = [
        CallResult::Ok,
        CallResult::Error,
        CallResult::Panic,
        CallResult::Cancelled,
    ];

    /// The attribute value: `ok`, `error`, `panic` or `cancelled`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallResult::Ok => "ok",
            CallResult::Error => "error",
            CallResult::Panic => "panic",
            CallResult::Cancelled => "cancelled",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

/// Upper bounds (inclusive, in seconds) of the duration histogram's buckets;
/// one more bucket holds everything slower. autometrics' bounds (5 ms to
/// 10 s), so its latency objectives and dashboards find the `le` they query,
/// below five finer ones for functions that take microseconds.
pub const BUCKET_BOUNDS_SECONDS: [f64; 19] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
    10.0,
];

/// The bounds in nanoseconds, for the per-call comparison.
const BUCKET_BOUNDS_NS: [u64; 19] = [
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    75_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    750_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    7_500_000_000,
    10_000_000_000,
];

/// Buckets, the overflow bucket included.
pub(crate) const BUCKETS: usize = BUCKET_BOUNDS_NS.len() + 1;

/// One thread's (or the sharing threads') cells for one call site. Aligned
/// so no two shards share a cache line.
#[repr(align(64))]
struct Shard {
    calls: [AtomicU64; CallResult::ALL.len()],
    buckets: [AtomicU64; BUCKETS],
    sum_ns: AtomicU64,
    /// The last sampled call in each bucket (owned shards only).
    exemplars: [ExemplarCell; BUCKETS],
}

impl Shard {
    const fn new() -> Shard {
        Shard {
            calls: [const { AtomicU64::new(0) }; CallResult::ALL.len()],
            buckets: [const { AtomicU64::new(0) }; BUCKETS],
            sum_ns: AtomicU64::new(0),
            exemplars: [const { ExemplarCell::new() }; BUCKETS],
        }
    }
}

/// A sampled call, as an exemplar of its duration bucket links it to its trace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Exemplar {
    /// The call's trace id.
    pub(crate) trace_id: u128,
    /// The call's span id.
    pub(crate) span_id: u64,
    /// When the call ended, in nanoseconds since the Unix epoch.
    pub(crate) time_unix_nano: u64,
    /// How long it took, in nanoseconds.
    pub(crate) nanos: u64,
}

/// One exemplar under a sequence lock: its only writer is the thread that
/// owns the shard, so writing is plain stores, never a wait; a reader
/// retries when a write was under way.
struct ExemplarCell {
    /// Odd while a write is under way.
    sequence: AtomicU64,
    fields: [AtomicU64; 5],
}

impl ExemplarCell {
    const fn new() -> ExemplarCell {
        ExemplarCell {
            sequence: AtomicU64::new(0),
            fields: [const { AtomicU64::new(0) }; 5],
        }
    }

    #[inline]
    fn write(&self, exemplar: &Exemplar) {
        let sequence = self.sequence.load(Ordering::Relaxed);
        self.sequence.store(sequence.wrapping_add(1), Ordering::Relaxed);
        // The odd sequence is visible before any field changes.
        std::sync::atomic::fence(Ordering::Release);
        let fields = [
            (exemplar.trace_id >> 64) as u64,
            exemplar.trace_id as u64,
            exemplar.span_id,
            exemplar.time_unix_nano,
            exemplar.nanos,
        ];
        for (cell, value) in self.fields.iter().zip(fields) {
            cell.store(value, Ordering::Relaxed);
        }
        self.sequence.store(sequence.wrapping_add(2), Ordering::Release);
    }

    /// The exemplar, unless none was written or every try met a write.
    fn read(&self) -> Option<Exemplar> {
        for _ in 0..4 {
            let before = self.sequence.load(Ordering::Acquire);
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let fields: [u64; 5] = std::array::from_fn(|i| self.fields[i].load(Ordering::Relaxed));
            std::sync::atomic::fence(Ordering::Acquire);
            if self.sequence.load(Ordering::Relaxed) == before {
                return (before > 0).then(|| Exemplar {
                    trace_id: u128::from(fields[0]) << 64 | u128::from(fields[1]),
                    span_id: fields[2],
                    time_unix_nano: fields[3],
                    nanos: fields[4],
                });
            }
        }
        None
    }
}

/// One traced function's metrics. Lives in the function's static, so it is
/// never freed.
pub struct CallSite {
    /// The `function` attribute: the span name.
    pub name: &'static str,
    /// The `module` attribute: the function's `module_path!()`.
    pub module: &'static str,
    /// What the function declared in `#[traced(objective(...))]`.
    pub objective: Objective,
    joined: AtomicBool,
    next: AtomicPtr<CallSite>,
    shards: [Shard; OWNED_SHARDS + 1],
}

impl std::fmt::Debug for CallSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallSite")
            .field("name", &self.name)
            .field("module", &self.module)
            .finish_non_exhaustive()
    }
}

/// The call sites that have recorded, newest first; never shrinks.
static SITES: AtomicPtr<CallSite> = AtomicPtr::new(ptr::null_mut());

impl CallSite {
    /// An empty call site (in a `static`).
    pub const fn new(name: &'static str, module: &'static str) -> CallSite {
        CallSite {
            name,
            module,
            objective: Objective::NONE,
            joined: AtomicBool::new(false),
            next: AtomicPtr::new(ptr::null_mut()),
            shards: [const { Shard::new() }; OWNED_SHARDS + 1],
        }
    }

    /// Counts one call that took `nanos`.
    #[inline]
    pub fn record(&'static self, result: CallResult, nanos: u64) {
        self.count(result, nanos);
    }

    /// Counts one sampled call, and keeps it as its bucket's exemplar: on a
    /// thread that owns its shard (the rest, beyond the owned shards, only count).
    #[inline]
    pub(crate) fn record_sampled(&'static self, result: CallResult, exemplar: &Exemplar) {
        let (shard, bucket, owned) = self.count(result, exemplar.nanos);
        if owned {
            shard.exemplars[bucket].write(exemplar);
        }
    }

    #[inline(always)]
    fn count(&'static self, result: CallResult, nanos: u64) -> (&'static Shard, usize, bool) {
        if !self.joined.load(Ordering::Relaxed) {
            self.join();
        }
        let (index, owned) = thread_shard();
        let shard = &self.shards[index];
        let bucket = BUCKET_BOUNDS_NS
            .iter()
            .position(|&bound| nanos <= bound)
            .unwrap_or(BUCKETS - 1);
        add(&shard.calls[result.index()], 1, owned);
        add(&shard.buckets[bucket], 1, owned);
        add(&shard.sum_ns, nanos, owned);
        (shard, bucket, owned)
    }

    /// Each bucket's latest exemplar, over every shard.
    pub(crate) fn exemplars(&self) -> [Option<Exemplar>; BUCKETS] {
        std::array::from_fn(|bucket| {
            self.shards
                .iter()
                .filter_map(|shard| shard.exemplars[bucket].read())
                .max_by_key(|exemplar| exemplar.time_unix_nano)
        })
    }

    /// True once a call was counted here.
    #[inline(always)]
    pub fn has_recorded(&self) -> bool {
        self.joined.load(Ordering::Relaxed)
    }

    #[cold]
    #[inline(never)]
    fn join(&'static self) {
        if self.joined.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = ptr::from_ref(self).cast_mut();
        let mut head = SITES.load(Ordering::Acquire);
        loop {
            self.next.store(head, Ordering::Relaxed);
            match SITES.compare_exchange_weak(head, this, Ordering::Release, Ordering::Acquire) {
                Ok(_) => return,
                Err(current) => head = current,
            }
        }
    }

    /// The totals so far, summed over the shards. Each cell only grows, so
    /// a later snapshot is never below an earlier one.
    pub fn counts(&self) -> CallCounts {
        let mut counts = CallCounts::default();
        for shard in &self.shards {
            for (total, cell) in counts.by_result.iter_mut().zip(&shard.calls) {
                *total += cell.load(Ordering::Relaxed);
            }
            for (total, cell) in counts.buckets.iter_mut().zip(&shard.buckets) {
                *total += cell.load(Ordering::Relaxed);
            }
            counts.sum_ns += shard.sum_ns.load(Ordering::Relaxed);
        }
        counts
    }
}

/// Every call site that has recorded a call.
pub(crate) fn sites() -> impl Iterator<Item = &'static CallSite> {
    let mut next = SITES.load(Ordering::Acquire);
    std::iter::from_fn(move || {
        // SAFETY: only `&'static CallSite`s are ever linked into the list
        // (by `join`), and they are never removed or written through it.
        let site: &'static CallSite = unsafe { next.as_ref() }?;
        next = site.next.load(Ordering::Acquire);
        Some(site)
    })
}

/// A call site's totals: calls by result, the histogram, the summed duration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallCounts {
    /// Calls by result, in [`CallResult::ALL`]'s order.
    pub by_result: [u64; CallResult::ALL.len()],
    /// Calls per duration bucket ([`BUCKET_BOUNDS_SECONDS`], then overflow).
    pub buckets: [u64; BUCKETS],
    /// The calls' summed duration in nanoseconds.
    pub sum_ns: u64,
}

impl CallCounts {
    /// Calls that ended with `result`.
    pub fn calls(&self, result: CallResult) -> u64 {
        self.by_result[result.index()]
    }

    /// All calls.
    pub fn total(&self) -> u64 {
        self.by_result.iter().sum()
    }

    /// These counts and `other`'s together.
    pub fn plus(&self, other: &CallCounts) -> CallCounts {
        self.zip_with(other, |mine, theirs| mine + theirs)
    }

    /// Calls whose duration was at most `seconds` (a bound of
    /// [`BUCKET_BOUNDS_SECONDS`]; between bounds, the next lower one counts).
    pub fn calls_within(&self, seconds: f64) -> u64 {
        let buckets = BUCKET_BOUNDS_SECONDS
            .iter()
            .take_while(|&&bound| bound <= seconds)
            .count();
        self.buckets[..buckets].iter().sum()
    }

    /// What was added since `earlier`.
    pub fn since(&self, earlier: &CallCounts) -> CallCounts {
        self.zip_with(earlier, |now, then| now - then)
    }

    /// Every cell of `self` and `other` combined by `op`.
    fn zip_with(&self, other: &CallCounts, op: fn(u64, u64) -> u64) -> CallCounts {
        let mut out = *self;
        for (cell, theirs) in out.by_result.iter_mut().zip(&other.by_result) {
            *cell = op(*cell, *theirs);
        }
        for (cell, theirs) in out.buckets.iter_mut().zip(&other.buckets) {
            *cell = op(*cell, *theirs);
        }
        out.sum_ns = op(out.sum_ns, other.sum_ns);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exemplar_is_read_whole_while_its_thread_writes_it() {
        static CELL: ExemplarCell = ExemplarCell::new();
        assert_eq!(CELL.read(), None, "none written");
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for k in 1..200_000u64 {
                    let exemplar = Exemplar {
                        trace_id: u128::from(k) << 64 | u128::from(k),
                        span_id: k,
                        time_unix_nano: k,
                        nanos: k,
                    };
                    CELL.write(&exemplar);
                }
                stop.store(true, Ordering::Release);
            });
            let mut seen = 0;
            while !stop.load(Ordering::Acquire) {
                if let Some(e) = CELL.read() {
                    let k = e.span_id;
                    assert_eq!(
                        (e.trace_id, e.time_unix_nano, e.nanos),
                        (u128::from(k) << 64 | u128::from(k), k, k)
                    );
                    seen += 1;
                }
            }
            assert!(seen > 0 || CELL.read().is_some());
        });
        assert_eq!(CELL.read().map(|e| e.span_id), Some(199_999));
    }
    use crate::calls::objective::LATENCY_OBJECTIVES_MS;

    static SITE: CallSite = CallSite::new("calls::tests::site", "calls::tests");

    #[test]
    fn calls_land_in_their_bucket_and_result() {
        let before = SITE.counts();
        SITE.record(CallResult::Ok, 3_000_000);
        SITE.record(CallResult::Error, 100_000);
        SITE.record(CallResult::Panic, 20_000_000_000);
        let counts = SITE.counts().since(&before);
        assert_eq!(counts.by_result, [1, 1, 1, 0]);
        // 3 ms is in (2.5 ms, 5 ms]; 100 µs is on the first bound (inclusive).
        let expected: Vec<usize> = vec![0, 5, BUCKETS - 1];
        let filled: Vec<usize> = (0..BUCKETS).filter(|&i| counts.buckets[i] > 0).collect();
        assert_eq!(filled, expected);
        assert_eq!(counts.sum_ns, 20_003_100_000);
        assert!(sites().any(|site| ptr::eq(site, &SITE)));
    }

    #[test]
    fn bounds_in_nanoseconds_match_the_documented_seconds() {
        for (ns, seconds) in BUCKET_BOUNDS_NS.iter().zip(BUCKET_BOUNDS_SECONDS) {
            assert_eq!(*ns, (seconds * 1e9).round() as u64);
        }
    }

    #[test]
    fn more_threads_than_shards_still_count_exactly() {
        static BUSY: CallSite = CallSite::new("calls::tests::busy", "calls::tests");
        let threads = OWNED_SHARDS * 2;
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    for _ in 0..10_000 {
                        BUSY.record(CallResult::Ok, 1);
                    }
                });
            }
        });
        let counts = BUSY.counts();
        assert_eq!(counts.total(), threads as u64 * 10_000);
        assert_eq!(counts.buckets[0], threads as u64 * 10_000);
    }

    #[test]
    fn latency_objectives_are_the_bucket_bounds() {
        for ((ms, label), seconds) in LATENCY_OBJECTIVES_MS.iter().zip(BUCKET_BOUNDS_SECONDS) {
            assert!((ms / 1000.0 - seconds).abs() < 1e-12, "{ms} ms vs {seconds} s");
            assert_eq!(label.parse::<f64>().ok(), Some(*ms));
        }
        assert_eq!(LATENCY_OBJECTIVES_MS.len(), BUCKET_BOUNDS_SECONDS.len());
    }
}
