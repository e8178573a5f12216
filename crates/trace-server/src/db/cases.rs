//! Cases: the reason a tracer may look at one person's movements (opened, read, closed).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Db;
use crate::error::ServerError;

/// An opened case: whose contacts may be traced, why, by whom, until when.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
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
    /// Opens a case and writes it to the audit trail, in one transaction: no case exists
    /// that the trail does not name.
    pub async fn open_case(
        &self,
        subject: &str,
        reason: &str,
        opened_by: &str,
        closes_at: DateTime<Utc>,
    ) -> Result<Case, ServerError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let row = tx
            .query_one(
                &format!(
                    "INSERT INTO cases (subject, reason, opened_by, closes_at) VALUES ($1, $2, $3, $4)
                     RETURNING {COLUMNS}"
                ),
                &[&subject, &reason, &opened_by, &closes_at],
            )
            .await?;
        let opened = case(&row);
        let params = serde_json::json!({
            "case": opened.id, "subject": subject, "reason": reason, "closes_at": closes_at
        });
        tx.execute(
            "INSERT INTO audit (tracer, query, params) VALUES ($1, 'open_case', $2)",
            &[&opened_by, &params],
        )
        .await?;
        tx.commit().await?;
        Ok(opened)
    }

    /// Whether `subject` passed through `venue` between `from` and `to`.
    pub async fn visited(
        &self,
        subject: &str,
        venue: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<bool, ServerError> {
        let row = self
            .pool
            .get()
            .await?
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM passages WHERE subject = $1 AND venue_id = $2 AND at >= $3 AND at < $4)",
                &[&subject, &venue, &from, &to],
            )
            .await?;
        Ok(row.get(0))
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

    /// Closes case `id` (audited as `by`); `false` when there is no such open case.
    pub async fn close_case(&self, id: i64, by: &str) -> Result<bool, ServerError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE cases SET closed_at = now() WHERE id = $1 AND closed_at IS NULL",
                &[&id],
            )
            .await?;
        if n == 1 {
            tx.execute(
                "INSERT INTO audit (tracer, query, params) VALUES ($1, 'close_case', $2)",
                &[&by, &serde_json::json!({ "case": id })],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }
}
