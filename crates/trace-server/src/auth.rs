//! Per-kiosk and per-tracer bearer tokens, and the axum extractors that check them. Only a
//! token's SHA-256 is stored; a leaked database does not leak working tokens.

use std::sync::atomic::Ordering;

use axum::extract::FromRequestParts;
use sha2::{Digest, Sha256};

use crate::api::AppState;
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

/// The kiosk whose token came with the request (an axum extractor: routes that take it
/// refuse other callers before reading anything else).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskCaller {
    pub kiosk: String,
    pub venue: String,
}

/// The tracer whose token came with the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracerCaller {
    pub name: String,
}

/// A kiosk or a tracer, for routes both may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Kiosk(KioskCaller),
    Tracer(TracerCaller),
}

/// Looks the request's token up among kiosks, then tracers; counts failures.
async fn caller(parts: &axum::http::request::Parts, state: &AppState) -> Result<Caller, ServerError> {
    let found = match bearer(&parts.headers) {
        Ok(token) => {
            let hash = hash_token(token);
            match state.db.kiosk_by_token(&hash).await? {
                Some((kiosk, venue)) => Some(Caller::Kiosk(KioskCaller { kiosk, venue })),
                None => state
                    .db
                    .tracer_by_token(&hash)
                    .await?
                    .map(|name| Caller::Tracer(TracerCaller { name })),
            }
        }
        Err(_) => None,
    };
    found.ok_or_else(|| {
        state.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
        ServerError::Unauthorized
    })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ServerError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &AppState) -> Result<Self, ServerError> {
        caller(parts, state).await
    }
}

impl FromRequestParts<AppState> for KioskCaller {
    type Rejection = ServerError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &AppState) -> Result<Self, ServerError> {
        match caller(parts, state).await? {
            Caller::Kiosk(k) => Ok(k),
            Caller::Tracer(_) => Err(ServerError::Unauthorized),
        }
    }
}

impl FromRequestParts<AppState> for TracerCaller {
    type Rejection = ServerError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &AppState) -> Result<Self, ServerError> {
        match caller(parts, state).await? {
            Caller::Tracer(t) => Ok(t),
            Caller::Kiosk(_) => Err(ServerError::Unauthorized),
        }
    }
}
