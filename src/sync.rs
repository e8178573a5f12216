//! Kiosk → trace server sync: sends unsynced passages in batches and marks them synced only
//! after the server acknowledged. Event ids are made on the kiosk, so a resend after a lost
//! acknowledgement is harmless (the server counts it as a duplicate).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use wire::{IngestReport, KioskStatus, PassageRecord, PolicyDocument, SignedDocument, routes};

use crate::check::{Rules, SharedRules};
use crate::config::SyncConfig;
use crate::store::writer::StoreHandle;
use crate::store::{Store, StoreError};

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

/// Where the sync worker reads the backlog from and records the server's answers.
pub trait SyncStore {
    fn backlog(&mut self, limit: usize) -> Result<Vec<PassageRecord>, StoreError>;
    /// `sent` were answered; of them, `refused` (event id, server's reason) are parked.
    fn acknowledge(&mut self, sent: Vec<String>, refused: Vec<(String, String)>) -> Result<usize, StoreError>;
    fn pending(&mut self) -> Result<u32, StoreError>;
    fn parked(&mut self) -> Result<Vec<(i64, String)>, StoreError>;
    /// The kiosk and venue ids new passages are recorded under (the configuration's).
    fn identity(&self) -> (String, String);
    /// Whether this log agrees with the server's view of its chain head.
    fn check_head(&mut self, view: &KioskStatus) -> Result<Option<String>, StoreError>;
}

impl SyncStore for Store {
    fn backlog(&mut self, limit: usize) -> Result<Vec<PassageRecord>, StoreError> {
        self.sync_backlog(limit)
    }
    fn acknowledge(&mut self, sent: Vec<String>, refused: Vec<(String, String)>) -> Result<usize, StoreError> {
        Store::acknowledge(self, &sent, &refused)
    }
    fn pending(&mut self) -> Result<u32, StoreError> {
        self.pending_sync()
    }
    fn parked(&mut self) -> Result<Vec<(i64, String)>, StoreError> {
        Store::parked(self)
    }
    fn identity(&self) -> (String, String) {
        (self.settings().kiosk_id.clone(), self.settings().venue_id.clone())
    }
    fn check_head(&mut self, view: &KioskStatus) -> Result<Option<String>, StoreError> {
        self.check_against_server(view)
    }
}

impl SyncStore for StoreHandle {
    fn backlog(&mut self, limit: usize) -> Result<Vec<PassageRecord>, StoreError> {
        self.sync_backlog(limit).recv().map_err(|_| StoreError::Gone)?
    }
    fn acknowledge(&mut self, sent: Vec<String>, refused: Vec<(String, String)>) -> Result<usize, StoreError> {
        StoreHandle::acknowledge(self, sent, refused)
            .recv()
            .map_err(|_| StoreError::Gone)?
    }
    fn pending(&mut self) -> Result<u32, StoreError> {
        self.pending_sync().recv().map_err(|_| StoreError::Gone)?
    }
    fn parked(&mut self) -> Result<Vec<(i64, String)>, StoreError> {
        StoreHandle::parked(self).recv().map_err(|_| StoreError::Gone)?
    }
    fn identity(&self) -> (String, String) {
        StoreHandle::identity(self)
    }
    fn check_head(&mut self, view: &KioskStatus) -> Result<Option<String>, StoreError> {
        self.check_against_server(view.clone())
            .recv()
            .map_err(|_| StoreError::Gone)?
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
    /// Passages the server refused on their own and will never store: (seq, its reason).
    /// They are kept in the local log, out of the queue, for staff to look at.
    pub parked: Vec<(i64, String)>,
    /// Issuer keys of the server's trust list that could not be used, and trust-list cache
    /// problems.
    pub trust_problems: Vec<String>,
    /// This log disagrees with the chain head the server holds for it (newest passages cut
    /// out, or edited and re-chained).
    pub chain_problem: Option<String>,
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

    /// What the server knows of `kiosk_id`: gaps, its chain head, its clock.
    pub fn server_view(&self, kiosk_id: &str) -> Result<KioskStatus, SyncError> {
        accepted(self.get(&routes::kiosk_status(kiosk_id))?)?
            .json()
            .map_err(|e| SyncError::Refused {
                status: 200,
                body: format!("unreadable status: {e}"),
            })
    }

    /// Sequence ranges of `kiosk_id`'s passages the server reports as never received.
    pub fn missing_on_server(&self, kiosk_id: &str) -> Result<Vec<(i64, i64)>, SyncError> {
        Ok(self.server_view(kiosk_id)?.gaps)
    }

    /// Sends batches until nothing is pending; returns how many passages the server answered
    /// for (stored, duplicate, or refused and parked).
    pub fn sync_once(&self, store: &mut dyn SyncStore) -> Result<usize, SyncError> {
        let mut sent = 0;
        loop {
            let batch = store.backlog(self.batch_size)?;
            if batch.is_empty() {
                return Ok(sent);
            }
            let response = self
                .http
                .post(format!("{}{}", self.url, routes::PASSAGES))
                .bearer_auth(&self.token)
                .json(&batch)
                .send()
                .map_err(|e| SyncError::Unreachable(e.to_string()))?;
            let report: IngestReport = accepted(response)?.json().map_err(|e| SyncError::Refused {
                status: 200,
                body: format!("unreadable ingest report: {e}"),
            })?;
            // A refusal names the passage by its place in the batch (an unreadable one may
            // have no event id the server could read). A passage refused for its ids is
            // parked only if it was recorded under ids this kiosk no longer has (renamed or
            // moved); refused under the current ids, the token is wrong: keep it queued.
            let current = store.identity();
            let mut wrong_token = None;
            let mut refused = Vec::new();
            let mut unanswered = std::collections::HashSet::new();
            for r in &report.rejected {
                let Some(p) = batch.get(r.index) else { continue };
                if r.identity && (p.kiosk_id.as_str(), p.venue_id.as_str()) == (current.0.as_str(), current.1.as_str())
                {
                    unanswered.insert(r.index);
                    wrong_token.get_or_insert_with(|| r.reason.clone());
                } else {
                    refused.push((p.event_id.clone(), r.reason.clone()));
                }
            }
            let ids: Vec<String> = batch
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !unanswered.contains(i))
                .map(|(_, p)| p.event_id)
                .collect();
            sent += ids.len();
            store.acknowledge(ids, refused)?;
            if let Some(reason) = wrong_token {
                return Err(SyncError::Refused {
                    status: 403,
                    body: format!(
                        "{reason}; the passages stay queued: check [sync] token, [kiosk] id and [venue] id against what `trace-server kiosk add` was given"
                    ),
                });
            }
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
                        let policy = c.refresh_policy(key, &cache, clock.now())?;
                        let (merged, problems) = Rules::merged(&base, &policy);
                        status.trust_problems = problems;
                        if let Ok(mut r) = shared.write() {
                            *r = merged;
                        }
                    }
                    if sent > 0 || !gaps_known {
                        let view = c.server_view(&kiosk_id)?;
                        status.chain_problem = store.check_head(&view)?;
                        status.server_missing = view.gaps;
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
            status.pending = SyncStore::pending(&mut store).unwrap_or(status.pending);
            if let Ok(parked) = SyncStore::parked(&mut store) {
                status.parked = parked;
            }
            report(status.clone());
            std::thread::sleep(backoff(config.interval, failures));
        }
    })
}

/// The trust list and risk regions from the server, after its signature was checked.
pub type ServerPolicy = PolicyDocument;

/// Checks a signed trust list: the pinned server key's signature, a version this kiosk reads,
/// not expired at `now`, and not older than `kept` (the list already in use): an old signed
/// list replayed by someone between kiosk and server is refused like a forged one.
pub fn check_policy(
    server_key: &str,
    signed: &SignedDocument,
    now: DateTime<Utc>,
    kept: Option<&ServerPolicy>,
) -> Result<ServerPolicy, SyncError> {
    vp1::verify_document(server_key, signed.document.as_bytes(), &signed.signature)
        .map_err(|e| SyncError::BadPolicy(e.to_string()))?;
    let policy: ServerPolicy = serde_json::from_str(&signed.document)
        .map_err(|e| SyncError::BadPolicy(format!("unreadable document: {e}")))?;
    if !(1..=wire::POLICY_VERSION).contains(&policy.version) {
        return Err(SyncError::BadPolicy(format!(
            "unknown document version {}",
            policy.version
        )));
    }
    if let Some(expires) = policy.expires_at.filter(|e| *e <= now) {
        return Err(SyncError::BadPolicy(format!(
            "it expired at {expires}; the kiosk must reach the server for a fresh one"
        )));
    }
    if let Some(kept) = kept.filter(|k| policy.issued_at < k.issued_at) {
        return Err(SyncError::BadPolicy(format!(
            "it was issued at {}, before the list already in use ({}): an old list replayed",
            policy.issued_at, kept.issued_at
        )));
    }
    Ok(policy)
}

impl SyncClient {
    /// Fetches the signed trust list, verifies it with the pinned key, and on success stores
    /// it (atomically) at `cache` so that the kiosk keeps it through restarts while offline.
    pub fn refresh_policy(
        &self,
        server_key: &str,
        cache: &std::path::Path,
        now: DateTime<Utc>,
    ) -> Result<ServerPolicy, SyncError> {
        let signed: SignedDocument = accepted(self.get(routes::KIOSK_POLICY)?)?
            .json()
            .map_err(|e| SyncError::BadPolicy(e.to_string()))?;
        // The list kept on disk (expired or not) is the floor: never go back before it.
        let kept = read_cached(cache)?.and_then(|s| check_policy(server_key, &s, DateTime::<Utc>::MIN_UTC, None).ok());
        let policy = check_policy(server_key, &signed, now, kept.as_ref())?;
        let text = serde_json::to_string(&signed).map_err(|e| SyncError::BadPolicy(e.to_string()))?;
        replace_durably(cache, &text).map_err(|e| SyncError::Cache(format!("{}: {e}", cache.display())))?;
        Ok(policy)
    }
}

/// Replaces `path` with `text` so that a power cut leaves the old or the new file, whole: a
/// private temporary file, fsynced, renamed over, and the folder fsynced.
fn replace_durably(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = crate::store::create_private(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The last good trust list kept on disk, checked again against the pinned key (a file edited
/// on the kiosk is refused like a forged download).
/// An expired one is refused (the kiosk falls back to its own kiosk.toml until it reaches the
/// server).
pub fn load_cached_policy(
    server_key: &str,
    cache: &std::path::Path,
    now: DateTime<Utc>,
) -> Result<Option<ServerPolicy>, SyncError> {
    match read_cached(cache)? {
        Some(signed) => check_policy(server_key, &signed, now, None).map(Some),
        None => Ok(None),
    }
}

fn read_cached(cache: &std::path::Path) -> Result<Option<SignedDocument>, SyncError> {
    let text = match std::fs::read_to_string(cache) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SyncError::Cache(format!("{}: {e}", cache.display()))),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| SyncError::BadPolicy(e.to_string()))
}

/// Where the trust-list cache lives: beside the passage log.
pub fn policy_cache_path(db_path: &std::path::Path) -> std::path::PathBuf {
    db_path.with_extension("policy.json")
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
