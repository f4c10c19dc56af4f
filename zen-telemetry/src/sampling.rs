//! Sampling decided before the SDK is touched.
//!
//! A root call rolls a thread-local RNG against a threshold; a call inside an
//! unsampled root only bumps a thread-local depth counter, so a whole
//! unsampled subtree costs a TLS check per call and allocates nothing.
//! [`ZenSampler`] makes the SDK agree with those decisions, so spans created
//! directly through the `opentelemetry` API sample the same way.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry::trace::{Link, SpanKind, TraceContextExt, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{SamplingDecision, SamplingResult, ShouldSample};

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

/// Parent-based sampling with zen's root decision.
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
        let sampled = match &parent {
            Some(parent) => parent.is_sampled(),
            None => !in_unsampled_subtree() && roll_root(),
        };
        SamplingResult {
            decision: if sampled {
                SamplingDecision::RecordAndSample
            } else {
                SamplingDecision::Drop
            },
            attributes: Vec::new(),
            trace_state: parent.map(|p| p.trace_state().clone()).unwrap_or_default(),
        }
    }
}
