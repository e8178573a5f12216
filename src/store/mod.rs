//! The local passage log (SQLite): the kiosk's durable truth. All SQL lives in this module.
//!
//! A passage is committed with `synchronous = FULL` in WAL mode before the caller hears
//! about it, so anything shown as "recorded" survives a power cut. Migrations are
//! append-only files under migrations/, run on open.

mod chain;
mod checkout;
mod pairing;
mod record;
mod salvage;
mod venue;
mod views;
pub mod writer;

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

pub use chain::ChainBreak;
pub use checkout::{CheckOut, CheckedOut, InsideVisit};
pub use pairing::{BacklogFate, BacklogGroup};
pub use record::PurgeReport;
pub use record::{Recorded, ScanInput, StoreSettings};
pub use salvage::SalvageReport;
pub use venue::ShareView;
pub use views::{DaySummary, DayView, Passage, PinLockout, day_bounds, write_csv};

/// Append-only migrations, in order. The index + 1 is the schema version.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_passages.sql"),
    include_str!("../../migrations/0002_open_visits_entered.sql"),
    include_str!("../../migrations/0003_log_id_parked.sql"),
    include_str!("../../migrations/0004_format_chain_v2.sql"),
    include_str!("../../migrations/0005_sent_as.sql"),
    include_str!("../../migrations/0006_venue_view.sql"),
];

/// Errors of the store boundary; messages say what an operator can do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the passage log {path}: {source}; check [storage] path and that the folder is writable")]
    Open { path: String, source: rusqlite::Error },
    #[error("the disk is full: the passage was NOT recorded; free space on the kiosk's disk")]
    DiskFull,
    #[error("the passage log is locked by another program; close other copies of the kiosk")]
    Busy,
    #[error("the passage log reports an error: {0}")]
    Sql(rusqlite::Error),
    #[error("the passage log was made by a newer kiosk (schema {found}, this kiosk knows {known}); update the kiosk")]
    TooNew { found: usize, known: usize },
    #[error("cannot write {path}: {source}")]
    Export { path: String, source: std::io::Error },
    #[error("the store thread has stopped; restart the kiosk")]
    Gone,
    #[error("cannot make the passage log {path} private (mode 0600): {source}; check who owns the file")]
    Permissions { path: String, source: std::io::Error },
    #[error(
        "the passage log is damaged ({0}); restart the kiosk: it moves the damaged file aside and starts a new log, and `kiosk log salvage FILE` recovers what is readable"
    )]
    Corrupt(String),
    #[error("cannot move the damaged passage log {path} aside: {source}; move it away by hand before restarting")]
    MoveAside { path: String, source: std::io::Error },
}

/// A damaged log the kiosk moved aside at start-up (it never writes over one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedAside {
    /// Where the damaged file now is (its -wal and -shm beside it under the same name).
    pub damaged: std::path::PathBuf,
    /// What SQLite reported.
    pub problem: String,
}

impl MovedAside {
    /// The operator's message.
    pub fn notice(&self) -> String {
        format!(
            "The passage log was damaged ({}) and was moved aside to {}; a new log was started. Recover what is readable with `kiosk log salvage {}`.",
            self.problem,
            self.damaged.display(),
            self.damaged.display()
        )
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::DiskFull,
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => StoreError::Busy,
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
                StoreError::Corrupt(e.to_string())
            }
            _ => StoreError::Sql(e),
        }
    }
}

/// The passage log. One writer owns it (see [`writer`]); readers may open their own.
pub struct Store {
    conn: Connection,
    settings: StoreSettings,
}

impl Store {
    pub fn open(path: &Path, settings: StoreSettings) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.display().to_string(),
            source,
        };
        make_private(path)?;
        let conn = Connection::open(path).map_err(|e| match StoreError::from(e) {
            StoreError::Sql(source) => open_err(source),
            other => other,
        })?;
        Self::with_connection(conn, settings).map_err(|e| match e {
            StoreError::Sql(source) => open_err(source),
            other => other,
        })
    }

    fn with_connection(mut conn: Connection, settings: StoreSettings) -> Result<Store, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: the WAL is fsynced at every commit, so a commit that returned survives power loss.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Purged passages are overwritten with zeros, not left readable in free pages.
        conn.pragma_update(None, "secure_delete", "ON")?;
        migrate(&mut conn)?;
        Ok(Store { conn, settings })
    }

    /// Opens the log for the running kiosk, after SQLite's quick check of every page. A log
    /// that is damaged (truncated, a garbage page, not a database at all) is never written
    /// over: it is renamed aside with a timestamp, together with its -wal and -shm, and a new
    /// log is started. The caller tells the operator.
    pub fn open_for_kiosk(
        path: &Path,
        settings: StoreSettings,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(Store, Option<MovedAside>), StoreError> {
        let opened = Store::open(path, settings.clone()).and_then(|s| {
            let check: String = s.conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
            if check == "ok" {
                Ok(s)
            } else {
                Err(StoreError::Corrupt(check))
            }
        });
        match opened {
            Ok(s) => Ok((s, None)),
            Err(StoreError::Corrupt(problem)) => {
                let damaged = move_aside(path, now)?;
                let store = Store::open(path, settings)?;
                Ok((store, Some(MovedAside { damaged, problem })))
            }
            Err(e) => Err(e),
        }
    }

    pub fn settings(&self) -> &StoreSettings {
        &self.settings
    }

    /// Caps the log at `pages` pages (`PRAGMA max_page_count`), so tests can make SQLite
    /// report a full disk without a small filesystem; `None` lifts the cap.
    #[doc(hidden)]
    pub fn cap_pages(&self, pages: Option<u64>) -> Result<(), StoreError> {
        let pages = pages.unwrap_or(0xFFFF_FFFE);
        self.conn
            .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?;
        Ok(())
    }

    /// `PRAGMA integrity_check`: "ok" when the file is sound.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        Ok(self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| r.get(0))
            .optional()?)
    }
}

/// The log holds who came when: readable by the kiosk's user only. SQLite gives its -wal and
/// -shm files the database file's mode, so creating (or narrowing) the file first covers all.
fn make_private(path: &Path) -> Result<(), StoreError> {
    let err = |source| StoreError::Permissions {
        path: path.display().to_string(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::metadata(path) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(err)?
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // A missing folder is reported by the open that follows, with its own advice.
                if path.parent().is_none_or(|d| d.as_os_str().is_empty() || d.exists()) {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o600)
                        .open(path)
                        .map_err(err)?;
                }
            }
            Err(e) => return Err(err(e)),
        }
    }
    Ok(())
}

/// Renames a damaged log and its -wal/-shm to `<name>.damaged-<UTC time>`, then syncs the
/// folder so the new names survive a power cut. Returns the new path of the log.
fn move_aside(path: &Path, now: chrono::DateTime<chrono::Utc>) -> Result<std::path::PathBuf, StoreError> {
    let err = |source| StoreError::MoveAside {
        path: path.display().to_string(),
        source,
    };
    let damaged = std::path::PathBuf::from(format!("{}.damaged-{}", path.display(), now.format("%Y%m%dT%H%M%SZ")));
    std::fs::rename(path, &damaged).map_err(err)?;
    for suffix in ["-wal", "-shm"] {
        let from = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if from.exists() {
            std::fs::rename(&from, format!("{}{suffix}", damaged.display())).map_err(err)?;
        }
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(err)?;
    }
    Ok(damaged)
}

/// Creates (or truncates) a file only the kiosk's user can read: exports of the log are as
/// private as the log.
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Creates a new file only the kiosk's user can read; fails if anything (a file, a link) is
/// already at `path`, so nothing is ever written through a link.
pub fn create_new_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: usize = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    if version > MIGRATIONS.len() {
        return Err(StoreError::TooNew {
            found: version,
            known: MIGRATIONS.len(),
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
