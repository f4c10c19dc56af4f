//! Google Cloud export: the Telemetry API exporter and its transport (access
//! tokens, the metadata server). Everything here runs on the export thread's
//! runtime; detection, which runs at load, is `config::gcp`.

mod auth;
mod metadata;
mod session;
mod telemetry_api;

pub(crate) use session::{Session, session};
pub(crate) use telemetry_api::{channel, exporter};
