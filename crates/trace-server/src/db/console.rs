//! The web console's SQL: venue operators, sign-in sessions, and what an operator's venue
//! page reads (the day's passages and hours, its kiosks' health).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Db;
use crate::error::ServerError;

/// Who a console session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A health-authority tracer: tracing pages, every venue, audited.
    Tracer,
    /// A venue operator: their own venue's operational pages only.
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Tracer => "tracer",
            Role::Operator => "operator",
        }
    }
}

/// A signed-in console user, as the session cookie names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub role: Role,
    pub name: String,
    /// An operator's venue.
    pub venue: Option<String>,
    /// The form token every POST must carry.
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperatorRow {
    pub name: String,
    pub venue: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
}

/// One passage of a venue's day, as its operator sees it (pseudonymous subject).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VenuePassage {
    pub at: DateTime<Utc>,
    pub kiosk_id: String,
    pub gate: String,
    pub direction: String,
    pub subject: Option<String>,
    pub verdict: String,
    pub reason: String,
}

/// A kiosk's health as the server sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KioskHealth {
    pub id: String,
    pub venue: String,
    pub revoked: bool,
    pub last_seen: Option<DateTime<Utc>>,
    pub last_received: Option<DateTime<Utc>>,
    pub clock_skew_seconds: Option<f64>,
    pub version: Option<String>,
    /// Passages waiting on the kiosk when it last reported.
    pub backlog: Option<i64>,
    /// Passages of its current log the server never received.
    pub missing: i64,
}

/// Idle longer than this, a session ends (the absolute limit is its `expires_at`).
const IDLE: &str = "1 hour";

impl Db {
    pub async fn add_operator(&self, name: &str, venue: &str, token_hash: &str) -> Result<(), ServerError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO operators (name, venue_id, token_hash) VALUES ($1, $2, $3)",
                &[&name, &venue, &token_hash],
            )
            .await
            .map_err(|e| match e.code() {
                Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => ServerError::Conflict(format!(
                    "an operator named {name:?} already exists: revoke them first (`trace-server operator revoke {name}`) or choose another name"
                )),
                _ => ServerError::Db(e),
            })?;
        Ok(())
    }

    pub async fn operators(&self) -> Result<Vec<OperatorRow>, ServerError> {
        let rows = self
            .pool
            .get()
            .await?
            .query(
                "SELECT name, venue_id, created_at, revoked_at, last_seen FROM operators ORDER BY venue_id, name",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| OperatorRow {
                name: r.get(0),
                venue: r.get(1),
                created_at: r.get(2),
                revoked_at: r.get(3),
                last_seen: r.get(4),
            })
            .collect())
    }

    /// Revokes an operator's token and ends their sessions. `false`: no such operator.
    pub async fn revoke_operator(&self, name: &str) -> Result<bool, ServerError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE operators SET revoked_at = COALESCE(revoked_at, now()) WHERE name = $1",
                &[&name],
            )
            .await?;
        tx.execute(
            "DELETE FROM console_sessions WHERE role = 'operator' AND name = $1",
            &[&name],
        )
        .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    /// The unrevoked operator a token hash belongs to: (name, venue).
    pub async fn operator_by_token(&self, token_hash: &str) -> Result<Option<(String, String)>, ServerError> {
        let client = self.pool.get().await?;
        Ok(client
            .query_opt(
                "UPDATE operators SET last_seen = now() WHERE token_hash = $1 AND revoked_at IS NULL
                 RETURNING name, venue_id",
                &[&token_hash],
            )
            .await?
            .map(|r| (r.get(0), r.get(1))))
    }

    /// Starts a session bound to the token it was signed in with (`token_hash`); expired ones
    /// are swept at the same time.
    pub async fn start_session(
        &self,
        (id_hash, token_hash): (&str, &str),
        role: Role,
        name: &str,
        csrf: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), ServerError> {
        let client = self.pool.get().await?;
        client
            .execute(
                &format!(
                    "DELETE FROM console_sessions WHERE expires_at < now() OR last_seen < now() - interval '{IDLE}'"
                ),
                &[],
            )
            .await?;
        client
            .execute(
                "INSERT INTO console_sessions (id_hash, role, name, csrf, expires_at, token_hash)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[&id_hash, &role.as_str(), &name, &csrf, &expires_at, &token_hash],
            )
            .await?;
        Ok(())
    }

    /// The live session of a cookie: not expired, not idle too long, and its tracer or
    /// operator still holds the very token it was signed in with, unrevoked and unexpired
    /// (rotating or revoking a token ends its sessions).
    pub async fn session(&self, id_hash: &str) -> Result<Option<ConsoleSession>, ServerError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!(
                    "UPDATE console_sessions s SET last_seen = now()
                     WHERE s.id_hash = $1 AND s.expires_at > now() AND s.last_seen > now() - interval '{IDLE}'
                       AND ((s.role = 'tracer' AND EXISTS (
                               SELECT 1 FROM tracers t WHERE t.name = s.name AND t.token_hash = s.token_hash
                                 AND t.revoked_at IS NULL
                                 AND (t.expires_at IS NULL OR t.expires_at > now())))
                         OR (s.role = 'operator' AND EXISTS (
                               SELECT 1 FROM operators o WHERE o.name = s.name AND o.token_hash = s.token_hash
                                 AND o.revoked_at IS NULL)))
                     RETURNING s.role, s.name, s.csrf, s.expires_at,
                               (SELECT venue_id FROM operators o WHERE s.role = 'operator' AND o.name = s.name)"
                ),
                &[&id_hash],
            )
            .await?;
        Ok(row.map(|r| ConsoleSession {
            role: if r.get::<_, String>(0) == "operator" {
                Role::Operator
            } else {
                Role::Tracer
            },
            name: r.get(1),
            csrf: r.get(2),
            expires_at: r.get(3),
            venue: r.get(4),
        }))
    }

    pub async fn end_session(&self, id_hash: &str) -> Result<(), ServerError> {
        let client = self.pool.get().await?;
        client
            .execute("DELETE FROM console_sessions WHERE id_hash = $1", &[&id_hash])
            .await?;
        Ok(())
    }

    /// A venue's passages in [from, to), newest first, at most `limit`.
    pub async fn venue_passages(
        &self,
        venue: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<VenuePassage>, ServerError> {
        let rows = self
            .pool
            .get()
            .await?
            .query(
                "SELECT at, kiosk_id, gate, direction, subject, verdict, reason FROM passages
                 WHERE venue_id = $1 AND at >= $2 AND at < $3 ORDER BY at DESC, seq DESC LIMIT $4",
                &[&venue, &from, &to, &limit],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| VenuePassage {
                at: r.get(0),
                kiosk_id: r.get(1),
                gate: r.get(2),
                direction: r.get(3),
                subject: r.get(4),
                verdict: r.get(5),
                reason: r.get(6),
            })
            .collect())
    }

    /// Admitted entries and exits per hour at a venue in [from, to).
    pub async fn venue_hours(
        &self,
        venue: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, i64, i64)>, ServerError> {
        let rows = self
            .pool
            .get()
            .await?
            .query(
                "SELECT date_trunc('hour', at),
                        COUNT(*) FILTER (WHERE direction = 'entry'), COUNT(*) FILTER (WHERE direction = 'exit')
                 FROM passages WHERE venue_id = $1 AND at >= $2 AND at < $3 AND verdict = 'admit'
                 GROUP BY 1 ORDER BY 1",
                &[&venue, &from, &to],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
    }

    /// Every kiosk's health (of one venue, or all), with the passages of its current log the
    /// server never got: one statement (the highest sequence number received, less those
    /// purged, less those held), not a gap report per kiosk.
    pub async fn kiosk_health(&self, venue: Option<&str>) -> Result<Vec<KioskHealth>, ServerError> {
        let rows = self
            .pool
            .get()
            .await?
            .query(
                // Joins, not LATERAL subqueries: Citus plans a join of passages with the kiosks
                // reference table on every node, and refuses correlated subqueries.
                "WITH cur AS (SELECT DISTINCT ON (venue_id, kiosk_id) venue_id, kiosk_id, log_id, received_at
                              FROM passages WHERE $1::text IS NULL OR venue_id = $1
                              ORDER BY venue_id, kiosk_id, received_at DESC, seq DESC),
                      held AS (SELECT p.venue_id, p.kiosk_id, MAX(p.seq) AS max_seq, COUNT(*) AS n
                               FROM passages p
                               JOIN cur c ON c.venue_id = p.venue_id AND c.kiosk_id = p.kiosk_id AND c.log_id = p.log_id
                               LEFT JOIN log_purge_marks m ON m.kiosk_id = p.kiosk_id AND m.log_id = p.log_id
                               WHERE p.seq > COALESCE(m.purged_through, 0)
                               GROUP BY p.venue_id, p.kiosk_id)
                 SELECT k.id, k.venue_id, k.revoked_at IS NOT NULL, k.last_seen, cur.received_at,
                        k.clock_skew_seconds, k.version, k.backlog,
                        COALESCE(GREATEST(held.max_seq - GREATEST(COALESCE(m.purged_through, 0), 0) - held.n, 0), 0)
                 FROM kiosks k
                 LEFT JOIN cur ON cur.venue_id = k.venue_id AND cur.kiosk_id = k.id
                 LEFT JOIN log_purge_marks m ON m.kiosk_id = k.id AND m.log_id = cur.log_id
                 LEFT JOIN held ON held.venue_id = k.venue_id AND held.kiosk_id = k.id
                 WHERE $1::text IS NULL OR k.venue_id = $1
                 ORDER BY k.venue_id, k.id LIMIT 500",
                &[&venue],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| KioskHealth {
                id: r.get(0),
                venue: r.get(1),
                revoked: r.get(2),
                last_seen: r.get(3),
                last_received: r.get(4),
                clock_skew_seconds: r.get(5),
                version: r.get(6),
                backlog: r.get(7),
                missing: r.get(8),
            })
            .collect())
    }

    /// What a kiosk reports with its venue round: its version and backlog.
    pub async fn kiosk_reported(
        &self,
        kiosk: &str,
        version: Option<&str>,
        backlog: Option<i64>,
    ) -> Result<(), ServerError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE kiosks SET version = COALESCE($2, version), backlog = COALESCE($3, backlog), reported_at = now()
                 WHERE id = $1",
                &[&kiosk, &version, &backlog],
            )
            .await?;
        Ok(())
    }
}
