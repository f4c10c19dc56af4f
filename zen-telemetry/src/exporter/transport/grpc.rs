//! OTLP/gRPC through tonic: a unary call of bytes already encoded.

use std::error::Error as _;

use bytes::{Buf, BufMut, Bytes};
use http::{HeaderMap, HeaderName, HeaderValue};
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::MetadataMap;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Status};
use tonic_types::StatusExt;

use super::refusal::{Refusal, described};
use super::settings::TransportSettings;
use crate::config::OtlpCompression;
use crate::exporter::spool::Signal;

/// A lazily connecting channel to one endpoint.
pub(crate) struct GrpcTransport {
    endpoint: String,
    channel: Channel,
    gzip: bool,
}

impl GrpcTransport {
    pub(crate) fn new(settings: &TransportSettings<'_>) -> Result<GrpcTransport, String> {
        let url = settings.url;
        let mut endpoint = Endpoint::from_shared(url.to_owned()).map_err(|e| format!("invalid endpoint {url}: {e}"))?;
        if url.starts_with("https://") {
            let mut tls = ClientTlsConfig::new().with_webpki_roots().with_native_roots();
            if let Some(pem) = settings.tls.certificate.as_ref().and_then(|file| file.pem()) {
                tls = tls.ca_certificate(Certificate::from_pem(pem));
            }
            if let (Some(certificate), Some(key)) = (
                settings.tls.client_certificate.as_ref().and_then(|file| file.pem()),
                settings.tls.client_key.as_ref().and_then(|file| file.pem()),
            ) {
                tls = tls.identity(Identity::from_pem(certificate, key));
            }
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|e| format!("TLS setup for {url} failed: {e}"))?;
        }
        Ok(GrpcTransport {
            endpoint: url.to_owned(),
            channel: endpoint.timeout(settings.timeout).connect_lazy(),
            gzip: settings.compression == OtlpCompression::Gzip,
        })
    }

    pub(crate) async fn send(
        &self,
        signal: Signal,
        payload: Bytes,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Result<Bytes, Refusal> {
        let mut request = tonic::Request::new(payload);
        let map: HeaderMap = headers.iter().cloned().collect();
        *request.metadata_mut() = MetadataMap::from_headers(map);
        let mut client = tonic::client::Grpc::new(self.channel.clone());
        if self.gzip {
            client = client.send_compressed(CompressionEncoding::Gzip);
        }
        let answer = async {
            client
                .ready()
                .await
                .map_err(|e| Status::unavailable(described(&self.endpoint, &e)))?;
            client.unary(request, export_path(signal), RawCodec).await
        };
        match answer.await {
            Ok(response) => Ok(response.into_inner()),
            Err(status) => Err(self.refusal(&status)),
        }
    }

    fn refusal(&self, status: &Status) -> Refusal {
        let code = status.code();
        let message = match code {
            Code::Unimplemented => format!(
                "{} answered UNIMPLEMENTED to the OTLP export: is this an OTLP/gRPC endpoint?",
                self.endpoint
            ),
            _ if speaks_http1(status) => format!(
                "{} answered HTTP/1.1 to gRPC: set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf (OTLP/HTTP \
                 usually listens on port 4318)",
                self.endpoint
            ),
            _ if status.source().is_some() => {
                format!("{} ({:?})", described(&self.endpoint, status), code)
            }
            _ => format!("{} answered {code:?}: {}", self.endpoint, status.message()),
        };
        Refusal {
            message,
            retry: worth_retrying(code),
            again_soon: passing(code),
            retry_after: status.get_details_retry_info().and_then(|info| info.retry_delay),
            denied: match code {
                Code::Unauthenticated => Some("Unauthenticated"),
                Code::PermissionDenied => Some("PermissionDenied"),
                _ => None,
            },
        }
    }
}

/// Whether the failure shows an HTTP/1 server: h2 then reads its status
/// line as a frame and finds garbage.
fn speaks_http1(status: &Status) -> bool {
    let text = format!("{status:?}");
    text.contains("frame with invalid size") || text.contains("HTTP/1") || text.contains("invalid HTTP version")
}

/// The OTLP/gRPC method for `signal`.
fn export_path(signal: Signal) -> http::uri::PathAndQuery {
    http::uri::PathAndQuery::from_static(match signal {
        Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    })
}

/// Answers that say the backend is briefly unable: the OTLP specification's
/// retryable codes, less those our deadline or a credentials pause handle.
fn passing(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::ResourceExhausted
            | Code::Aborted
            | Code::Cancelled
            | Code::OutOfRange
            | Code::DataLoss
    )
}

/// False for answers that say the data itself is wrong, or that nothing
/// there takes OTLP: sending the same bytes again cannot succeed.
fn worth_retrying(code: Code) -> bool {
    !matches!(code, Code::InvalidArgument | Code::Unimplemented | Code::NotFound)
}

/// Sends bytes already encoded and hands back the answer's bytes.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_refusals_of_the_data_itself_are_not_retried() {
        for code in [
            Code::Unavailable,
            Code::DeadlineExceeded,
            Code::ResourceExhausted,
            Code::Unauthenticated,
        ] {
            assert!(worth_retrying(code), "{code:?}");
        }
        for code in [Code::InvalidArgument, Code::Unimplemented, Code::NotFound] {
            assert!(!worth_retrying(code), "{code:?}");
        }
    }
}
