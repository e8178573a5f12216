//! The signed trust list from the trace server: checked against the pinned key, kept on disk
//! beside the log so that the GUI, `kiosk scan` and `kiosk sync --once` all decide with the
//! same list, offline too.

use chrono::{DateTime, Utc};
use wire::{PolicyDocument, SignedDocument, routes};

use super::{SyncClient, SyncError, accepted};
use crate::check::Rules;
use crate::config::Config;

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
    passes::vp1::verify_document(server_key, signed.document.as_bytes(), &signed.signature)
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
///
/// The temporary file is created new (O_EXCL: a symlink planted in its place is not followed)
/// and given to the folder's owner: run as root (`sudo kiosk sync --once`), it must stay
/// readable by the kiosk's own user.
pub fn replace_durably(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let tmp = path.with_extension("tmp");
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let owner = std::fs::metadata(dir)?;
        let mine = f.metadata()?;
        if (mine.uid(), mine.gid()) != (owner.uid(), owner.gid()) {
            // Only root can give a file away, and only root needs to.
            if let Err(e) = std::os::unix::fs::fchown(&f, Some(owner.uid()), Some(owner.gid()))
                && e.kind() != std::io::ErrorKind::PermissionDenied
            {
                return Err(e);
            }
        }
    }
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

/// The rules a scan is decided by: the configuration's, merged with the last good signed list
/// kept on disk (when `[sync] server_key` pins one); and the problems met on the way, for the
/// operator. The GUI starts from this and `kiosk scan` uses it, so one pass gets one verdict.
pub fn rules_with_cached_list(config: &Config, now: DateTime<Utc>) -> (Rules, Vec<String>) {
    let base = config.rules();
    let cache = policy_cache_path(&config.db_path);
    match config
        .sync
        .as_ref()
        .and_then(|s| s.server_key.as_deref())
        .map(|k| load_cached_policy(k, &cache, now))
    {
        Some(Ok(Some(p))) => Rules::merged(&base, &p),
        Some(Err(e)) => (base, vec![format!("{e}; deciding with kiosk.toml's trust alone")]),
        _ => (base, Vec::new()),
    }
}
