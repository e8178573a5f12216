//! Per-kiosk and per-tracer bearer tokens, and the axum extractors that check them. Only a
//! token's SHA-256 is stored; a leaked database does not leak working tokens.

use std::sync::atomic::Ordering;

use axum::extract::FromRequestParts;
use chrono::Utc;
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

/// How stale `last_seen` may get before a call writes it again: one write a minute per
/// credential, not one per request.
const SEEN_EVERY_SECS: i64 = 60;

/// The kiosk's clock minus the server's, from the request's `Kiosk-Clock` header.
fn reported_skew(parts: &axum::http::request::Parts) -> Option<f64> {
    let text = parts.headers.get(wire::routes::KIOSK_CLOCK_HEADER)?.to_str().ok()?;
    let kiosk = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    Some((kiosk.with_timezone(&Utc) - Utc::now()).num_milliseconds() as f64 / 1000.0)
}

fn stale(last_seen: Option<chrono::DateTime<Utc>>) -> bool {
    last_seen.is_none_or(|t| Utc::now() - t > chrono::Duration::seconds(SEEN_EVERY_SECS))
}

/// Looks the request's token up among kiosks, then tracers; refuses revoked and expired
/// tokens with a message saying what to do; counts failures.
async fn caller(parts: &axum::http::request::Parts, state: &AppState) -> Result<Caller, ServerError> {
    let refused = |e: ServerError| {
        state.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
        e
    };
    let token = bearer(&parts.headers).map_err(refused)?;
    let hash = hash_token(token);
    if let Some(k) = state.db.kiosk_by_token(&hash).await? {
        if let Some(at) = k.revoked_at {
            return Err(refused(ServerError::TokenRefused(format!(
                "kiosk {:?}'s token was revoked at {at}: pair the kiosk again with the command \
                 `trace-server kiosk rotate {}` prints",
                k.id, k.id
            ))));
        }
        // Sending passages has a budget of its own: a kiosk draining a long backlog must not
        // spend the budget its venue rounds and trust-list refreshes need.
        // (Told apart before the first `:`, so no kiosk name can reach another's bucket.)
        let class = if parts.uri.path() == wire::routes::PASSAGES {
            "kiosk-ingest"
        } else {
            "kiosk"
        };
        state.spend_token_budget(&format!("{class}:{}", k.id))?;
        let skew = reported_skew(parts);
        // Bookkeeping, not the request: on Citus `kiosks` is a reference table written on every
        // node, so one worker away would otherwise refuse every kiosk of every venue.
        if (stale(k.last_seen) || skew.is_some_and(|s| s.abs() > 60.0))
            && let Err(e) = state.db.kiosk_seen(&k.id, skew).await
        {
            tracing::warn!("kiosk {}: last seen and clock skew not recorded: {e}", k.id);
        }
        return Ok(Caller::Kiosk(KioskCaller {
            kiosk: k.id,
            venue: k.venue,
        }));
    }
    match state.db.tracer_by_token(&hash).await? {
        Some(t) if t.revoked_at.is_some() || t.expires_at.is_some_and(|e| e <= Utc::now()) => {
            let when = match t.revoked_at {
                Some(at) => format!("was revoked at {at}"),
                None => format!("expired at {}", t.expires_at.unwrap_or_default()),
            };
            Err(refused(ServerError::TokenRefused(format!(
                "tracer {:?}'s token {when}: ask an administrator for a new one (`trace-server tracer rotate {}`)",
                t.name, t.name
            ))))
        }
        Some(t) => {
            state.spend_token_budget(&format!("tracer:{}", t.name))?;
            if stale(t.last_seen) {
                state.db.tracer_seen(&t.name).await?;
            }
            Ok(Caller::Tracer(TracerCaller { name: t.name }))
        }
        None => Err(refused(ServerError::Unauthorized)),
    }
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
            Caller::Tracer(t) => Err(ServerError::Forbidden(format!(
                "this route needs a kiosk token (from `trace-server kiosk add`); the request carried tracer {:?}'s token",
                t.name
            ))),
        }
    }
}

impl FromRequestParts<AppState> for TracerCaller {
    type Rejection = ServerError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &AppState) -> Result<Self, ServerError> {
        match caller(parts, state).await? {
            Caller::Tracer(t) => Ok(t),
            Caller::Kiosk(k) => Err(ServerError::Forbidden(format!(
                "this route needs a tracer token (from `trace-server tracer add`); the request carried kiosk {:?}'s token",
                k.kiosk
            ))),
        }
    }
}
