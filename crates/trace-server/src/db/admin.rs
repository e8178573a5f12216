//! Kiosks, tracers and their tokens (hashes only), and the audit trail of tracing queries.

use super::Db;
use crate::error::ServerError;

impl Db {
    pub async fn add_kiosk(&self, id: &str, venue: &str, token_hash: &str) -> Result<(), ServerError> {
        let pool = &self.pool;
        pool.get()
            .await?
            .execute(
                "INSERT INTO kiosks (id, venue_id, token_hash) VALUES ($1, $2, $3)",
                &[&id, &venue, &token_hash],
            )
            .await?;
        Ok(())
    }
}

impl Db {
    pub async fn add_tracer(&self, name: &str, token_hash: &str) -> Result<(), ServerError> {
        let pool = &self.pool;
        pool.get()
            .await?
            .execute(
                "INSERT INTO tracers (name, token_hash) VALUES ($1, $2)",
                &[&name, &token_hash],
            )
            .await?;
        Ok(())
    }
}

impl Db {
    /// (kiosk id, venue id) for a kiosk token hash.
    pub async fn kiosk_by_token(&self, token_hash: &str) -> Result<Option<(String, String)>, ServerError> {
        let pool = &self.pool;
        let row = pool
            .get()
            .await?
            .query_opt("SELECT id, venue_id FROM kiosks WHERE token_hash = $1", &[&token_hash])
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }
}

impl Db {
    pub async fn tracer_by_token(&self, token_hash: &str) -> Result<Option<String>, ServerError> {
        let pool = &self.pool;
        let row = pool
            .get()
            .await?
            .query_opt("SELECT name FROM tracers WHERE token_hash = $1", &[&token_hash])
            .await?;
        Ok(row.map(|r| r.get(0)))
    }
}

impl Db {
    pub async fn audit(&self, tracer: &str, query: &str, params: &serde_json::Value) -> Result<(), ServerError> {
        let pool = &self.pool;
        pool.get()
            .await?
            .execute(
                "INSERT INTO audit (tracer, query, params) VALUES ($1, $2, $3)",
                &[&tracer, &query, params],
            )
            .await?;
        Ok(())
    }
}
