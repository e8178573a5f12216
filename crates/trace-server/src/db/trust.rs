//! The trust list's storage: the server's signing key, trusted issuers, risk regions.

use super::Db;
use crate::error::ServerError;

impl Db {
    /// The stored signing key (its secret file text), if one was made.
    pub async fn server_key_secret(&self) -> Result<Option<String>, ServerError> {
        let row = self
            .pool
            .get()
            .await?
            .query_opt("SELECT secret FROM server_key", &[])
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Replaces the stored signing key with `marker` (after it was moved to a file).
    pub async fn mark_server_key_moved_out(&self, marker: &str) -> Result<(), ServerError> {
        self.pool
            .get()
            .await?
            .execute("UPDATE server_key SET secret = $1", &[&marker])
            .await?;
        Ok(())
    }

    /// Stores `secret` unless a key is stored already; returns whichever is stored (another
    /// server starting at the same moment may have won).
    pub async fn keep_first_server_key(&self, secret: &str) -> Result<String, ServerError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO server_key (secret) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&secret],
            )
            .await?;
        Ok(client.query_one("SELECT secret FROM server_key", &[]).await?.get(0))
    }

    /// The DCC subject key kept in the database (or the moved-out marker), if any.
    pub async fn subject_key_secret(&self) -> Result<Option<String>, ServerError> {
        let row = self
            .pool
            .get()
            .await?
            .query_opt("SELECT secret FROM subject_key", &[])
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Replaces the stored subject key with `marker` (after it was moved to a file).
    pub async fn mark_subject_key_moved_out(&self, marker: &str) -> Result<(), ServerError> {
        self.pool
            .get()
            .await?
            .execute("UPDATE subject_key SET secret = $1", &[&marker])
            .await?;
        Ok(())
    }

    /// Stores `fresh` as the DCC subject key unless one is stored already; returns whichever is
    /// stored (the first caller's wins, so concurrent first calls agree).
    pub async fn keep_first_subject_key(&self, fresh: &str) -> Result<String, ServerError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO subject_key (secret) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&fresh],
            )
            .await?;
        Ok(client.query_one("SELECT secret FROM subject_key", &[]).await?.get(0))
    }

    /// Trusts (or re-keys, or re-scopes) a VP1 issuer; `kinds` limits the kinds of pass it is
    /// trusted for. `None` keeps the scope it had (a new issuer: any kind), so re-keying a
    /// badge-only issuer never widens it; returns the scope now stored.
    pub async fn trust_issuer(
        &self,
        issuer: &str,
        public_file_text: &str,
        kinds: Option<&[String]>,
    ) -> Result<Option<Vec<String>>, ServerError> {
        let row = self
            .pool
            .get()
            .await?
            .query_one(
                "INSERT INTO trusted_issuers (issuer_id, public_key, kinds) VALUES ($1, $2, $3)
                 ON CONFLICT (issuer_id) DO UPDATE SET public_key = excluded.public_key,
                   kinds = COALESCE(excluded.kinds, trusted_issuers.kinds)
                 RETURNING kinds",
                &[&issuer, &public_file_text, &kinds],
            )
            .await?;
        Ok(row.get(0))
    }

    pub async fn add_risk_region(&self, region: &str) -> Result<(), ServerError> {
        self.pool
            .get()
            .await?
            .execute(
                "INSERT INTO risk_regions (region) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&region],
            )
            .await?;
        Ok(())
    }

    /// Stops trusting an issuer; `false` when it was not trusted.
    pub async fn untrust_issuer(&self, issuer: &str) -> Result<bool, ServerError> {
        let n = self
            .pool
            .get()
            .await?
            .execute("DELETE FROM trusted_issuers WHERE issuer_id = $1", &[&issuer])
            .await?;
        Ok(n == 1)
    }

    pub async fn remove_risk_region(&self, region: &str) -> Result<bool, ServerError> {
        let n = self
            .pool
            .get()
            .await?
            .execute("DELETE FROM risk_regions WHERE region = $1", &[&region])
            .await?;
        Ok(n == 1)
    }

    /// Trusts EU DCC signer certificates, all or none (one transaction). Each is
    /// `(kid, country, base64 DER, not_after)`. Adding one again is harmless; a different
    /// certificate under a key id already trusted is refused (kiosks would have to guess).
    pub async fn trust_dscs(
        &self,
        dscs: &[(String, Option<String>, String, chrono::DateTime<chrono::Utc>)],
    ) -> Result<(), ServerError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        for (kid, country, certificate, not_after) in dscs {
            let n = tx
                .execute(
                    "INSERT INTO trusted_dscs (kid, country, certificate, not_after) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (kid) DO UPDATE SET not_after = excluded.not_after
                     WHERE trusted_dscs.certificate = excluded.certificate",
                    &[kid, country, certificate, not_after],
                )
                .await?;
            if n == 0 {
                return Err(ServerError::BadRequest(format!(
                    "another certificate is already trusted under key id {kid}; remove it first (`trace-server dsc-remove {kid}`)"
                )));
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stops trusting a signer certificate; `false` when it was not trusted.
    pub async fn untrust_dsc(&self, kid: &str) -> Result<bool, ServerError> {
        let n = self
            .pool
            .get()
            .await?
            .execute("DELETE FROM trusted_dscs WHERE kid = $1", &[&kid])
            .await?;
        Ok(n == 1)
    }

    /// The signer certificates (base64 DER) not yet expired at `now`, in a stable order: an
    /// expired one signs nothing a kiosk should admit, so it leaves the list by itself.
    pub async fn dsc_list(&self, now: chrono::DateTime<chrono::Utc>) -> Result<Vec<String>, ServerError> {
        let rows = self
            .pool
            .get()
            .await?
            .query(
                "SELECT certificate FROM trusted_dscs WHERE not_after > $1 ORDER BY kid",
                &[&now],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// The trusted issuers (id, public key text, kinds or `None` for any) and the risk
    /// regions, in a stable order.
    pub async fn trust_list(&self) -> Result<(Vec<TrustedIssuer>, Vec<String>), ServerError> {
        let client = self.pool.get().await?;
        let issuers = client
            .query(
                "SELECT issuer_id, public_key, kinds FROM trusted_issuers ORDER BY issuer_id",
                &[],
            )
            .await?;
        let regions = client
            .query("SELECT region FROM risk_regions ORDER BY region", &[])
            .await?;
        Ok((
            issuers
                .iter()
                .map(|r| TrustedIssuer {
                    id: r.get(0),
                    public_key: r.get(1),
                    kinds: r.get(2),
                })
                .collect(),
            regions.iter().map(|r| r.get(0)).collect(),
        ))
    }
}

/// One row of the VP1 issuers the signed list carries.
#[derive(Debug, Clone)]
pub struct TrustedIssuer {
    pub id: String,
    pub public_key: String,
    pub kinds: Option<Vec<String>>,
}
