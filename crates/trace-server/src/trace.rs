//! The tracing service: every tracing query, whether it comes over HTTP, from the CLI or (next)
//! from the web console, is checked, written to the audit table with who asked, and only then
//! run. Nothing else reads the movement table for a person.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::Db;
pub use crate::db::{Contact, Hotspot, Peak, Visit};
use crate::error::ServerError;

/// The time window of a query, `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// The longest window one query may read: a tracer asks about a case's infectious period,
/// not the whole movement table.
pub const MAX_WINDOW_DAYS: i64 = 31;
/// The most rows a hotspots or peaks query may ask for.
pub const MAX_LIMIT: i64 = 1_000;

impl Window {
    fn check(&self) -> Result<(), ServerError> {
        if self.to <= self.from {
            return Err(ServerError::BadRequest(
                "`to` must be after `from` (each a date like 2026-11-20 or an RFC 3339 time)".into(),
            ));
        }
        if self.to - self.from > chrono::Duration::days(MAX_WINDOW_DAYS) {
            return Err(ServerError::BadRequest(format!(
                "the window is longer than {MAX_WINDOW_DAYS} days; ask about a shorter period"
            )));
        }
        Ok(())
    }
}

fn check_limit(limit: Option<i64>) -> Result<i64, ServerError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ServerError::BadRequest(format!("limit {n}: give 1 to {MAX_LIMIT}"))),
    }
}

/// Rows a hotspots or peaks query returns when the caller names no limit.
pub const DEFAULT_LIMIT: i64 = 50;

/// Runs and audits tracing queries for one database and default visit length.
#[derive(Clone)]
pub struct Tracing {
    db: Db,
    /// Length given to a visit whose exit was never scanned (seconds).
    visit_secs: f64,
}

impl Tracing {
    pub fn new(db: Db, visit_secs: f64) -> Tracing {
        Tracing { db, visit_secs }
    }

    async fn audit(&self, who: &str, query: &str, w: Window, params: serde_json::Value) -> Result<(), ServerError> {
        w.check()?;
        let mut params = params;
        params["from"] = serde_json::json!(w.from);
        params["to"] = serde_json::json!(w.to);
        self.db.audit(who, query, &params).await
    }

    /// Who overlapped with `subject` (a case) at which venue, longest overlap first.
    pub async fn contacts(&self, who: &str, subject: &str, w: Window) -> Result<Vec<Contact>, ServerError> {
        self.audit(who, "contacts", w, serde_json::json!({ "subject": subject }))
            .await?;
        self.db.contacts_of(subject, w.from, w.to, self.visit_secs).await
    }

    /// Everyone who was at `venue` in the window.
    pub async fn venue(&self, who: &str, venue: &str, w: Window) -> Result<Vec<Visit>, ServerError> {
        self.audit(who, "venue", w, serde_json::json!({ "venue": venue }))
            .await?;
        self.db.visitors_of(venue, w.from, w.to, self.visit_secs).await
    }

    /// The venues with the most admitted entries.
    pub async fn hotspots(&self, who: &str, w: Window, limit: Option<i64>) -> Result<Vec<Hotspot>, ServerError> {
        let limit = check_limit(limit)?;
        self.audit(who, "hotspots", w, serde_json::json!({ "limit": limit }))
            .await?;
        self.db.hotspots(w.from, w.to, limit).await
    }

    /// The busiest venue-hours.
    pub async fn peaks(
        &self,
        who: &str,
        w: Window,
        venue: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Vec<Peak>, ServerError> {
        let limit = check_limit(limit)?;
        self.audit(who, "peaks", w, serde_json::json!({ "venue": venue, "limit": limit }))
            .await?;
        self.db.peaks(w.from, w.to, venue, limit).await
    }
}
