//! Per-thread shards: a thread claims one of a few cache-line-sized slots
//! the first time it counts, and then adds to it with a plain load and store
//! (no locked instruction); threads beyond the owned shards share one more,
//! updated atomically. Readers sum the shards. A leaf below every other
//! module: call sites and the span counters both count this way.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Shards a thread can own; threads beyond these share one more.
pub(crate) const OWNED_SHARDS: usize = 8;
const SHARED_SHARD: usize = OWNED_SHARDS;

/// Adds to a cell: a plain load and store on the thread's own shard, an
/// atomic add on the shared one.
#[inline(always)]
pub(crate) fn add(cell: &AtomicU64, by: u64, owned: bool) {
    if owned {
        cell.store(cell.load(Ordering::Relaxed).wrapping_add(by), Ordering::Relaxed);
    } else {
        cell.fetch_add(by, Ordering::Relaxed);
    }
}

/// A count every thread adds to without a locked instruction (its own
/// shard, as call sites do); reading it sums the shards.
pub(crate) struct ShardedCount {
    shards: [PaddedCell; OWNED_SHARDS + 1],
}

#[repr(align(64))]
struct PaddedCell(AtomicU64);

impl ShardedCount {
    pub(crate) const fn new() -> ShardedCount {
        ShardedCount {
            shards: [const { PaddedCell(AtomicU64::new(0)) }; OWNED_SHARDS + 1],
        }
    }

    #[inline]
    pub(crate) fn add(&self, by: u64) {
        let (index, owned) = thread_shard();
        add(&self.shards[index].0, by, owned);
    }

    pub(crate) fn sum(&self) -> u64 {
        self.shards
            .iter()
            .fold(0, |sum, shard| sum.wrapping_add(shard.0.load(Ordering::Relaxed)))
    }
}

/// Bits of the owned shards in use by live threads.
static CLAIMED: AtomicU64 = AtomicU64::new(0);

/// A thread's shard, given back when the thread exits.
struct ShardClaim(Cell<usize>);

impl ShardClaim {
    fn claim() -> usize {
        let mut claimed = CLAIMED.load(Ordering::Relaxed);
        loop {
            let free = (!claimed).trailing_zeros() as usize;
            if free >= OWNED_SHARDS {
                return SHARED_SHARD;
            }
            // Acquire: the previous owner's last writes happen before ours.
            match CLAIMED.compare_exchange_weak(claimed, claimed | 1 << free, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return free,
                Err(current) => claimed = current,
            }
        }
    }
}

impl Drop for ShardClaim {
    fn drop(&mut self) {
        let index = self.0.get();
        if index < OWNED_SHARDS {
            // Release: our writes happen before the next owner's.
            CLAIMED.fetch_and(!(1 << index), Ordering::Release);
        }
    }
}

thread_local! {
    static SHARD: ShardClaim = ShardClaim(Cell::new(ShardClaim::claim()));
}

/// This thread's shard and whether it owns it. A thread whose claim was
/// already given back (a traced call in a thread-local destructor) shares.
#[inline(always)]
pub(crate) fn thread_shard() -> (usize, bool) {
    let index = SHARD.try_with(|claim| claim.0.get()).unwrap_or(SHARED_SHARD);
    (index, index < OWNED_SHARDS)
}
