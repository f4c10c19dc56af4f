//! What a transport is built from.

use std::time::Duration;

use crate::config::{OtlpCompression, OtlpProtocol, TlsFiles};

/// What a transport is built from.
pub(crate) struct TransportSettings<'a> {
    /// The endpoint (gRPC) or the signal's URL (HTTP).
    pub(crate) url: &'a str,
    pub(crate) protocol: OtlpProtocol,
    pub(crate) compression: OtlpCompression,
    pub(crate) tls: &'a TlsFiles,
    /// The longest one request may take.
    pub(crate) timeout: Duration,
}
