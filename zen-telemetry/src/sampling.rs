//! Sampling decided before the SDK is touched.
//!
//! A root call rolls a thread-local RNG against a threshold; a call inside an
//! unsampled root only bumps a thread-local depth counter, so a whole
//! unsampled subtree costs a TLS check per call and allocates nothing.
//! [`decide`] is the one decision, for `#[traced]` calls and, through
//! [`ZenSampler`], for spans created through the `opentelemetry` API or
//! `tracing`, so all sample the same way and every root follows the
//! process parent (`TRACEPARENT`).

use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use opentelemetry::trace::{Link, SpanContext, SpanId, SpanKind, TraceContextExt, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{IdGenerator, SamplingDecision, SamplingResult, ShouldSample};

/// A root is sampled when a uniform `u64` is below this. `u64::MAX` means always.
static THRESHOLD: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
    /// How many unsampled traced calls enclose the current point of this thread.
    static UNSAMPLED_DEPTH: Cell<u32> = const { Cell::new(0) };
}

fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded from the OS once per thread; no syscall per call.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_usize(&hasher as *const _ as usize);
    hasher.finish() | 1
}

/// Sets the fraction of roots that are sampled.
pub(crate) fn set_rate(rate: f64) {
    let threshold = if rate.is_nan() || rate <= 0.0 {
        0
    } else if rate >= 1.0 {
        u64::MAX
    } else {
        (rate * u64::MAX as f64) as u64
    };
    THRESHOLD.store(threshold, Ordering::Relaxed);
}

/// False when `OTEL_TRACES_SAMPLER` named a sampler that is not parent
/// based: roots then roll the dice whatever the process parent says.
static PARENT_BASED: AtomicBool = AtomicBool::new(true);

/// Sets whether roots follow the process parent's sampled flag.
pub(crate) fn set_parent_based(on: bool) {
    PARENT_BASED.store(on, Ordering::Relaxed);
}

/// Rolls the dice for a new root.
#[inline]
pub(crate) fn roll_root() -> bool {
    let threshold = THRESHOLD.load(Ordering::Relaxed);
    if threshold == u64::MAX {
        return true;
    }
    if threshold == 0 {
        return false;
    }
    next_random() < threshold
}

#[inline]
fn next_random() -> u64 {
    RNG.with(|state| {
        // xorshift64*: plenty for a sampling coin, a few instructions.
        let mut x = state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

/// A random `u64` from this thread's generator (never zero).
pub(crate) fn random_u64() -> u64 {
    loop {
        let value = next_random();
        if value != 0 {
            return value;
        }
    }
}

/// A random `u128` (never zero), for trace ids.
pub(crate) fn random_u128() -> u128 {
    (u128::from(random_u64()) << 64) | u128::from(random_u64())
}

/// True inside a traced call that was not sampled.
#[inline]
pub(crate) fn in_unsampled_subtree() -> bool {
    UNSAMPLED_DEPTH.try_with(|d| d.get() > 0).unwrap_or(false)
}

/// Marks the current thread as inside an unsampled call until dropped.
pub(crate) struct UnsampledScope(());

impl UnsampledScope {
    #[inline]
    pub(crate) fn enter() -> Self {
        let _ = UNSAMPLED_DEPTH.try_with(|d| d.set(d.get().saturating_add(1)));
        UnsampledScope(())
    }
}

impl Drop for UnsampledScope {
    #[inline]
    fn drop(&mut self) {
        let _ = UNSAMPLED_DEPTH.try_with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// The remote parent of every root: `TRACEPARENT`, set once with the
/// configuration read from the environment.
static PROCESS_PARENT: OnceLock<Option<SpanContext>> = OnceLock::new();

/// Sets the process parent; only the first call counts (the environment
/// does not change, and code cannot start a process over).
pub(crate) fn set_process_parent(parent: Option<SpanContext>) {
    let _ = PROCESS_PARENT.set(parent);
}

/// The process parent (`TRACEPARENT`), when there is a valid one.
#[inline]
pub(crate) fn process_parent() -> Option<&'static SpanContext> {
    PROCESS_PARENT.get().and_then(Option::as_ref)
}

/// The one sampling decision for a new span, whichever API starts it
/// (`#[traced]`, the `opentelemetry` API, `tracing`). `parent` is the span's
/// valid parent in this process, if any. A child follows its parent's
/// sampled flag; a root follows the process parent (`TRACEPARENT`) when
/// there is one, and otherwise rolls the dice at the root rate. The caller
/// has already checked [`in_unsampled_subtree`].
#[inline]
pub(crate) fn decide(parent: Option<&SpanContext>) -> bool {
    match parent {
        Some(parent) => parent.is_sampled(),
        None => match process_parent() {
            Some(parent) if PARENT_BASED.load(Ordering::Relaxed) => parent.is_sampled(),
            _ => roll_root(),
        },
    }
}

/// Parent-based sampling with zen's decision, for spans the SDK starts.
#[derive(Clone, Debug, Default)]
pub(crate) struct ZenSampler;

impl ShouldSample for ZenSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        _trace_id: TraceId,
        _name: &str,
        _span_kind: &SpanKind,
        _attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        let parent = parent_context
            .map(|cx| cx.span().span_context().clone())
            .filter(|sc| sc.is_valid());
        let sampled = if parent.is_none() && in_unsampled_subtree() {
            false
        } else {
            decide(parent.as_ref())
        };
        let inherited = parent.as_ref().or_else(|| process_parent());
        SamplingResult {
            decision: if sampled {
                SamplingDecision::RecordAndSample
            } else {
                SamplingDecision::Drop
            },
            attributes: Vec::new(),
            trace_state: inherited.map(|p| p.trace_state().clone()).unwrap_or_default(),
        }
    }
}

/// Ids for spans the SDK starts: a root joins the process parent's trace
/// (`TRACEPARENT`), as a `#[traced]` root does; the SDK itself would start a
/// new trace, since it never sees the process parent as a parent. The
/// pipeline gives such a root its parent span id when it ends.
#[derive(Clone, Debug, Default)]
pub(crate) struct ZenIds;

impl IdGenerator for ZenIds {
    fn new_trace_id(&self) -> TraceId {
        process_parent().map_or_else(|| TraceId::from(random_u128()), SpanContext::trace_id)
    }

    fn new_span_id(&self) -> SpanId {
        SpanId::from(random_u64())
    }
}
