//! Google Cloud's transport: access tokens, the metadata server, and the
//! session the span and metric exporters share. Everything here runs on the
//! export runtime; detection, which runs at load, is `config::gcp`.

mod auth;
mod metadata;
mod resource;
mod session;

pub(crate) use resource::prepare;
pub(crate) use session::{Session, session};
