//! Where OTLP export goes, per signal: endpoint, protocol, headers,
//! compression, timeout and TLS files, from the standard
//! `OTEL_EXPORTER_OTLP_*` variables (a signal's own variable first, then the
//! generic one), checked where they are read. Nothing after loading reads
//! these variables again; the TLS files they name are read by
//! [`Config::read_files`](super::Config::read_files), when the pipeline starts.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::env::{EnvReader, decoded_pairs};

/// Where OTLP/gRPC goes when no `OTEL_EXPORTER_OTLP_*ENDPOINT` says.
pub const DEFAULT_OTLP_ENDPOINT: &str = "http://localhost:4317";
/// Where OTLP/HTTP goes when no `OTEL_EXPORTER_OTLP_*ENDPOINT` says.
pub const DEFAULT_OTLP_HTTP_ENDPOINT: &str = "http://localhost:4318";

/// The OTLP transport (`OTEL_EXPORTER_OTLP_PROTOCOL`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtlpProtocol {
    /// `grpc`: OTLP/gRPC, the default here (see the README for why).
    #[default]
    Grpc,
    /// `http/protobuf`: protobuf bodies POSTed to `/v1/traces` and `/v1/metrics`.
    HttpProtobuf,
}

impl OtlpProtocol {
    /// The name the variable uses.
    pub fn as_str(self) -> &'static str {
        match self {
            OtlpProtocol::Grpc => "grpc",
            OtlpProtocol::HttpProtobuf => "http/protobuf",
        }
    }
}

impl fmt::Display for OtlpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The compression of request bodies (`OTEL_EXPORTER_OTLP_COMPRESSION`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtlpCompression {
    /// Bodies go as they are.
    #[default]
    None,
    /// gzip.
    Gzip,
}

impl OtlpCompression {
    /// The name the variable uses.
    pub fn as_str(self) -> &'static str {
        match self {
            OtlpCompression::None => "none",
            OtlpCompression::Gzip => "gzip",
        }
    }
}

/// A PEM file named by a TLS variable or in code: its path, and once
/// [`Config::read_files`](super::Config::read_files) ran, its contents.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsFile {
    /// The variable that named it (`"code"` when set through the builder).
    pub variable: &'static str,
    /// Where it is.
    pub path: PathBuf,
    /// Its contents, once read and found to hold what it should.
    pub(crate) pem: Option<Arc<[u8]>>,
}

impl TlsFile {
    pub(crate) fn new(variable: &'static str, path: PathBuf) -> TlsFile {
        TlsFile {
            variable,
            path,
            pem: None,
        }
    }

    /// Whether the file was read and holds what it should.
    pub fn is_read(&self) -> bool {
        self.pem.is_some()
    }

    /// The PEM text, when it was read.
    #[cfg(feature = "otlp")]
    pub(crate) fn pem(&self) -> Option<&[u8]> {
        self.pem.as_deref()
    }
}

impl fmt::Debug for TlsFile {
    // The contents may be a private key: only where it came from is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsFile")
            .field("variable", &self.variable)
            .field("path", &self.path)
            .field("read", &self.pem.is_some())
            .finish()
    }
}

/// The TLS files of one destination; the system's and Mozilla's (webpki)
/// roots are trusted besides `certificate`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsFiles {
    /// A CA certificate to trust (`OTEL_EXPORTER_OTLP_CERTIFICATE`).
    pub certificate: Option<TlsFile>,
    /// The client's certificate chain, for mutual TLS (`…_CLIENT_CERTIFICATE`).
    pub client_certificate: Option<TlsFile>,
    /// The client's private key, for mutual TLS (`…_CLIENT_KEY`).
    pub client_key: Option<TlsFile>,
}

#[cfg(feature = "otlp")]
impl TlsFiles {
    pub(crate) fn each_mut(&mut self) -> impl Iterator<Item = (&mut TlsFile, TlsContent)> {
        [
            (self.certificate.as_mut(), TlsContent::Certificates),
            (self.client_certificate.as_mut(), TlsContent::Certificates),
            (self.client_key.as_mut(), TlsContent::PrivateKey),
        ]
        .into_iter()
        .filter_map(|(file, content)| Some((file?, content)))
    }
}

/// What a TLS file must hold.
#[cfg(feature = "otlp")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TlsContent {
    Certificates,
    PrivateKey,
}

/// One signal's OTLP destination.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtlpDestination {
    /// An absolute `http://` or `https://` URL; `None`: not configured
    /// (the `otlp` exporter then sends to the protocol's default).
    pub endpoint: Option<String>,
    /// The endpoint came from the signal's own variable (or setter): over
    /// HTTP it is then used as given, else `/v1/traces` or `/v1/metrics`
    /// is appended, as the OTLP specification says.
    pub signal_endpoint: bool,
    /// The variable whose value was not a URL and was ignored, if any.
    pub rejected_endpoint: Option<&'static str>,
    /// gRPC or HTTP.
    pub protocol: OtlpProtocol,
    /// Request body compression; `None`: none to an OTLP backend, gzip to
    /// Google (over the internet, where bytes cost more than the CPU).
    pub compression: Option<OtlpCompression>,
    /// The longest one request may take; `None`: the export timeout
    /// (`OTEL_BSP_EXPORT_TIMEOUT`, `OTEL_METRIC_EXPORT_TIMEOUT`).
    pub timeout: Option<Duration>,
    /// Private CA and client certificate.
    pub tls: TlsFiles,
    /// Request headers: lower-case names, percent-decoded values. Values
    /// may be secrets: `Debug` shows only the names.
    pub headers: Vec<(String, String)>,
    /// `/v1/traces` or `/v1/metrics`.
    http_path: &'static str,
}

impl OtlpDestination {
    fn for_signal(http_path: &'static str) -> OtlpDestination {
        OtlpDestination {
            endpoint: None,
            signal_endpoint: false,
            rejected_endpoint: None,
            protocol: OtlpProtocol::default(),
            compression: None,
            timeout: None,
            tls: TlsFiles::default(),
            headers: Vec::new(),
            http_path,
        }
    }

    /// The endpoint in force: the configured one, else the protocol's default.
    pub fn endpoint_or_default(&self) -> &str {
        self.endpoint.as_deref().unwrap_or(match self.protocol {
            OtlpProtocol::Grpc => DEFAULT_OTLP_ENDPOINT,
            OtlpProtocol::HttpProtobuf => DEFAULT_OTLP_HTTP_ENDPOINT,
        })
    }

    /// The URL requests go to: over gRPC the endpoint (the method path is
    /// gRPC's), over HTTP the signal's path under it unless the signal's
    /// own endpoint was given.
    pub fn url(&self) -> String {
        let endpoint = self.endpoint_or_default();
        match self.protocol {
            OtlpProtocol::HttpProtobuf if !(self.signal_endpoint && self.endpoint.is_some()) => {
                format!("{}{}", endpoint.trim_end_matches('/'), self.http_path)
            }
            _ => endpoint.to_owned(),
        }
    }

    /// Sets the endpoint from code (`signal`: the signal's own).
    pub(crate) fn set_endpoint(&mut self, endpoint: String, signal: bool) {
        self.endpoint = Some(endpoint);
        self.signal_endpoint = signal;
        self.rejected_endpoint = None;
    }
}

impl fmt::Debug for OtlpDestination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("OtlpDestination")
            .field("endpoint", &self.endpoint)
            .field("signal_endpoint", &self.signal_endpoint)
            .field("rejected_endpoint", &self.rejected_endpoint)
            .field("protocol", &self.protocol)
            .field("compression", &self.compression)
            .field("timeout", &self.timeout)
            .field("tls", &self.tls)
            .field("header_names", &names)
            .finish()
    }
}

/// The OTLP destinations of spans and metric points.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtlpSettings {
    /// Spans: `OTEL_EXPORTER_OTLP_TRACES_*`, else `OTEL_EXPORTER_OTLP_*`.
    pub traces: OtlpDestination,
    /// Metric points: `OTEL_EXPORTER_OTLP_METRICS_*`, else `OTEL_EXPORTER_OTLP_*`.
    pub metrics: OtlpDestination,
}

impl Default for OtlpSettings {
    fn default() -> Self {
        OtlpSettings {
            traces: OtlpDestination::for_signal("/v1/traces"),
            metrics: OtlpDestination::for_signal("/v1/metrics"),
        }
    }
}

impl OtlpSettings {
    /// Both destinations, to set something on each.
    pub(crate) fn both_mut(&mut self) -> [&mut OtlpDestination; 2] {
        [&mut self.traces, &mut self.metrics]
    }
}

/// The variables of one signal (or the generic ones).
struct Names {
    endpoint: &'static str,
    headers: &'static str,
    protocol: &'static str,
    compression: &'static str,
    timeout: &'static str,
    certificate: &'static str,
    client_certificate: &'static str,
    client_key: &'static str,
}

macro_rules! names {
    ($infix:literal) => {
        Names {
            endpoint: concat!("OTEL_EXPORTER_OTLP_", $infix, "ENDPOINT"),
            headers: concat!("OTEL_EXPORTER_OTLP_", $infix, "HEADERS"),
            protocol: concat!("OTEL_EXPORTER_OTLP_", $infix, "PROTOCOL"),
            compression: concat!("OTEL_EXPORTER_OTLP_", $infix, "COMPRESSION"),
            timeout: concat!("OTEL_EXPORTER_OTLP_", $infix, "TIMEOUT"),
            certificate: concat!("OTEL_EXPORTER_OTLP_", $infix, "CERTIFICATE"),
            client_certificate: concat!("OTEL_EXPORTER_OTLP_", $infix, "CLIENT_CERTIFICATE"),
            client_key: concat!("OTEL_EXPORTER_OTLP_", $infix, "CLIENT_KEY"),
        }
    };
}

const GENERIC: Names = names!("");
const TRACES: Names = names!("TRACES_");
const METRICS: Names = names!("METRICS_");

/// What one signal's and the generic variables say, before they are combined.
struct Read {
    endpoint: Checked,
    headers: Option<Vec<(String, String)>>,
    protocol: Option<OtlpProtocol>,
    compression: Option<OtlpCompression>,
    timeout: Option<Duration>,
    certificate: Option<TlsFile>,
    client_certificate: Option<TlsFile>,
    client_key: Option<TlsFile>,
}

fn read_names(reader: &mut EnvReader<'_>, names: &Names) -> Read {
    Read {
        endpoint: endpoint(reader, names.endpoint),
        headers: headers(reader, names.headers),
        protocol: protocol(reader, names.protocol),
        compression: compression(reader, names.compression),
        timeout: reader
            .number(names.timeout, "milliseconds, a whole number above 0", |ms: u64| ms > 0)
            .map(Duration::from_millis),
        certificate: tls_file(reader, names.certificate),
        client_certificate: tls_file(reader, names.client_certificate),
        client_key: tls_file(reader, names.client_key),
    }
}

/// Reads both signals' destinations, warning once per bad variable.
pub(crate) fn read(reader: &mut EnvReader<'_>) -> OtlpSettings {
    let generic = read_names(reader, &GENERIC);
    let mut settings = OtlpSettings::default();
    for (destination, names) in [(&mut settings.traces, &TRACES), (&mut settings.metrics, &METRICS)] {
        let own = read_names(reader, names);
        (destination.endpoint, destination.rejected_endpoint) = match (own.endpoint, &generic.endpoint) {
            (Checked::Valid(url), _) => {
                destination.signal_endpoint = true;
                (Some(url), None)
            }
            (Checked::Unset, Checked::Valid(url)) => (Some(url.clone()), None),
            (Checked::Invalid, Checked::Valid(url)) => (Some(url.clone()), Some(names.endpoint)),
            (Checked::Invalid, _) => (None, Some(names.endpoint)),
            (Checked::Unset, Checked::Invalid) => (None, Some(GENERIC.endpoint)),
            (Checked::Unset, Checked::Unset) => (None, None),
        };
        destination.headers = own.headers.or_else(|| generic.headers.clone()).unwrap_or_default();
        destination.protocol = own.protocol.or(generic.protocol).unwrap_or_default();
        destination.compression = own.compression.or(generic.compression);
        destination.timeout = own.timeout.or(generic.timeout);
        destination.tls = TlsFiles {
            certificate: own.certificate.or_else(|| generic.certificate.clone()),
            client_certificate: own.client_certificate.or_else(|| generic.client_certificate.clone()),
            client_key: own.client_key.or_else(|| generic.client_key.clone()),
        };
    }
    settings
}

enum Checked {
    Unset,
    Invalid,
    Valid(String),
}

fn endpoint(reader: &mut EnvReader<'_>, variable: &'static str) -> Checked {
    let Some(raw) = reader.non_empty(variable) else {
        return Checked::Unset;
    };
    if let Some(url) = checked_endpoint(&raw) {
        return Checked::Valid(url);
    }
    reader.warn(
        variable,
        raw,
        "an absolute http:// or https:// URL with a host (e.g. http://localhost:4317); treating it as not set",
    );
    Checked::Invalid
}

fn protocol(reader: &mut EnvReader<'_>, variable: &'static str) -> Option<OtlpProtocol> {
    let raw = reader.non_empty(variable)?;
    match raw.to_ascii_lowercase().as_str() {
        "grpc" => Some(OtlpProtocol::Grpc),
        "http/protobuf" => Some(OtlpProtocol::HttpProtobuf),
        "http/json" => {
            reader.warn(
                variable,
                raw,
                "grpc or http/protobuf (zen-telemetry does not send OTLP/JSON); using http/protobuf",
            );
            Some(OtlpProtocol::HttpProtobuf)
        }
        _ => {
            reader.warn(variable, raw, "grpc or http/protobuf; using grpc");
            None
        }
    }
}

fn compression(reader: &mut EnvReader<'_>, variable: &'static str) -> Option<OtlpCompression> {
    let raw = reader.non_empty(variable)?;
    match raw.to_ascii_lowercase().as_str() {
        "gzip" => Some(OtlpCompression::Gzip),
        "none" => Some(OtlpCompression::None),
        _ => {
            reader.warn(variable, raw, "gzip or none; using none");
            None
        }
    }
}

fn tls_file(reader: &mut EnvReader<'_>, variable: &'static str) -> Option<TlsFile> {
    let raw = reader.non_empty(variable)?;
    if raw.contains('\0') {
        reader.warn(variable, raw, "a file path; treating it as not set");
        return None;
    }
    Some(TlsFile::new(variable, PathBuf::from(raw)))
}

/// Reads the TLS files the destinations name, once each, with one warning
/// per file that cannot be used (the destination then goes without it:
/// no private CA, or no client certificate).
#[cfg(feature = "otlp")]
pub(crate) fn read_tls_files(settings: &mut OtlpSettings, warnings: &mut Vec<super::env::ConfigWarning>) {
    let mut seen: Vec<(PathBuf, Option<Arc<[u8]>>)> = Vec::new();
    for destination in settings.both_mut() {
        for (file, content) in destination.tls.each_mut() {
            if file.pem.is_some() {
                continue;
            }
            if let Some((_, pem)) = seen.iter().find(|(path, _)| *path == file.path) {
                file.pem.clone_from(pem);
                continue;
            }
            let pem = match checked_pem(&file.path, content) {
                Ok(pem) => Some(pem),
                Err(problem) => {
                    let expected = match content {
                        TlsContent::Certificates => "a readable PEM file of certificates",
                        TlsContent::PrivateKey => "a readable PEM file with a private key",
                    };
                    warnings.push(super::env::ConfigWarning::new(
                        file.variable,
                        file.path.display().to_string(),
                        format!("{expected} ({problem}); going without it"),
                    ));
                    None
                }
            };
            file.pem.clone_from(&pem);
            seen.push((file.path.clone(), pem));
        }
    }
}

#[cfg(feature = "otlp")]
fn checked_pem(path: &std::path::Path, content: TlsContent) -> Result<Arc<[u8]>, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let bytes = std::fs::read(path).map_err(|error| error.to_string())?;
    match content {
        TlsContent::Certificates => {
            let certificates = CertificateDer::pem_slice_iter(&bytes)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| format!("not PEM: {error}"))?;
            if certificates.is_empty() {
                return Err("no CERTIFICATE in it".to_owned());
            }
        }
        TlsContent::PrivateKey => {
            PrivateKeyDer::from_pem_slice(&bytes).map_err(|error| format!("no private key in it: {error}"))?;
        }
    }
    Ok(Arc::from(bytes))
}

/// `text` as an endpoint (without a trailing `/`), when it is an absolute
/// `http://` or `https://` URL with a host.
pub(crate) fn checked_endpoint(text: &str) -> Option<String> {
    is_http_url(text).then(|| text.trim_end_matches('/').to_owned())
}

/// An absolute `http://` or `https://` URL with a host.
fn is_http_url(text: &str) -> bool {
    text.parse::<http::Uri>().is_ok_and(|uri| {
        matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some_and(|host| !host.is_empty())
    })
}

/// The pairs of a headers variable (`name=value,…`, values percent-encoded,
/// as the OTel specification says); `None` when unset. Bad pairs are
/// dropped with one warning naming each by position and why, never
/// echoing a value, which may be a secret.
fn headers(reader: &mut EnvReader<'_>, variable: &'static str) -> Option<Vec<(String, String)>> {
    let pairs = decoded_pairs(reader, variable, |name, value| {
        let name = name.to_ascii_lowercase();
        checked_header(&name, &value)?;
        Ok((name, value))
    })?;
    Some(pairs)
}

/// Whether `name` (lower case, decoded) and `value` (decoded) make an HTTP
/// header; why not, when they do not.
pub(crate) fn checked_header(name: &str, value: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("has an empty name");
    }
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err("has a name that is not an HTTP header name");
    }
    if http::HeaderValue::from_str(value).is_err() {
        return Err("has a value that is not a valid header value");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_from(vars: &[(&str, &str)]) -> (OtlpSettings, Vec<super::super::env::ConfigWarning>) {
        let lookup = |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned());
        let mut reader = EnvReader {
            lookup: &lookup,
            warnings: Vec::new(),
        };
        let settings = read(&mut reader);
        (settings, reader.warnings)
    }

    #[test]
    fn headers_parse_decode_and_drop_bad_pairs_by_position() {
        let (settings, warnings) = read_from(&[(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "api-key=a%20b, X-Team = core ,broken,=empty,,%zz=1,k=%4,a b=1",
        )]);
        assert_eq!(
            settings.traces.headers,
            [
                ("api-key".to_owned(), "a b".to_owned()),
                ("x-team".to_owned(), "core".to_owned())
            ]
        );
        assert_eq!(settings.metrics.headers, settings.traces.headers);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let text = warnings[0].to_string();
        for said in [
            "pair 3 has no '='",
            "pair 4 has an empty name",
            "pair 5 is empty",
            "pair 6 has a malformed percent-escape",
            "pair 7 has a malformed percent-escape",
            "pair 8 has a name that is not an HTTP header name",
        ] {
            assert!(text.contains(said), "{said}: {text}");
        }
        assert!(
            !text.contains("a%20b") && !text.contains("core"),
            "values are never shown: {text}"
        );
    }

    #[test]
    fn endpoints_must_be_http_urls_and_a_bad_one_is_not_set() {
        let (settings, warnings) = read_from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "notaurl")]);
        assert_eq!(settings.traces.endpoint, None);
        assert_eq!(settings.traces.rejected_endpoint, Some("OTEL_EXPORTER_OTLP_ENDPOINT"));
        assert_eq!(settings.traces.endpoint_or_default(), DEFAULT_OTLP_ENDPOINT);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].variable, "OTEL_EXPORTER_OTLP_ENDPOINT");
        assert_eq!(warnings[0].value, "notaurl");

        let (settings, warnings) = read_from(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector.example:4317/"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "ftp://x"),
        ]);
        assert_eq!(
            settings.traces.endpoint.as_deref(),
            Some("https://collector.example:4317")
        );
        assert_eq!(
            settings.metrics.endpoint.as_deref(),
            Some("https://collector.example:4317")
        );
        assert_eq!(
            settings.metrics.rejected_endpoint,
            Some("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
        );
        assert_eq!(warnings.len(), 1);
        for bad in ["localhost:4317", "http://", "/v1/traces", "127.0.0.1"] {
            assert!(!is_http_url(bad), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_a_header_value() {
        let (settings, _) = read_from(&[("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20s3cr3t")]);
        let shown = format!("{settings:?}");
        assert!(shown.contains("authorization") && !shown.contains("s3cr3t"), "{shown}");
    }
}
