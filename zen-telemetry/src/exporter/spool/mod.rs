//! The on-disk spool of requests that could not be delivered before exit,
//! for a later process with the same destination to send, over either
//! protocol. `store` keeps the files, the bound and the claims, `format` a
//! file's bytes, `status` what waits; `destination.rs` writes here when a
//! request fails and `resend.rs` sends it back.
//!
//! - One directory per destination, named by a hash of endpoint and project,
//!   under `$XDG_STATE_HOME/zen-telemetry/spool` (else
//!   `~/.local/state/zen-telemetry/spool`). Directories are 0700, files 0600.
//! - A batch is written to a temporary file and renamed into place, so a
//!   reader never sees half a batch under a batch's name; a process killed
//!   mid-write leaves only a temporary file, removed by the next write or
//!   claim once it is a minute old.
//! - File: `ZENSPOOL`, a format version, the signal, the destination, the
//!   payload (an OTLP protobuf request) and a SHA-256 prefix of all before
//!   it. A file that fails any check is removed and reported, never sent.
//! - Names sort by age (`<unix nanos>-<pid>-<seq>-<items>.<signal>.batch`,
//!   items being spans or points, so dropping counts them without reading);
//!   over the size bound the oldest go first.
//! - A sender claims a batch by renaming it to `….claimed-<pid>-<unix secs>`:
//!   rename is atomic, so two processes never both send one. A claim older
//!   than [`STALE_CLAIM`] (by the time in its name: a rename keeps the
//!   file's own times) belongs to a process that died, and is taken over.
//!
//! Credentials never go here: only what the request body holds.
//!
//! Without the `otlp` feature only [`status`] is used: there is nothing to spool.

#![cfg_attr(not(feature = "otlp"), allow(dead_code))]

mod format;
mod signal;
mod status;
mod store;

pub(crate) use signal::Signal;
pub use status::SpoolStatus;
pub(crate) use status::status;
#[cfg(feature = "otlp")]
pub(crate) use store::{Skipped, Spool};
