//! Cases: the reason a tracer may look at one person's movements (opened, read, closed).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Db;
use crate::error::ServerError;

/// An opened case: whose contacts may be traced, why, by whom, until when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    pub id: i64,
    pub subject: String,
    pub reason: String,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl Case {
    /// Whether the case still permits tracing at `now`.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.closed_at.is_none() && now < self.closes_at
    }
}

const COLUMNS: &str = "id, subject, reason, opened_by, opened_at, closes_at, closed_at";

fn case(r: &tokio_postgres::Row) -> Case {
    Case {
        id: r.get(0),
        subject: r.get(1),
        reason: r.get(2),
        opened_by: r.get(3),
        opened_at: r.get(4),
        closes_at: r.get(5),
        closed_at: r.get(6),
    }
}

impl Db {
    pub async fn open_case(
        &self,
        subject: &str,
        reason: &str,
        opened_by: &str,
        closes_at: DateTime<Utc>,
    ) -> Result<Case, ServerError> {
        let row = self
            .pool
            .get()
            .await?
            .query_one(
                &format!(
                    "INSERT INTO cases (subject, reason, opened_by, closes_at) VALUES ($1, $2, $3, $4)
                     RETURNING {COLUMNS}"
                ),
                &[&subject, &reason, &opened_by, &closes_at],
            )
            .await?;
        Ok(case(&row))
    }

    pub async fn case(&self, id: i64) -> Result<Option<Case>, ServerError> {
        let row = self
            .pool
            .get()
            .await?
            .query_opt(&format!("SELECT {COLUMNS} FROM cases WHERE id = $1"), &[&id])
            .await?;
        Ok(row.as_ref().map(case))
    }

    /// Cases still open at `now` (or all), newest first.
    pub async fn cases(&self, now: DateTime<Utc>, all: bool) -> Result<Vec<Case>, ServerError> {
        let rows = self
            .pool
            .get()
            .await?
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM cases WHERE $2 OR (closed_at IS NULL AND closes_at > $1)
                     ORDER BY id DESC LIMIT 1000"
                ),
                &[&now, &all],
            )
            .await?;
        Ok(rows.iter().map(case).collect())
    }

    /// Closes case `id`; `false` when there is no such open case.
    pub async fn close_case(&self, id: i64) -> Result<bool, ServerError> {
        let n = self
            .pool
            .get()
            .await?
            .execute(
                "UPDATE cases SET closed_at = now() WHERE id = $1 AND closed_at IS NULL",
                &[&id],
            )
            .await?;
        Ok(n == 1)
    }
}
