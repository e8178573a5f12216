//! Kiosk → trace server sync: sends unsynced passages in batches and marks them synced only
//! after the server acknowledged. Event ids are made on the kiosk, so a resend after a lost
//! acknowledgement is harmless (the server counts it as a duplicate).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use wire::{IngestReport, KioskIdentity, KioskStatus, PassageRecord, routes};

mod trust_list;
pub use trust_list::{
    ServerPolicy, check_policy, load_cached_policy, policy_cache_path, replace_durably, rules_with_cached_list,
};

use crate::check::{Rules, SharedRules};
use crate::clock::{Clock, SystemClock};
use crate::config::SyncConfig;
use crate::store::writer::StoreHandle;
use crate::store::{Store, StoreError};

/// Errors of the sync boundary; the kiosk keeps scanning and retries with backoff.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("trace server unreachable ({0}); passages stay queued and are sent when it is back")]
    Unreachable(String),
    #[error(
        "the trace server refused this kiosk's token (401: {0}); check [sync] token in kiosk.toml, or pair again with the command `trace-server kiosk rotate` prints"
    )]
    Unauthorized(String),
    #[error("the trace server refused the batch ({status}): {body}")]
    Refused { status: u16, body: String },
    #[error("the trace server failed ({status}); will retry")]
    ServerError { status: u16 },
    #[error("the trace server asked this kiosk to slow down ({status}); will retry later")]
    SlowDown { status: u16 },
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
    /// The kiosk's clock reads before a time it knows has passed (the signed trust list's, or
    /// its own newest passage's): what to set.
    pub clock_problem: Option<String>,
    /// The venue by every gate's passages, and this gate's share of its room.
    pub venue: crate::venue::VenueStatus,
}

pub struct SyncClient {
    url: String,
    token: String,
    /// Passages per request: `[sync] batch_size`, halved each time the server (or a proxy in
    /// front of it) answers 413, and kept that small for the client's life.
    batch_size: std::sync::atomic::AtomicUsize,
    http: reqwest::blocking::Client,
    /// Sent with every call (`Kiosk-Clock`): the server measures this kiosk's clock skew from
    /// it, not from passage times, which may be back-dated on purpose.
    clock: std::sync::Arc<dyn Clock>,
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
            batch_size: config.batch_size.max(1).into(),
            http,
            clock: std::sync::Arc::new(SystemClock),
        })
    }

    /// The clock whose time is sent to the server with each call (the kiosk's).
    pub fn with_clock(mut self, clock: std::sync::Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::blocking::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .header(routes::KIOSK_CLOCK_HEADER, self.clock.now().to_rfc3339())
    }

    fn get(&self, path: &str) -> Result<reqwest::blocking::Response, SyncError> {
        self.request(reqwest::Method::GET, path)
            .send()
            .map_err(|e| SyncError::Unreachable(format!("{}: {e}", self.url)))
    }

    /// Who the server says this kiosk's token belongs to, and the server's key.
    pub fn whoami(&self) -> Result<KioskIdentity, SyncError> {
        accepted(self.get(routes::KIOSK_WHOAMI)?)?
            .json()
            .map_err(|e| SyncError::Refused {
                status: 200,
                body: format!("unreadable answer from {}: {e}; is this a trace server?", self.url),
            })
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
            let size = self.batch_size.load(std::sync::atomic::Ordering::Relaxed);
            let batch = store.backlog(size)?;
            if batch.is_empty() {
                return Ok(sent);
            }
            let response = self
                .request(reqwest::Method::POST, routes::PASSAGES)
                .json(&batch)
                .send()
                .map_err(|e| SyncError::Unreachable(e.to_string()))?;
            // Too large for the server or a proxy in front of it: nothing was stored, so the
            // same passages go again in halves. A single passage refused for its size stays
            // queued (an error the operator sees), never dropped.
            if response.status() == reqwest::StatusCode::PAYLOAD_TOO_LARGE && batch.len() > 1 {
                let half = batch.len() / 2;
                eprintln!(
                    "kiosk: the trace server took no batch of {}; sending {half} at a time",
                    batch.len()
                );
                self.batch_size.store(half, std::sync::atomic::Ordering::Relaxed);
                continue;
            }
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
                // A word the server does not know yet (it is older than this kiosk) is not the
                // passage's fault: keep it queued until the server is updated.
                let older_server = r.reason.contains("unknown variant");
                if older_server
                    || r.identity
                        && (p.kiosk_id.as_str(), p.venue_id.as_str()) == (current.0.as_str(), current.1.as_str())
                {
                    unanswered.insert(r.index);
                    wrong_token.get_or_insert_with(|| match older_server {
                        true => format!(
                            "{}: the trace server is older than this kiosk; update the server",
                            r.reason
                        ),
                        false => r.reason.clone(),
                    });
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
                let body = if reason.ends_with("update the server") {
                    format!("{reason}; the passages stay queued until it is")
                } else {
                    format!(
                        "{reason}; the passages stay queued: check [sync] token, [kiosk] id and [venue] id against what `trace-server kiosk add` was given"
                    )
                };
                return Err(SyncError::Refused { status: 403, body });
            }
        }
    }
}

/// The response if the server accepted the request; otherwise what went wrong, as the error
/// the sync loop handles (401: the token; 5xx, 408, 429: retry later; other: refused, with its
/// reason).
pub(crate) fn accepted(response: reqwest::blocking::Response) -> Result<reqwest::blocking::Response, SyncError> {
    match response.status().as_u16() {
        200..=299 => Ok(response),
        401 => Err(SyncError::Unauthorized(server_message(response))),
        status @ 500..=599 => Err(SyncError::ServerError { status }),
        // Rate-limited or cut for being slow: nothing is wrong with the passages.
        status @ (408 | 429) => Err(SyncError::SlowDown { status }),
        status => Err(SyncError::Refused {
            status,
            body: server_message(response),
        }),
    }
}

/// The `error` of the server's JSON answer, or its body as text.
fn server_message(response: reqwest::blocking::Response) -> String {
    let text = response.text().unwrap_or_default();
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or(text)
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

/// Who the sync thread syncs as: the kiosk's name and its `[gate] capacity` (sent with each
/// venue round).
pub struct Gate {
    pub kiosk_id: String,
    pub capacity: Option<u32>,
}

/// The kiosk's sync thread: runs for the life of the kiosk, never blocks scanning. Each round
/// sends the backlog and asks for the venue's view (every `venue_interval` when the venue
/// shares its room, else every `interval`); the trust list and the server's gap report are
/// fetched at most once per `interval`.
pub fn spawn(
    gate: Gate,
    config: SyncConfig,
    mut store: StoreHandle,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    rules: (Rules, SharedRules, std::path::PathBuf),
    initial: SyncStatus,
    report: impl Fn(SyncStatus) + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let (base, shared, cache) = rules;
    std::thread::Builder::new().name("sync".into()).spawn(move || {
        // What start-up found stays until a round replaces it; its clock finding is about the
        // log (the caller passes only that one), so it holds while the list's is rechecked.
        let log_clock = initial.clock_problem.clone();
        let mut status = initial;
        let mut failures = 0u32;
        let client = SyncClient::new(&config).map(|c| c.with_clock(clock.clone()));
        // The trust list and the gap report (a scan of this kiosk's passages on the server)
        // are not needed every few seconds: at start, then at most once per interval (the gap
        // report only after rounds that sent something: only sending can change it).
        let mut gaps_known = false;
        let mut sent_since_gaps = false;
        let mut list_fetched: Option<std::time::Instant> = None;
        let mut gaps_fetched: Option<std::time::Instant> = None;
        let due = |last: Option<std::time::Instant>| last.is_none_or(|t| t.elapsed() >= config.interval);
        loop {
            let result = match &client {
                Ok(c) => c.sync_once(&mut store).and_then(|sent| {
                    sent_since_gaps |= sent > 0;
                    if let Some(key) = &config.server_key
                        && due(list_fetched)
                    {
                        let policy = c.refresh_policy(key, &cache, clock.now())?;
                        let (merged, problems) = Rules::merged(&base, &policy);
                        status.clock_problem = merged.clock_problem(clock.now()).or_else(|| log_clock.clone());
                        status.trust_problems = problems;
                        if let Ok(mut r) = shared.write() {
                            *r = merged;
                        }
                        list_fetched = Some(std::time::Instant::now());
                    }
                    if !gaps_known || (sent_since_gaps && due(gaps_fetched)) {
                        let view = c.server_view(&gate.kiosk_id)?;
                        status.chain_problem = store.check_head(&view)?;
                        status.server_missing = view.gaps;
                        gaps_known = true;
                        sent_since_gaps = false;
                        gaps_fetched = Some(std::time::Instant::now());
                    }
                    Ok(())
                }),
                Err(e) => Err(SyncError::Unreachable(e.to_string())),
            };
            // Asked even when sending failed: cut off, the store still answers what is left
            // of the standing share, for the screen.
            let venue = match &client {
                Ok(c) => crate::venue::venue_round(c, &mut store, gate.capacity, clock.now(), &mut status.venue),
                Err(_) => Ok(()),
            };
            // Sending decides the backoff: a venue round that fails on its own (shown, and the
            // gate marked alone) must not slow the passages down.
            match result {
                Ok(_) => {
                    failures = 0;
                    status.last_success = Some(clock.now());
                    status.last_error = venue.err().map(|e| e.to_string());
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
            let every = if status.venue.shared() {
                config.venue_interval.min(config.interval)
            } else {
                config.interval
            };
            std::thread::sleep(backoff(every, failures));
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
