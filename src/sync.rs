//! Kiosk → trace server sync: sends unsynced passages in batches and marks them synced only
//! after the server acknowledged. Event ids are made on the kiosk, so a resend after a lost
//! acknowledgement is harmless (the server counts it as a duplicate).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::SyncConfig;
use crate::store::writer::StoreHandle;
use crate::store::{Passage, Store, StoreError};

/// Errors of the sync boundary; the kiosk keeps scanning and retries with backoff.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("trace server unreachable ({0}); passages stay queued and are sent when it is back")]
    Unreachable(String),
    #[error("the trace server refused this kiosk's token (401): check [sync] token in kiosk.toml")]
    Unauthorized,
    #[error("the trace server refused the batch ({status}): {body}")]
    Refused { status: u16, body: String },
    #[error("the trace server failed ({status}); will retry")]
    ServerError { status: u16 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the trust list from the server was refused ({0}); keeping the last good one. Check [sync] server_key against `trace-server key`"
    )]
    BadPolicy(String),
    #[error("cannot keep the trust list on disk: {0}")]
    Cache(String),
}

/// Where the sync worker reads the backlog from and records acknowledgements.
pub trait SyncStore {
    fn unsynced(&mut self, limit: usize) -> Result<Vec<Passage>, StoreError>;
    fn acknowledged(&mut self, event_ids: &[String]) -> Result<usize, StoreError>;
    fn pending(&mut self) -> Result<u32, StoreError>;
}

impl SyncStore for Store {
    fn unsynced(&mut self, limit: usize) -> Result<Vec<Passage>, StoreError> {
        self.unsynced_batch(limit)
    }
    fn acknowledged(&mut self, ids: &[String]) -> Result<usize, StoreError> {
        self.mark_synced(ids)
    }
    fn pending(&mut self) -> Result<u32, StoreError> {
        self.pending_sync()
    }
}

impl SyncStore for StoreHandle {
    fn unsynced(&mut self, limit: usize) -> Result<Vec<Passage>, StoreError> {
        self.unsynced_batch(limit).recv().map_err(|_| StoreError::Gone)?
    }
    fn acknowledged(&mut self, ids: &[String]) -> Result<usize, StoreError> {
        self.mark_synced(ids.to_vec()).recv().map_err(|_| StoreError::Gone)?
    }
    fn pending(&mut self) -> Result<u32, StoreError> {
        self.pending_sync().recv().map_err(|_| StoreError::Gone)?
    }
}

/// What the operator screen shows about sync.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncStatus {
    pub pending: u32,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Sequence ranges of this kiosk's passages the server never received (inclusive): a
    /// lost passage shows on the operator screen, not only in the server's reports.
    pub server_missing: Vec<(i64, i64)>,
}

/// The part of the server's `GET /v1/kiosks/{id}/status` the kiosk uses.
#[derive(Debug, serde::Deserialize)]
struct ServerView {
    gaps: Vec<(i64, i64)>,
}

pub struct SyncClient {
    url: String,
    token: String,
    batch_size: usize,
    http: reqwest::blocking::Client,
}

impl SyncClient {
    pub fn new(config: &SyncConfig) -> Result<Self, SyncError> {
        let http = reqwest::blocking::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| SyncError::Unreachable(e.to_string()))?;
        Ok(SyncClient {
            url: config.url.clone(),
            token: config.token.0.clone(),
            batch_size: config.batch_size,
            http,
        })
    }

    fn get(&self, path: &str) -> Result<reqwest::blocking::Response, SyncError> {
        self.http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .send()
            .map_err(|e| SyncError::Unreachable(e.to_string()))
    }

    /// Sequence ranges of `kiosk_id`'s passages the server reports as never received.
    pub fn missing_on_server(&self, kiosk_id: &str) -> Result<Vec<(i64, i64)>, SyncError> {
        let view: ServerView = accepted(self.get(&format!("/v1/kiosks/{kiosk_id}/status"))?)?
            .json()
            .map_err(|e| SyncError::Refused {
                status: 200,
                body: format!("unreadable status: {e}"),
            })?;
        Ok(view.gaps)
    }

    /// Sends batches until nothing is pending; returns how many passages were acknowledged.
    pub fn sync_once(&self, store: &mut dyn SyncStore) -> Result<usize, SyncError> {
        let mut sent = 0;
        loop {
            let batch = store.unsynced(self.batch_size)?;
            if batch.is_empty() {
                return Ok(sent);
            }
            let response = self
                .http
                .post(format!("{}/v1/passages", self.url))
                .bearer_auth(&self.token)
                .json(&batch)
                .send()
                .map_err(|e| SyncError::Unreachable(e.to_string()))?;
            accepted(response)?;
            let ids: Vec<String> = batch.iter().map(|p| p.event_id.clone()).collect();
            store.acknowledged(&ids)?;
            sent += ids.len();
        }
    }
}

/// The response if the server accepted the request; otherwise what went wrong, as the error
/// the sync loop handles (401: the token; 5xx: retry later; other: refused, with its reason).
fn accepted(response: reqwest::blocking::Response) -> Result<reqwest::blocking::Response, SyncError> {
    match response.status().as_u16() {
        200..=299 => Ok(response),
        401 => Err(SyncError::Unauthorized),
        status @ 500..=599 => Err(SyncError::ServerError { status }),
        status => Err(SyncError::Refused {
            status,
            body: response.text().unwrap_or_default(),
        }),
    }
}

/// Delay before the next attempt: the interval when healthy, doubling per failure up to five
/// minutes, with ±50 % jitter so a fleet of kiosks does not retry in lockstep.
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    let base = interval
        .saturating_mul(1u32 << failures.min(10))
        .min(Duration::from_secs(300))
        .max(interval);
    let mut r = [0u8; 2];
    let jitter = match getrandom::fill(&mut r) {
        Ok(()) => 0.5 + u16::from_le_bytes(r) as f64 / u16::MAX as f64,
        Err(_) => 1.0,
    };
    base.mul_f64(if failures == 0 { 1.0 } else { jitter })
}

/// The kiosk's sync thread: runs for the life of the kiosk, never blocks scanning.
pub fn spawn(
    kiosk_id: String,
    config: SyncConfig,
    mut store: StoreHandle,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    rules: (Rules, SharedRules, std::path::PathBuf),
    report: impl Fn(SyncStatus) + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let (base, shared, cache) = rules;
    std::thread::Builder::new().name("sync".into()).spawn(move || {
        let mut status = SyncStatus::default();
        let mut failures = 0u32;
        let client = SyncClient::new(&config);
        // The server's gap report costs it a scan of this kiosk's passages: ask once at start
        // and then only after rounds that sent something (only sending can change it).
        let mut gaps_known = false;
        loop {
            let result = match &client {
                Ok(c) => c.sync_once(&mut store).and_then(|sent| {
                    if let Some(key) = &config.server_key {
                        let policy = c.refresh_policy(key, &cache)?;
                        if let Ok(mut r) = shared.write() {
                            *r = Rules::merged(&base, &policy);
                        }
                    }
                    if sent > 0 || !gaps_known {
                        status.server_missing = c.missing_on_server(&kiosk_id)?;
                        gaps_known = true;
                    }
                    Ok(())
                }),
                Err(e) => Err(SyncError::Unreachable(e.to_string())),
            };
            match result {
                Ok(_) => {
                    failures = 0;
                    status.last_success = Some(clock.now());
                    status.last_error = None;
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    status.last_error = Some(e.to_string());
                }
            }
            status.pending = store.pending().unwrap_or(status.pending);
            report(status.clone());
            std::thread::sleep(backoff(config.interval, failures));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let i = Duration::from_secs(10);
        assert_eq!(backoff(i, 0), i);
        let third = backoff(i, 3);
        assert!(
            third >= Duration::from_secs(40) && third <= Duration::from_secs(120),
            "{third:?}"
        );
        assert!(backoff(i, 30) <= Duration::from_secs(450));
    }
}

/// The trust list and risk regions from the server, after its signature was checked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct ServerPolicy {
    pub version: u32,
    pub issued_at: DateTime<Utc>,
    pub issuers: Vec<String>,
    pub risk_regions: Vec<String>,
}

#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
struct SignedDocument {
    document: String,
    signature: String,
}

/// Checks a signed document against the pinned server key and parses it.
fn verify_policy(server_key: &str, signed: &SignedDocument) -> Result<ServerPolicy, SyncError> {
    vp1::verify_document(server_key, signed.document.as_bytes(), &signed.signature)
        .map_err(|e| SyncError::BadPolicy(e.to_string()))?;
    let policy: ServerPolicy = serde_json::from_str(&signed.document)
        .map_err(|e| SyncError::BadPolicy(format!("unreadable document: {e}")))?;
    if policy.version != 1 {
        return Err(SyncError::BadPolicy(format!(
            "unknown document version {}",
            policy.version
        )));
    }
    Ok(policy)
}

impl SyncClient {
    /// Fetches the signed trust list, verifies it with the pinned key, and on success stores
    /// it (atomically) at `cache` so that the kiosk keeps it through restarts while offline.
    pub fn refresh_policy(&self, server_key: &str, cache: &std::path::Path) -> Result<ServerPolicy, SyncError> {
        let signed: SignedDocument = accepted(self.get("/v1/kiosk/policy")?)?
            .json()
            .map_err(|e| SyncError::BadPolicy(e.to_string()))?;
        let policy = verify_policy(server_key, &signed)?;
        let text = serde_json::to_string(&signed).map_err(|e| SyncError::BadPolicy(e.to_string()))?;
        let tmp = cache.with_extension("tmp");
        std::fs::write(&tmp, text)
            .and_then(|_| std::fs::rename(&tmp, cache))
            .map_err(|e| SyncError::Cache(format!("{}: {e}", cache.display())))?;
        Ok(policy)
    }
}

/// The last good trust list kept on disk, checked again against the pinned key (a file edited
/// on the kiosk is refused like a forged download).
pub fn load_cached_policy(server_key: &str, cache: &std::path::Path) -> Result<Option<ServerPolicy>, SyncError> {
    let text = match std::fs::read_to_string(cache) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SyncError::Cache(format!("{}: {e}", cache.display()))),
    };
    let signed: SignedDocument = serde_json::from_str(&text).map_err(|e| SyncError::BadPolicy(e.to_string()))?;
    verify_policy(server_key, &signed).map(Some)
}

/// Where the trust-list cache lives: beside the passage log.
pub fn policy_cache_path(db_path: &std::path::Path) -> std::path::PathBuf {
    db_path.with_extension("policy.json")
}

/// Trusted issuers and policy as the scan worker sees them: the configuration's, plus the
/// server's signed list once one has been received.
#[derive(Debug, Clone)]
pub struct Rules {
    pub trust: vp1::TrustStore,
    pub policy: crate::config::Policy,
}

pub type SharedRules = std::sync::Arc<std::sync::RwLock<Rules>>;

impl Rules {
    /// The configuration's rules with the server's added (never removed: a kiosk's own
    /// kiosk.toml stays authoritative for what it lists).
    pub fn merged(base: &Rules, server: &ServerPolicy) -> Rules {
        let mut rules = base.clone();
        for text in &server.issuers {
            let _ = rules.trust.add_public_file(text);
        }
        for r in &server.risk_regions {
            if !rules.policy.risk_regions.contains(r) {
                rules.policy.risk_regions.push(r.clone());
            }
        }
        rules
    }
}
