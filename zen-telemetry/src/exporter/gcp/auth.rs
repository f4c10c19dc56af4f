//! Access tokens for the Telemetry API, from Application Default Credentials.
//!
//! One token is cached and handed to every export request; it is renewed in
//! the background shortly before it expires, so neither traced code nor each
//! batch waits for the OAuth server. Failures pause export for a cool-down
//! instead of retrying on every batch.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tonic::metadata::{Ascii, MetadataValue};

use super::metadata;
use crate::config::gcp::{CredentialsSource, GcpSettings};
use crate::diag;

/// The OAuth scopes the exporters ask for: spans, then metric points.
pub(crate) const SCOPES: [&str; 2] = [
    "https://www.googleapis.com/auth/trace.append",
    "https://www.googleapis.com/auth/monitoring.write",
];

/// Pause after credentials could not be found or used.
pub(crate) const NO_CREDENTIALS_COOLDOWN: Duration = Duration::from_secs(300);
/// Pause after the Telemetry API refused the credentials (401/403).
pub(crate) const REJECTED_COOLDOWN: Duration = Duration::from_secs(60);
/// Renew this long before expiry (at most half the token's lifetime). Below
/// gcp_auth's own 20 s margin, so its cache hands out a fresh token.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(15);
/// The most one token fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Why no token is available right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthError {
    /// In a cool-down after a failure; no request was made.
    Paused,
    /// The fetch failed just now (already reported).
    Failed(String),
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthError::Paused => f.write_str("Google Cloud export paused after a credentials failure"),
            AuthError::Failed(reason) => write!(f, "no Google Cloud access token: {reason}"),
        }
    }
}

enum TokenSource {
    Google(Arc<dyn gcp_auth::TokenProvider>),
    MetadataServer(String),
}

#[derive(Clone)]
struct CachedToken {
    header: MetadataValue<Ascii>,
    renew_at: Instant,
    expires_at: Instant,
}

/// Token cache and renewal for one exporter.
pub(crate) struct Auth {
    credentials: CredentialsSource,
    metadata_host: String,
    user_credentials_path: Option<std::path::PathBuf>,
    source: tokio::sync::OnceCell<Result<TokenSource, String>>,
    cached: Mutex<Option<CachedToken>>,
    paused_until: Mutex<Option<Instant>>,
    renewing: AtomicBool,
    fetch_lock: tokio::sync::Mutex<()>,
    warned_missing: AtomicBool,
    warned_rejected: AtomicBool,
}

impl Auth {
    pub(crate) fn new(settings: &GcpSettings) -> Arc<Auth> {
        Arc::new(Auth {
            credentials: settings.credentials.clone(),
            metadata_host: settings.metadata_host.clone(),
            user_credentials_path: settings.user_credentials_path.clone(),
            source: tokio::sync::OnceCell::new(),
            cached: Mutex::new(None),
            paused_until: Mutex::new(None),
            renewing: AtomicBool::new(false),
            fetch_lock: tokio::sync::Mutex::new(()),
            warned_missing: AtomicBool::new(false),
            warned_rejected: AtomicBool::new(false),
        })
    }

    /// The `authorization` value of the cached token, for the request interceptor.
    pub(crate) fn cached_header(&self) -> Option<MetadataValue<Ascii>> {
        let cached = lock(&self.cached);
        cached
            .as_ref()
            .filter(|t| Instant::now() < t.expires_at)
            .map(|t| t.header.clone())
    }

    /// Makes sure a valid token is cached: returns at once when one is,
    /// starting a background renewal when it is close to expiry.
    pub(crate) async fn ensure_token(self: &Arc<Self>) -> Result<(), AuthError> {
        let now = Instant::now();
        if let Some(token) = lock(&self.cached).clone()
            && now < token.expires_at
        {
            if now >= token.renew_at && !self.renewing.swap(true, Ordering::AcqRel) {
                let auth = self.clone();
                tokio::spawn(async move {
                    let _ = auth.fetch_and_cache().await;
                    auth.renewing.store(false, Ordering::Release);
                });
            }
            return Ok(());
        }
        if self.paused() {
            return Err(AuthError::Paused);
        }
        self.fetch_and_cache().await
    }

    /// Starts fetching the first token, so the first export need not wait.
    pub(crate) fn prefetch(self: &Arc<Self>, runtime: &tokio::runtime::Handle) {
        let auth = self.clone();
        runtime.spawn(async move {
            let _ = auth.ensure_token().await;
        });
    }

    /// The Telemetry API refused the token: drop it and pause.
    pub(crate) fn rejected(&self, code: &str, project: &str) {
        *lock(&self.cached) = None;
        *lock(&self.paused_until) = Some(Instant::now() + REJECTED_COOLDOWN);
        if !self.warned_rejected.swap(true, Ordering::Relaxed) {
            diag::stderr_line(&format!(
                "zen-telemetry: warning: Google Cloud refused the credentials ({code}); the account needs \
                 roles/telemetry.tracesWriter and roles/telemetry.metricsWriter on project {project} and the Telemetry API enabled; \
                 export paused for {} s",
                REJECTED_COOLDOWN.as_secs()
            ));
        }
    }

    fn paused(&self) -> bool {
        lock(&self.paused_until).is_some_and(|until| Instant::now() < until)
    }

    async fn fetch_and_cache(self: &Arc<Self>) -> Result<(), AuthError> {
        let _single_flight = self.fetch_lock.lock().await;
        if let Some(token) = lock(&self.cached).as_ref()
            && Instant::now() < token.renew_at
        {
            return Ok(());
        }
        let fetched = match tokio::time::timeout(FETCH_TIMEOUT, self.fetch()).await {
            Ok(result) => result,
            Err(_) => Err(format!("the token request took longer than {FETCH_TIMEOUT:?}")),
        };
        match fetched {
            Ok((token, lifetime)) => {
                let header = MetadataValue::try_from(format!("Bearer {token}"))
                    .map_err(|_| AuthError::Failed("the access token is not valid header text".to_owned()))?;
                let now = Instant::now();
                let margin = RENEW_BEFORE_EXPIRY.min(lifetime / 2);
                *lock(&self.cached) = Some(CachedToken {
                    header,
                    renew_at: now + lifetime - margin,
                    // Stop using it a little early: it must still be valid on arrival.
                    expires_at: now + lifetime - (lifetime / 10).min(Duration::from_secs(5)),
                });
                *lock(&self.paused_until) = None;
                diag::debug_line(|| format!("Google Cloud access token obtained, valid {lifetime:?}"));
                Ok(())
            }
            Err(reason) => {
                *lock(&self.paused_until) = Some(Instant::now() + NO_CREDENTIALS_COOLDOWN);
                if !self.warned_missing.swap(true, Ordering::Relaxed) {
                    diag::stderr_line(&format!(
                        "zen-telemetry: warning: no usable Google Cloud credentials ({}); spans are not exported; \
                         set GOOGLE_APPLICATION_CREDENTIALS or run `gcloud auth application-default login`{}",
                        self.credentials,
                        if diag::debug_enabled() {
                            ""
                        } else {
                            " (ZEN_TELEMETRY_DEBUG=1 shows why)"
                        }
                    ));
                }
                diag::debug_line(|| format!("Google Cloud credentials: {reason}"));
                Err(AuthError::Failed(reason))
            }
        }
    }

    async fn fetch(&self) -> Result<(String, Duration), String> {
        let source = self.source.get_or_init(|| self.open_source()).await;
        match source {
            Ok(TokenSource::Google(provider)) => {
                let token = provider.token(&SCOPES).await.map_err(|e| error_chain(&e))?;
                let lifetime = (token.expires_at() - chrono::Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO);
                if lifetime.is_zero() {
                    return Err("the token server returned an expired token".to_owned());
                }
                Ok((token.as_str().to_owned(), lifetime))
            }
            Ok(TokenSource::MetadataServer(host)) => metadata::token(host, &SCOPES.join(",")).await,
            Err(reason) => Err(reason.clone()),
        }
    }

    async fn open_source(&self) -> Result<TokenSource, String> {
        match &self.credentials {
            CredentialsSource::File { path, kind, .. } if kind == "service_account" => {
                gcp_auth::CustomServiceAccount::from_file(path)
                    .map(|account| TokenSource::Google(Arc::new(account)))
                    .map_err(|e| format!("{}: {}", path.display(), error_chain(&e)))
            }
            CredentialsSource::File { path, .. } => {
                // gcp_auth reads user credentials from the gcloud default location only.
                if self.user_credentials_path.as_deref() != Some(path.as_path()) {
                    return Err(format!(
                        "{}: authorized_user credentials are supported only at \
                         ~/.config/gcloud/application_default_credentials.json; use a service account key",
                        path.display()
                    ));
                }
                gcp_auth::ConfigDefaultCredentials::new()
                    .await
                    .map(|user| TokenSource::Google(Arc::new(user)))
                    .map_err(|e| format!("{}: {}", path.display(), error_chain(&e)))
            }
            CredentialsSource::MetadataServer => Ok(TokenSource::MetadataServer(self.metadata_host.clone())),
            CredentialsSource::None => {
                Err("no credentials file, and NO_GCE_CHECK forbids asking the metadata server".to_owned())
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
