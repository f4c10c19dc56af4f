//! What the spools of a configuration hold, for `zen telemetry status`.

use std::path::PathBuf;
use std::time::Duration;

use super::store::Spool;
use crate::config::{Config, ExporterKind};

/// One destination's spool, as `zen telemetry status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpoolStatus {
    /// The directory (it exists only once a batch was spooled).
    pub dir: PathBuf,
    /// Batches waiting to be sent.
    pub batches: usize,
    /// Their size on disk.
    pub bytes: u64,
    /// The age of the oldest.
    pub oldest: Option<Duration>,
}

/// The spools `config` sends to and from: its span destination's, then its
/// metric destination's when that differs. Empty without a spool (spooling
/// off, no state directory, a local exporter, or a Google project not named
/// by the configuration). Makes nothing on disk.
pub(crate) fn status(config: &Config) -> Vec<SpoolStatus> {
    let Some(root) = config.spool.active_root() else {
        return Vec::new();
    };
    let spools: Vec<Spool> = match config.resolved_exporter() {
        ExporterKind::Otlp => [&config.otlp.traces, &config.otlp.metrics]
            .into_iter()
            .map(|destination| Spool::new(root, destination.endpoint_or_default(), None, config.spool.max_bytes))
            .collect(),
        ExporterKind::Gcp => config
            .gcp
            .project
            .iter()
            .map(|project| Spool::new(root, &config.gcp.endpoint, Some(&project.id), config.spool.max_bytes))
            .collect(),
        _ => Vec::new(),
    };
    let mut seen = Vec::new();
    spools
        .into_iter()
        .filter(|spool| {
            let new = !seen.iter().any(|dir| dir == spool.dir());
            seen.push(spool.dir().to_path_buf());
            new
        })
        .map(|spool| {
            let pending = spool.pending();
            SpoolStatus {
                dir: spool.dir().to_path_buf(),
                batches: pending.batches,
                bytes: pending.bytes,
                oldest: pending.oldest,
            }
        })
        .collect()
}
