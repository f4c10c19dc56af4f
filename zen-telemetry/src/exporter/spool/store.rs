//! The files of one destination's spool: atomic writes, the size bound,
//! claims, and what is pending.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::format::{decode, encode};
use super::signal::{BATCH_SUFFIX, STALE_CLAIM, Signal};
use crate::clock;
use crate::exporter::private_file::{create_private_dir, replace_atomically};

const CLAIM_MARK: &str = ".claimed-";
const TEMP_PREFIX: &str = ".tmp-";
/// A temporary file this old was left by a process killed while writing.
const STALE_TEMP: Duration = Duration::from_secs(60);

/// Spans and metric points removed from the spool undelivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Dropped {
    /// Batches removed.
    pub(crate) batches: usize,
    /// The spans in them.
    pub(crate) spans: u64,
    /// The metric points in them.
    pub(crate) points: u64,
}

impl Dropped {
    fn add(&mut self, path: &Path) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.batches += 1;
        if let Some(signal) = Signal::of_name(&name) {
            let (spans, points) = signal.split(name_items(&name));
            self.spans += spans;
            self.points += points;
        }
    }

    /// Adds these to `stats()`.
    pub(crate) fn count(&self) {
        crate::stats::add_spool_dropped(self.spans, self.points);
    }
}

/// One destination's spool.
#[derive(Debug, Clone)]
pub(crate) struct Spool {
    dir: PathBuf,
    destination: String,
    max_bytes: u64,
}

/// A batch read back from the spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Batch {
    /// Traces or metrics.
    pub(crate) signal: Signal,
    /// The spans or points in it.
    pub(crate) items: u64,
    /// The request, as it was written.
    pub(crate) payload: Vec<u8>,
}

/// A batch this process claimed: acknowledge it once the backend did, or
/// release it for a later try.
#[derive(Debug)]
pub(crate) struct Claimed {
    path: PathBuf,
    original: PathBuf,
    /// What it holds.
    pub(crate) batch: Batch,
}

/// What the spool holds now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Pending {
    /// Batches waiting (claimed ones included).
    pub(crate) batches: usize,
    /// Their size on disk.
    pub(crate) bytes: u64,
    /// The age of the oldest, by its name.
    pub(crate) oldest: Option<Duration>,
}

/// Why a file was not a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreadable {
    /// The file (already removed).
    pub(crate) path: PathBuf,
    /// What was wrong with it.
    pub(crate) reason: String,
}

/// What [`Spool::claim_next`] removed on its way to a batch.
#[derive(Debug, Default)]
pub(crate) struct Skipped {
    /// Files that were not batches.
    pub(crate) unreadable: Vec<Unreadable>,
    /// Everything removed: unreadable files and batches too old to send.
    pub(crate) dropped: Dropped,
}

impl Spool {
    /// The spool of `endpoint` (and `project`, for Google Cloud) under `root`.
    pub(crate) fn new(root: &Path, endpoint: &str, project: Option<&str>, max_bytes: u64) -> Spool {
        let mut hasher = Sha256::new();
        hasher.update(endpoint.as_bytes());
        hasher.update([0]);
        hasher.update(project.unwrap_or_default().as_bytes());
        let name: String = hasher.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
        let destination = match project {
            Some(project) => format!("{endpoint} project={project}"),
            None => endpoint.to_owned(),
        };
        Spool {
            dir: root.join(name),
            destination,
            max_bytes,
        }
    }

    /// The directory (made only when a batch is written).
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes one batch of `items` spans or points atomically, then keeps
    /// the spool within its bound by removing the oldest batches; returns
    /// what was removed (the new batch among them when it alone is over).
    pub(crate) fn write(&self, signal: Signal, items: u64, payload: &[u8]) -> io::Result<Dropped> {
        create_private_dir(&self.dir)?;
        remove_stale_temps(&self.dir);
        let name = format!("{}{BATCH_SUFFIX}", batch_stem(signal, items));
        let temp = self.dir.join(format!("{TEMP_PREFIX}{name}"));
        replace_atomically(
            &temp,
            &self.dir.join(&name),
            &encode(signal, &self.destination, payload),
        )?;
        Ok(self.enforce_bound())
    }

    /// Removes the oldest batches until the spool fits its bound.
    fn enforce_bound(&self) -> Dropped {
        let mut files = self.files();
        let mut total: u64 = files.iter().map(|(_, size)| size).sum();
        let mut removed = Dropped::default();
        files.sort();
        for (path, size) in files {
            if total <= self.max_bytes {
                break;
            }
            if fs::remove_file(&path).is_ok() {
                removed.add(&path);
                total -= size;
            }
        }
        removed
    }

    /// Every batch file (claimed or not) and its size.
    fn files(&self) -> Vec<(PathBuf, u64)> {
        batch_files(&self.dir)
    }

    /// What is waiting.
    pub(crate) fn pending(&self) -> Pending {
        pending_in(&self.dir)
    }
    /// Claims the oldest batch of `signal` not claimed by a live process.
    /// Files that are not batches, and batches older than the signal's
    /// [`max_age`](Signal::max_age), are removed and reported in `skipped`.
    pub(crate) fn claim_next(&self, signal: Signal, skipped: &mut Skipped) -> Option<Claimed> {
        remove_stale_temps(&self.dir);
        let now = unix_nanos();
        let mut candidates: Vec<PathBuf> = self
            .files()
            .into_iter()
            .map(|(path, _)| path)
            .filter(|path| {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Signal::of_name(&name).is_none_or(|of| of == signal)
            })
            .filter(|path| claim_age(path).is_none_or(|age| age >= STALE_CLAIM))
            .collect();
        candidates.sort_by_key(|path| stem_nanos(path).unwrap_or(0));
        for path in candidates {
            let original = unclaimed_name(&path);
            let claimed = claimed_name(&original);
            // Someone else may have claimed it first: then it is theirs.
            if fs::rename(&path, &claimed).is_err() {
                continue;
            }
            let age = stem_nanos(&original).map(|nanos| Duration::from_nanos(now.saturating_sub(nanos)));
            if age.is_some_and(|age| age > signal.max_age()) {
                let _ = fs::remove_file(&claimed);
                skipped.dropped.add(&original);
                continue;
            }
            match fs::read(&claimed)
                .map_err(|e| e.to_string())
                .and_then(|bytes| decode(&bytes, &self.destination))
            {
                Ok((of, payload)) => {
                    let items = original
                        .file_name()
                        .map_or(0, |name| name_items(&name.to_string_lossy()));
                    return Some(Claimed {
                        path: claimed,
                        original,
                        batch: Batch {
                            signal: of,
                            items,
                            payload,
                        },
                    });
                }
                Err(reason) => {
                    let _ = fs::remove_file(&claimed);
                    skipped.dropped.add(&original);
                    skipped.unreadable.push(Unreadable { path: original, reason });
                }
            }
        }
        None
    }
}

/// What the spool directory `dir` holds, without making it.
fn pending_in(dir: &Path) -> Pending {
    let files = batch_files(dir);
    let now = unix_nanos();
    let oldest = files
        .iter()
        .filter_map(|(path, _)| stem_nanos(path))
        .min()
        .map(|nanos| Duration::from_nanos(now.saturating_sub(nanos)));
    Pending {
        batches: files.len(),
        bytes: files.iter().map(|(_, size)| size).sum(),
        oldest,
    }
}

impl Claimed {
    /// The backend took it: remove it.
    pub(crate) fn acknowledge(self) -> io::Result<()> {
        fs::remove_file(&self.path)
    }

    /// Not delivered this time: hand it back for a later try.
    pub(crate) fn release(self) -> io::Result<()> {
        fs::rename(&self.path, &self.original)
    }
}

fn batch_files(dir: &Path) -> Vec<(PathBuf, u64)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            !name.starts_with(TEMP_PREFIX) && (name.ends_with(BATCH_SUFFIX) || name.contains(CLAIM_MARK))
        })
        .filter_map(|entry| Some((entry.path(), entry.metadata().ok()?.len())))
        .collect()
}

fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) && older_than(&path, STALE_TEMP) {
            let _ = fs::remove_file(path);
        }
    }
}

fn older_than(path: &Path, age: Duration) -> bool {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|modified| modified.elapsed().ok())
        .is_some_and(|elapsed| elapsed >= age)
}

fn batch_stem(signal: Signal, items: u64) -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    format!(
        "{:020}-{}-{}-{items}.{}",
        unix_nanos(),
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed),
        signal.word()
    )
}

/// The item count in a batch's name; 0 when it has none.
fn name_items(name: &str) -> u64 {
    name.split('.')
        .next()
        .and_then(|stem| stem.split('-').nth(3))
        .and_then(|items| items.parse().ok())
        .unwrap_or(0)
}

fn unix_nanos() -> u64 {
    clock::unix_nanos(SystemTime::now())
}

fn unix_secs() -> u64 {
    unix_nanos() / 1_000_000_000
}

fn stem_nanos(path: &Path) -> Option<u64> {
    path.file_name()?.to_str()?.split('-').next()?.parse().ok()
}

/// How long ago the batch at `path` was claimed; `None` when it is not.
/// A claim whose time cannot be read counts as stale.
fn claim_age(path: &Path) -> Option<Duration> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    let (_, claim) = name.split_once(CLAIM_MARK)?;
    let claimed_at = claim.rsplit('-').next().and_then(|secs| secs.parse::<u64>().ok());
    let now = unix_secs();
    Some(claimed_at.map_or(Duration::MAX, |at| Duration::from_secs(now.saturating_sub(at))))
}

fn unclaimed_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.split_once(CLAIM_MARK) {
        Some((original, _)) => path.with_file_name(original),
        None => path.to_path_buf(),
    }
}

fn claimed_name(original: &Path) -> PathBuf {
    let name = original
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let now = unix_secs();
    original.with_file_name(format!("{name}{CLAIM_MARK}{}-{now}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exporter::spool::signal::{METRIC_MAX_AGE, SPAN_MAX_AGE};

    struct TempRoot(PathBuf);

    impl TempRoot {
        fn new(tag: &str) -> TempRoot {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let path = std::env::temp_dir().join(format!(
                "zen-telemetry-spool-{}-{}-{tag}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&path);
            TempRoot(path)
        }
    }

    impl Drop for TempRoot {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).map(|m| m.permissions().mode() & 0o777).unwrap_or(0)
    }

    #[test]
    fn a_batch_round_trips_once_with_private_permissions() {
        let root = TempRoot::new("round-trip");
        let spool = Spool::new(
            &root.0,
            "https://telemetry.googleapis.com",
            Some("my-project"),
            crate::config::DEFAULT_SPOOL_MAX_BYTES,
        );
        assert!(!root.0.exists(), "nothing is made before a write");
        assert_eq!(spool.write(Signal::Traces, 3, b"spans").ok(), Some(Dropped::default()));
        assert_eq!(
            spool.write(Signal::Metrics, 5, b"points").ok(),
            Some(Dropped::default())
        );
        #[cfg(unix)]
        {
            assert_eq!(mode(spool.dir()), 0o700);
            for (path, _) in spool.files() {
                assert_eq!(mode(&path), 0o600, "{}", path.display());
            }
        }
        assert_eq!(spool.pending().batches, 2);

        let mut skipped = Skipped::default();
        let first = spool.claim_next(Signal::Traces, &mut skipped).expect("the spans");
        assert_eq!(
            first.batch,
            Batch {
                signal: Signal::Traces,
                items: 3,
                payload: b"spans".to_vec()
            }
        );
        assert!(
            spool.claim_next(Signal::Traces, &mut skipped).is_none(),
            "metrics are not claimed for traces"
        );
        let second = spool.claim_next(Signal::Metrics, &mut skipped).expect("the points");
        assert_eq!((second.batch.signal, second.batch.items), (Signal::Metrics, 5));
        assert!(
            spool.claim_next(Signal::Metrics, &mut skipped).is_none(),
            "both are claimed"
        );
        second.release().expect("release");
        first.acknowledge().expect("acknowledge");
        let again = spool
            .claim_next(Signal::Metrics, &mut skipped)
            .expect("the released batch");
        assert_eq!(again.batch.payload, b"points");
        again.acknowledge().expect("acknowledge");
        assert_eq!(spool.pending(), Pending::default());
        assert!(skipped.unreadable.is_empty());
    }

    #[test]
    fn destinations_get_their_own_directories() {
        let root = TempRoot::new("destinations");
        let a = Spool::new(
            &root.0,
            "http://127.0.0.1:4317",
            None,
            crate::config::DEFAULT_SPOOL_MAX_BYTES,
        );
        let b = Spool::new(
            &root.0,
            "https://telemetry.googleapis.com",
            Some("p"),
            crate::config::DEFAULT_SPOOL_MAX_BYTES,
        );
        let c = Spool::new(
            &root.0,
            "https://telemetry.googleapis.com",
            Some("q"),
            crate::config::DEFAULT_SPOOL_MAX_BYTES,
        );
        assert_ne!(a.dir(), b.dir());
        assert_ne!(b.dir(), c.dir());
        // A file moved into another destination's directory is not sent there.
        b.write(Signal::Traces, 1, b"for p").expect("write");
        let (path, _) = b.files().pop().expect("a file");
        fs::create_dir_all(c.dir()).expect("dir");
        fs::rename(&path, c.dir().join(path.file_name().expect("name"))).expect("move");
        let mut skipped = Skipped::default();
        assert!(c.claim_next(Signal::Traces, &mut skipped).is_none());
        assert_eq!(skipped.unreadable.len(), 1);
        assert_eq!(skipped.unreadable[0].reason, "written for another destination");
        assert_eq!(skipped.dropped.spans, 1);
    }

    #[test]
    fn over_the_bound_the_oldest_batches_go() {
        let root = TempRoot::new("bound");
        let payload = vec![7u8; 1000];
        let one = encode(Signal::Traces, "e", &payload).len() as u64;
        let spool = Spool::new(&root.0, "e", None, 3 * one);
        let mut removed = Dropped::default();
        for index in 0..5u8 {
            let mut payload = payload.clone();
            payload[0] = index;
            let dropped = spool.write(Signal::Traces, 10, &payload).expect("write");
            removed.batches += dropped.batches;
            removed.spans += dropped.spans;
        }
        assert_eq!((removed.batches, removed.spans), (2, 20));
        assert_eq!(spool.pending().batches, 3);
        let mut skipped = Skipped::default();
        let firsts: Vec<u8> = std::iter::from_fn(|| spool.claim_next(Signal::Traces, &mut skipped))
            .map(|claimed| claimed.batch.payload[0])
            .collect();
        assert_eq!(firsts, [2, 3, 4], "the two oldest were dropped");
    }

    #[test]
    fn corrupt_truncated_and_foreign_files_are_removed_and_reported() {
        let root = TempRoot::new("corrupt");
        let spool = Spool::new(&root.0, "e", None, crate::config::DEFAULT_SPOOL_MAX_BYTES);
        spool.write(Signal::Traces, 1, b"good").expect("write");
        let good = encode(Signal::Traces, "e", b"good");
        let mut flipped = good.clone();
        flipped[20] ^= 1;
        let mut foreign = good.clone();
        foreign[8] = 9;
        let cases: [(&str, &[u8]); 4] = [
            ("truncated", &good[..good.len() - 3]),
            ("flipped", &flipped),
            ("foreign", &foreign),
            ("junk", b"hello"),
        ];
        for (index, (tag, bytes)) in cases.iter().enumerate() {
            let name = format!(
                "{:020}-1-{index}-2.traces.batch",
                unix_nanos() - 60_000_000_000 + index as u64
            );
            fs::write(spool.dir().join(name), bytes).unwrap_or_else(|e| panic!("{tag}: {e}"));
        }
        let mut skipped = Skipped::default();
        let claimed = spool.claim_next(Signal::Traces, &mut skipped).expect("the good batch");
        assert_eq!(claimed.batch.payload, b"good");
        assert_eq!(skipped.dropped.spans, 8, "four unreadable files of two spans each");
        let reasons: Vec<&str> = skipped.unreadable.iter().map(|u| u.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "truncated in the checksum",
                "the checksum does not match",
                "format version 9, expected 1",
                "not a zen-telemetry spool file"
            ]
        );
        claimed.acknowledge().expect("acknowledge");
        assert_eq!(spool.pending().batches, 0, "the bad files are gone too");
    }

    #[test]
    fn a_claim_of_a_live_process_is_left_and_a_stale_one_taken_over() {
        let root = TempRoot::new("claims");
        let spool = Spool::new(&root.0, "e", None, crate::config::DEFAULT_SPOOL_MAX_BYTES);
        spool.write(Signal::Traces, 1, b"held").expect("write");
        let mut skipped = Skipped::default();
        let held = spool.claim_next(Signal::Traces, &mut skipped).expect("claim");
        assert!(
            spool.claim_next(Signal::Traces, &mut skipped).is_none(),
            "fresh claims are respected"
        );
        // A claim made before STALE_CLAIM by a process that died since.
        let long_ago = unix_secs() - STALE_CLAIM.as_secs() - 1;
        let dead = held.original.with_file_name(format!(
            "{}{CLAIM_MARK}999999-{long_ago}",
            held.original.file_name().expect("name").to_string_lossy()
        ));
        fs::rename(&held.path, &dead).expect("age the claim");
        let taken = spool
            .claim_next(Signal::Traces, &mut skipped)
            .expect("a stale claim is taken over");
        assert_eq!(taken.batch.payload, b"held");
        assert!(skipped.unreadable.is_empty());
    }

    #[test]
    fn batches_older_than_the_backend_takes_are_dropped_and_counted() {
        let root = TempRoot::new("age");
        let spool = Spool::new(&root.0, "e", None, crate::config::DEFAULT_SPOOL_MAX_BYTES);
        let write_aged = |signal: Signal, age: Duration, items: u64| {
            let nanos = unix_nanos() - u64::try_from(age.as_nanos()).unwrap_or(0);
            let name = format!("{nanos:020}-1-0-{items}.{}{BATCH_SUFFIX}", signal.word());
            fs::create_dir_all(spool.dir()).expect("dir");
            fs::write(spool.dir().join(name), encode(signal, "e", b"old")).expect("write");
        };
        write_aged(Signal::Traces, SPAN_MAX_AGE + Duration::from_secs(60), 7);
        write_aged(Signal::Traces, SPAN_MAX_AGE - Duration::from_secs(60), 2);
        write_aged(Signal::Metrics, METRIC_MAX_AGE + Duration::from_secs(60), 4);
        let mut skipped = Skipped::default();
        let kept = spool
            .claim_next(Signal::Traces, &mut skipped)
            .expect("the younger spans");
        assert_eq!(kept.batch.items, 2);
        assert!(spool.claim_next(Signal::Metrics, &mut skipped).is_none());
        assert_eq!(
            skipped.dropped,
            Dropped {
                batches: 2,
                spans: 7,
                points: 4
            }
        );
        assert!(skipped.unreadable.is_empty(), "age is not corruption");
    }
}
