//! How encoded OTLP requests travel: OTLP/gRPC through tonic, OTLP/HTTP with
//! protobuf bodies through hyper, TLS through rustls for both, gzip for
//! both. A transport sends bytes it is given and says, in words a person can
//! act on, why a send failed; what to retry, spool or count is the
//! destination's business (`destination.rs`).

mod grpc;
mod gzip;
mod http;
mod refusal;
mod settings;
mod tls;

use ::http::{HeaderName, HeaderValue};
use bytes::Bytes;

pub(crate) use refusal::Refusal;
pub(crate) use settings::TransportSettings;

use super::spool::Signal;
use crate::config::OtlpProtocol;

/// One destination's way there.
pub(crate) enum Transport {
    Grpc(grpc::GrpcTransport),
    // Boxed: the HTTP client is several times the gRPC channel's size.
    Http(Box<http::HttpTransport>),
}

impl Transport {
    /// A transport for `settings`; nothing connects until the first send.
    /// Must be called inside the private runtime (tonic spawns there).
    pub(crate) fn new(settings: &TransportSettings<'_>) -> Result<Transport, String> {
        Ok(match settings.protocol {
            OtlpProtocol::Grpc => Transport::Grpc(grpc::GrpcTransport::new(settings)?),
            OtlpProtocol::HttpProtobuf => Transport::Http(Box::new(http::HttpTransport::new(settings)?)),
        })
    }

    /// Sends one encoded `signal` request with `headers`; the answer's bytes
    /// (an `Export*ServiceResponse`) when the backend took it.
    pub(crate) async fn send(
        &self,
        signal: Signal,
        payload: Bytes,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Result<Bytes, Refusal> {
        match self {
            Transport::Grpc(grpc) => grpc.send(signal, payload, headers).await,
            Transport::Http(http) => http.send(signal, payload, headers).await,
        }
    }
}
