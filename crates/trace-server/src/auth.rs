//! Per-kiosk and per-tracer bearer tokens. Only their SHA-256 is stored; a leaked database
//! does not leak working tokens.

use sha2::{Digest, Sha256};

use crate::error::ServerError;

/// A fresh random token with a prefix saying what it is for (`kt_` kiosk, `tt_` tracer).
pub fn new_token(prefix: &str) -> Result<String, ServerError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ServerError::Config(format!("no randomness: {e}")))?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The token from an `Authorization: Bearer …` header.
pub fn bearer(headers: &axum::http::HeaderMap) -> Result<&str, ServerError> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(ServerError::Unauthorized)
}
