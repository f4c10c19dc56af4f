//! Metric series that continue from run to run: a small pool of slots per
//! service under the state directory. At its first export a process claims
//! the first free slot with an exclusive lock it holds until it exits (the
//! operating system lets go of it when the process dies, however it dies),
//! and finds there the identity and the cumulative values its series
//! continue from.
//!
//! - `<series root>/<hash of service.name>/slot-<n>.lock` is only locked;
//!   `slot-<n>.state` is replaced atomically at every export, before its
//!   points are sent, so what a backend has seen never exceeds what the
//!   state holds, and a run killed between two exports leaves the last
//!   export's values: never a decrease (a counter reset) nor a count twice.
//! - Concurrent runs hold different slots, so two processes never write one
//!   series. With every slot taken a run gets a series of its own.
//! - State: `ZENSERIES 1`, a JSON header line (instance id, start time, time
//!   of the last point sent, service name), the continued points as an OTLP
//!   protobuf request, and a SHA-256 of all before it. A file that fails any
//!   check is warned about once and the slot starts afresh: a new identity
//!   and start time, so no backend sees the old series go down.
//! - The identity is random, never derived from the host or the user.

use std::fs::{self, File, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use prost::Message;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::exporter::private_file::{create_private_dir, open_private_file, replace_atomically};

/// Slots per service: the most runs of one service that continue their
/// series at once; a run beyond them exports series of its own.
pub(crate) const SLOTS: usize = 8;
const MAGIC: &[u8] = b"ZENSERIES 1\n";
const DIGEST_LEN: usize = 32;

/// Who a process's series are, and what they continue from.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Carried {
    /// `service.instance.id` of the series.
    pub(crate) instance_id: String,
    /// The start time of every continued cumulative series.
    pub(crate) start_unix_nano: u64,
    /// When a point of these series was last sent (0: never).
    pub(crate) sent_unix_nano: u64,
    /// The continued points: monotonic sums and histograms, cumulative.
    pub(crate) points: ExportMetricsServiceRequest,
}

impl Carried {
    /// Series nobody wrote before: a random identity, starting `now`.
    pub(crate) fn fresh(now_unix_nano: u64) -> Carried {
        Carried {
            instance_id: random_instance_id(),
            start_unix_nano: now_unix_nano,
            sent_unix_nano: 0,
            points: ExportMetricsServiceRequest::default(),
        }
    }
}

/// A claimed slot; the claim lasts as long as the value (and the process).
#[derive(Debug)]
pub(crate) struct Slot {
    /// Held locked; closing it (or the process dying) frees the slot.
    _lock: File,
    state: PathBuf,
    service: String,
}

#[derive(Serialize, Deserialize)]
struct Header {
    instance_id: String,
    start_unix_nano: u64,
    sent_unix_nano: u64,
    service: String,
}

impl Slot {
    /// Claims the first free slot of `service` under `root`: the slot and
    /// what its series continue from (fresh, with a warning line, when its
    /// state is unreadable). `Ok(None)` when every slot is taken.
    pub(crate) fn claim(root: &Path, service: &str, now_unix_nano: u64) -> io::Result<Option<(Slot, Carried)>> {
        let dir = root.join(service_dir_name(service));
        create_private_dir(&dir)?;
        for n in 0..SLOTS {
            let lock = open_private_file(&dir.join(format!("slot-{n}.lock")))?;
            match lock.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => continue,
                Err(TryLockError::Error(error)) => return Err(error),
            }
            let slot = Slot {
                _lock: lock,
                state: dir.join(format!("slot-{n}.state")),
                service: service.to_owned(),
            };
            let carried = match fs::read(&slot.state) {
                Err(error) if error.kind() == io::ErrorKind::NotFound => Carried::fresh(now_unix_nano),
                Err(error) => return Err(error),
                Ok(bytes) => decode(&bytes, service).unwrap_or_else(|reason| {
                    crate::diag::stderr_line(&format!(
                        "zen-telemetry: warning: {}: {reason}; its metric series start afresh",
                        slot.state.display()
                    ));
                    Carried::fresh(now_unix_nano)
                }),
            };
            return Ok(Some((slot, carried)));
        }
        Ok(None)
    }

    /// Replaces the slot's state with `carried`.
    pub(crate) fn save(&self, carried: &Carried) -> io::Result<()> {
        let temp = self.state.with_extension("state.tmp");
        replace_atomically(&temp, &self.state, &encode(carried, &self.service))
    }
}

fn encode(carried: &Carried, service: &str) -> Vec<u8> {
    let header = Header {
        instance_id: carried.instance_id.clone(),
        start_unix_nano: carried.start_unix_nano,
        sent_unix_nano: carried.sent_unix_nano,
        service: service.to_owned(),
    };
    let mut bytes = MAGIC.to_vec();
    // A struct of strings and numbers always serializes.
    bytes.extend(serde_json::to_vec(&header).unwrap_or_default());
    bytes.push(b'\n');
    carried.points.encode(&mut bytes).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    bytes.extend_from_slice(&digest);
    bytes
}

fn decode(bytes: &[u8], service: &str) -> Result<Carried, String> {
    let body = bytes
        .strip_prefix(MAGIC)
        .ok_or("not a metric slot of this version of zen-telemetry")?;
    let split = bytes.len().checked_sub(DIGEST_LEN).filter(|&at| at >= MAGIC.len());
    let (signed, digest) = bytes.split_at(split.ok_or("truncated")?);
    if Sha256::digest(signed).as_slice() != digest {
        return Err("its checksum does not match (a partial or altered file)".to_owned());
    }
    let body = &body[..body.len() - DIGEST_LEN];
    let newline = body.iter().position(|&b| b == b'\n').ok_or("no header")?;
    let header: Header = serde_json::from_slice(&body[..newline]).map_err(|e| format!("its header: {e}"))?;
    if header.service != service {
        return Err(format!("it belongs to another service ({:?})", header.service));
    }
    let points = ExportMetricsServiceRequest::decode(&body[newline + 1..]).map_err(|e| format!("its points: {e}"))?;
    Ok(Carried {
        instance_id: header.instance_id,
        start_unix_nano: header.start_unix_nano,
        sent_unix_nano: header.sent_unix_nano,
        points,
    })
}

/// A directory name that says nothing of the service but tells services apart.
fn service_dir_name(service: &str) -> String {
    Sha256::digest(service.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn random_instance_id() -> String {
    use opentelemetry_sdk::trace::IdGenerator;
    opentelemetry_sdk::trace::RandomIdGenerator::default()
        .new_trace_id()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_root() -> tempfile::TempDir {
        tempfile::tempdir().expect("a temporary directory")
    }

    #[test]
    fn a_slot_keeps_its_identity_and_points_from_claim_to_claim() {
        let root = temp_root();
        let (slot, mut carried) = Slot::claim(root.path(), "svc", 5).unwrap().unwrap();
        assert_eq!((carried.start_unix_nano, carried.sent_unix_nano), (5, 0));
        assert_eq!(carried.instance_id.len(), 32);
        carried.sent_unix_nano = 9;
        carried.points.resource_metrics.push(Default::default());
        slot.save(&carried).unwrap();
        drop(slot);
        let (_slot, again) = Slot::claim(root.path(), "svc", 100).unwrap().unwrap();
        assert_eq!(again, carried);
    }

    #[test]
    fn concurrent_claims_get_different_slots_until_none_is_left() {
        let root = temp_root();
        let claims: Vec<_> = (0..SLOTS)
            .map(|_| Slot::claim(root.path(), "svc", 1).unwrap().unwrap())
            .collect();
        let states: std::collections::BTreeSet<_> = claims.iter().map(|(slot, _)| slot.state.clone()).collect();
        assert_eq!(states.len(), SLOTS);
        assert!(Slot::claim(root.path(), "svc", 1).unwrap().is_none(), "all taken");
        assert!(Slot::claim(root.path(), "other", 1).unwrap().is_some(), "per service");
        drop(claims);
        assert!(Slot::claim(root.path(), "svc", 1).unwrap().is_some(), "freed at drop");
    }

    #[test]
    fn a_corrupt_truncated_or_foreign_state_starts_a_fresh_identity() {
        let root = temp_root();
        let (slot, carried) = Slot::claim(root.path(), "svc", 1).unwrap().unwrap();
        slot.save(&carried).unwrap();
        let good = fs::read(&slot.state).unwrap();
        drop(slot);
        let mut flipped = good.clone();
        flipped[MAGIC.len() + 3] ^= 1;
        let foreign = encode(&carried, "another");
        for bad in [flipped, good[..good.len() - 1].to_vec(), b"junk".to_vec(), foreign] {
            assert!(decode(&bad, "svc").is_err());
            let state = root.path().join(service_dir_name("svc")).join("slot-0.state");
            fs::write(&state, &bad).unwrap();
            let (_slot, again) = Slot::claim(root.path(), "svc", 42).unwrap().unwrap();
            assert_ne!(again.instance_id, carried.instance_id);
            assert_eq!(again.start_unix_nano, 42);
        }
    }

    #[cfg(unix)]
    #[test]
    fn slot_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let root = temp_root();
        let (slot, carried) = Slot::claim(root.path(), "svc", 1).unwrap().unwrap();
        slot.save(&carried).unwrap();
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(slot.state.parent().unwrap()), 0o700);
        assert_eq!(mode(&slot.state), 0o600);
        assert_eq!(mode(&slot.state.with_file_name("slot-0.lock")), 0o600);
    }
}
