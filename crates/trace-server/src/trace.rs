//! The tracing service: every tracing query, whether it comes over HTTP, from the CLI or (next)
//! from the web console, is checked, written to the audit table with who asked, and only then
//! run. Nothing else reads the movement table for a person.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::Db;
pub use crate::db::{Case, CaseVisit, Contact, Hotspot, Peak, Visit};
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
    pub fn check(&self) -> Result<(), ServerError> {
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

/// The name the server's own command line is audited under.
pub const CLI: &str = "cli";

/// The longest a case stays open.
pub const MAX_CASE_DAYS: i64 = 60;

/// One page of a list about people: `limit` rows (1 to [`MAX_LIMIT`], default
/// [`MAX_LIMIT`]) after skipping `offset`. A client reads on until a page comes back short.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// A checked page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CheckedPage {
    pub limit: i64,
    pub offset: i64,
}

impl Page {
    pub fn check(self) -> Result<CheckedPage, ServerError> {
        let limit = match self.limit {
            None => MAX_LIMIT,
            Some(n) => check_limit(Some(n))?,
        };
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            return Err(ServerError::BadRequest(format!("offset {offset}: give 0 or more")));
        }
        Ok(CheckedPage { limit, offset })
    }
}

impl CheckedPage {
    fn of<T>(self, rows: Vec<T>) -> Vec<T> {
        rows.into_iter()
            .skip(self.offset as usize)
            .take(self.limit as usize)
            .collect()
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

    /// Opens a case: from now until `days` on, `who` (only they) may trace `subject`'s contacts
    /// under it. Audited in the same transaction.
    pub async fn open_case(&self, who: &str, subject: &str, reason: &str, days: i64) -> Result<Case, ServerError> {
        if subject.trim().is_empty() || subject.len() > 128 {
            return Err(ServerError::BadRequest(
                "a case needs the subject id of a confirmed case (1 to 128 characters)".into(),
            ));
        }
        if reason.trim().len() < 3 || reason.len() > 500 {
            return Err(ServerError::BadRequest(
                "a case needs a reason a reviewer can check (a lab report or order number; 3 to 500 characters)".into(),
            ));
        }
        if !(1..=MAX_CASE_DAYS).contains(&days) {
            return Err(ServerError::BadRequest(format!(
                "a case stays open 1 to {MAX_CASE_DAYS} days"
            )));
        }
        let closes_at = chrono::Utc::now() + chrono::Duration::days(days);
        self.db.open_case(subject, reason, who, closes_at).await
    }

    /// The open case `id` as `who` may use it (their own; the server's command line, run by
    /// whoever holds the database, any), or why not.
    async fn open(&self, id: i64, who: &str) -> Result<Case, ServerError> {
        let case = self.db.case(id).await?.ok_or_else(|| {
            ServerError::NotFound(format!(
                "case {id}: open one with `trace-server case open` or POST /v1/cases"
            ))
        })?;
        if who != CLI && case.opened_by != who {
            return Err(ServerError::Forbidden(format!(
                "case {id} was opened by {:?}: open your own case for this subject",
                case.opened_by
            )));
        }
        if !case.is_open(chrono::Utc::now()) {
            return Err(ServerError::Forbidden(format!(
                "case {id} is closed (it closed at {}); open a new case to trace again",
                case.closed_at.unwrap_or(case.closes_at)
            )));
        }
        Ok(case)
    }

    /// Who overlapped with the case's subject at which venue, longest overlap first; one page.
    pub async fn contacts(&self, who: &str, case: i64, w: Window, page: Page) -> Result<Vec<Contact>, ServerError> {
        let c = self.open(case, who).await?;
        let page = page.check()?;
        self.audit(
            who,
            "contacts",
            w,
            serde_json::json!({ "case": case, "subject": c.subject, "page": page }),
        )
        .await?;
        self.db
            .contacts_of(&c.subject, (w.from, w.to), self.visit_secs, (page.limit, page.offset))
            .await
    }

    /// One of `who`'s own open cases, for the console: any other — someone else's, closed, or
    /// none — is refused with one sentence that tells them apart by nothing.
    pub async fn own_open_case(&self, who: &str, id: i64) -> Result<Case, ServerError> {
        self.open(id, who).await.map_err(|e| match e {
            ServerError::NotFound(_) | ServerError::Forbidden(_) => {
                ServerError::Forbidden(format!("case {id} is not one of your open cases"))
            }
            other => other,
        })
    }

    /// The case subject's own visits in the window (where the contacts were met).
    pub async fn case_visits(&self, who: &str, case: i64, w: Window) -> Result<Vec<CaseVisit>, ServerError> {
        let c = self.open(case, who).await?;
        self.audit(
            who,
            "case_visits",
            w,
            serde_json::json!({ "case": case, "subject": c.subject }),
        )
        .await?;
        self.db.visits_of(&c.subject, w.from, w.to, self.visit_secs).await
    }

    /// The cases `who` has open, newest first (the console offers them for a subject).
    pub async fn open_cases_of(&self, who: &str) -> Result<Vec<Case>, ServerError> {
        let now = chrono::Utc::now();
        Ok(self
            .db
            .cases(now, false)
            .await?
            .into_iter()
            .filter(|c| c.opened_by == who && c.is_open(now))
            .collect())
    }

    /// Everyone who was at `venue` in the window, within an open case; one page.
    pub async fn venue(
        &self,
        who: &str,
        case: i64,
        venue: &str,
        w: Window,
        page: Page,
    ) -> Result<Vec<Visit>, ServerError> {
        let c = self.open(case, who).await?;
        let page = page.check()?;
        // A case opens the venues its subject passed through around the window, not all.
        w.check()?;
        let visit = chrono::Duration::milliseconds((self.visit_secs * 1000.0) as i64);
        if !self.db.visited(&c.subject, venue, w.from - visit, w.to).await? {
            return Err(ServerError::Forbidden(format!(
                "case {case}'s subject did not pass through {venue:?} in this window: a case opens the venues \
                 its subject visited"
            )));
        }
        self.audit(
            who,
            "venue",
            w,
            serde_json::json!({ "case": case, "venue": venue, "page": page }),
        )
        .await?;
        let rows = self.db.visitors_of(venue, w.from, w.to, self.visit_secs).await?;
        Ok(page.of(rows))
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
