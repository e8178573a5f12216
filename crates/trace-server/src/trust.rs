//! The signed policy document kiosks fetch: trusted issuers and risk regions, signed with the
//! server's Ed25519 key (its public half is pinned in each kiosk's `[sync] server_key`).

use chrono::Utc;
use deadpool_postgres::Pool;
use wire::{FormatTrust, POLICY_VERSION, PolicyDocument, SignedDocument};

use crate::error::ServerError;

/// The server's signing key, made on first use and kept in the database.
pub async fn server_key(pool: &Pool) -> Result<vp1::IssuerKey, ServerError> {
    let client = pool.get().await?;
    if let Some(row) = client.query_opt("SELECT secret FROM server_key", &[]).await? {
        let text: String = row.get(0);
        return vp1::IssuerKey::parse_secret_file(&text).map_err(|e| ServerError::Config(e.to_string()));
    }
    let key = vp1::IssuerKey::generate("trace-server").map_err(|e| ServerError::Config(e.to_string()))?;
    client
        .execute(
            "INSERT INTO server_key (secret) VALUES ($1) ON CONFLICT DO NOTHING",
            &[&key.to_secret_file()],
        )
        .await?;
    // Another server may have won the race: read back whichever key was stored.
    let text: String = client.query_one("SELECT secret FROM server_key", &[]).await?.get(0);
    vp1::IssuerKey::parse_secret_file(&text).map_err(|e| ServerError::Config(e.to_string()))
}

/// Hex public key for kiosk.toml `[sync] server_key`.
pub fn public_hex(key: &vp1::IssuerKey) -> String {
    key.to_public_file()
        .trim()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string()
}

pub async fn add_issuer(pool: &Pool, public_file_text: &str) -> Result<String, ServerError> {
    let mut probe = vp1::TrustStore::new();
    let issuer = probe
        .add_public_file(public_file_text)
        .map_err(|e| ServerError::BadRequest(e.to_string()))?;
    pool.get()
        .await?
        .execute(
            "INSERT INTO trusted_issuers (issuer_id, public_key) VALUES ($1, $2)
             ON CONFLICT (issuer_id) DO UPDATE SET public_key = excluded.public_key",
            &[&issuer, &public_file_text.trim()],
        )
        .await?;
    Ok(issuer)
}

pub async fn add_risk_region(pool: &Pool, region: &str) -> Result<(), ServerError> {
    pool.get()
        .await?
        .execute(
            "INSERT INTO risk_regions (region) VALUES ($1) ON CONFLICT DO NOTHING",
            &[&region],
        )
        .await?;
    Ok(())
}

pub async fn signed_policy(pool: &Pool) -> Result<SignedDocument, ServerError> {
    let key = server_key(pool).await?;
    let client = pool.get().await?;
    let issuers = client
        .query("SELECT public_key FROM trusted_issuers ORDER BY issuer_id", &[])
        .await?;
    let regions = client
        .query("SELECT region FROM risk_regions ORDER BY region", &[])
        .await?;
    let doc = PolicyDocument {
        version: POLICY_VERSION,
        issued_at: Utc::now(),
        issuers: Vec::new(),
        // The server keeps VP1 issuers today; other formats get their own section.
        formats: [(
            "vp1".to_string(),
            FormatTrust {
                issuers: issuers.iter().map(|r| r.get(0)).collect(),
            },
        )]
        .into(),
        risk_regions: regions.iter().map(|r| r.get(0)).collect(),
    };
    let document = serde_json::to_string(&doc).map_err(|e| ServerError::Config(e.to_string()))?;
    let signature = vp1::sign_document(&key, document.as_bytes());
    Ok(SignedDocument { document, signature })
}
