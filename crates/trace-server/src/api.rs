//! HTTP API: ingest for kiosks, status, tracing for tracers, health and metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use serde::Deserialize;
use serde_json::json;

use wire::{IngestReport, KioskStatus, SignedDocument, routes};

use crate::auth::{bearer, hash_token};
use crate::db;
use crate::error::ServerError;
use crate::trace;

/// Largest batch a kiosk may send at once (the contract's limit).
pub use wire::MAX_BATCH;

/// Largest ingest body read: a full batch of generous passages (≈ 1 KiB each) fits.
const INGEST_BODY_LIMIT: usize = MAX_BATCH * 1024 + 64 * 1024;

#[derive(Default)]
pub struct Metrics {
    pub ingest_requests: AtomicU64,
    pub passages_accepted: AtomicU64,
    pub passages_duplicate: AtomicU64,
    pub passages_rejected: AtomicU64,
    pub auth_failures: AtomicU64,
    pub trace_queries: AtomicU64,
}

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub metrics: Arc<Metrics>,
    /// Default visit length for entries with no exit (seconds).
    pub visit_secs: f64,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(routes::HEALTHZ, get(healthz))
        .route(routes::METRICS, get(metrics))
        .route(routes::PASSAGES, post(ingest))
        .route(routes::KIOSK_STATUS, get(kiosk_status))
        .route(routes::KIOSK_POLICY, get(kiosk_policy))
        .route(routes::TRACE_CONTACTS, get(contacts))
        .route(routes::TRACE_VENUE, get(venue))
        .route(routes::TRACE_HOTSPOTS, get(hotspots))
        .route(routes::TRACE_PEAKS, get(peaks))
        // No other route takes a body; ingest reads its own, after the token check.
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(state)
}

async fn healthz(State(s): State<AppState>) -> Result<&'static str, ServerError> {
    s.pool.get().await?.query_one("SELECT 1", &[]).await?;
    Ok("ok\n")
}

async fn metrics(State(s): State<AppState>) -> Result<String, ServerError> {
    let m = &s.metrics;
    let stored = db::passage_count(&s.pool).await?;
    Ok(format!(
        "# TYPE trace_ingest_requests_total counter\ntrace_ingest_requests_total {}\n\
         # TYPE trace_passages_accepted_total counter\ntrace_passages_accepted_total {}\n\
         # TYPE trace_passages_duplicate_total counter\ntrace_passages_duplicate_total {}\n\
         # TYPE trace_passages_rejected_total counter\ntrace_passages_rejected_total {}\n\
         # TYPE trace_auth_failures_total counter\ntrace_auth_failures_total {}\n\
         # TYPE trace_queries_total counter\ntrace_queries_total {}\n\
         # TYPE trace_passages_stored gauge\ntrace_passages_stored {stored}\n",
        m.ingest_requests.load(Ordering::Relaxed),
        m.passages_accepted.load(Ordering::Relaxed),
        m.passages_duplicate.load(Ordering::Relaxed),
        m.passages_rejected.load(Ordering::Relaxed),
        m.auth_failures.load(Ordering::Relaxed),
        m.trace_queries.load(Ordering::Relaxed),
    ))
}

async fn kiosk_of(s: &AppState, headers: &HeaderMap) -> Result<(String, String), ServerError> {
    let found = match bearer(headers) {
        Ok(token) => db::kiosk_by_token(&s.pool, &hash_token(token)).await?,
        Err(_) => None,
    };
    found.ok_or_else(|| {
        s.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
        ServerError::Unauthorized
    })
}

async fn tracer_of(s: &AppState, headers: &HeaderMap) -> Result<String, ServerError> {
    let found = match bearer(headers) {
        Ok(token) => db::tracer_by_token(&s.pool, &hash_token(token)).await?,
        Err(_) => None,
    };
    found.ok_or_else(|| {
        s.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
        ServerError::Unauthorized
    })
}

/// A kiosk sends its own passages. The token is checked before the body is read (an
/// unauthenticated client cannot make the server buffer or parse anything), and each passage
/// is checked on its own: refused ones are named in the report, the rest are stored.
async fn ingest(State(s): State<AppState>, request: axum::extract::Request) -> Result<Json<IngestReport>, ServerError> {
    s.metrics.ingest_requests.fetch_add(1, Ordering::Relaxed);
    let (kiosk, venue) = kiosk_of(&s, request.headers()).await?;
    let body = axum::body::to_bytes(request.into_body(), INGEST_BODY_LIMIT)
        .await
        .map_err(|_| {
            ServerError::BadRequest(format!(
                "the body is larger than {INGEST_BODY_LIMIT} bytes; send at most {MAX_BATCH} passages per request"
            ))
        })?;
    let items: Vec<serde_json::Value> = serde_json::from_slice(&body)
        .map_err(|e| ServerError::BadRequest(format!("the body must be a JSON array of passages: {e}")))?;
    if items.len() > MAX_BATCH {
        return Err(ServerError::BadRequest(format!(
            "batch of {} passages; send at most {MAX_BATCH}",
            items.len()
        )));
    }
    let (checked, rejected) = crate::ingest::check_batch(items, &kiosk, &venue, Utc::now());
    let mut report = db::record_passages(&s.pool, &kiosk, &checked, rejected.len()).await?;
    report.rejected = rejected;
    let m = &s.metrics;
    m.passages_accepted.fetch_add(report.accepted, Ordering::Relaxed);
    m.passages_duplicate.fetch_add(report.duplicates, Ordering::Relaxed);
    m.passages_rejected
        .fetch_add(report.rejected.len() as u64, Ordering::Relaxed);
    Ok(Json(report))
}

/// The signed trust list and risk regions, for any registered kiosk.
async fn kiosk_policy(State(s): State<AppState>, headers: HeaderMap) -> Result<Json<SignedDocument>, ServerError> {
    kiosk_of(&s, &headers).await?;
    Ok(Json(crate::trust::signed_policy(&s.pool).await?))
}

/// Readable by a tracer, or by the kiosk itself.
async fn kiosk_status(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<KioskStatus>, ServerError> {
    let allowed = match kiosk_of(&s, &headers).await {
        Ok((kiosk, _)) => kiosk == id,
        Err(_) => tracer_of(&s, &headers).await.is_ok(),
    };
    if !allowed {
        return Err(ServerError::Unauthorized);
    }
    db::kiosk_status(&s.pool, &id)
        .await?
        .map(Json)
        .ok_or(ServerError::NotFound(format!("kiosk {id}")))
}

#[derive(Debug, Deserialize, serde::Serialize)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub subject: Option<String>,
    pub venue: Option<String>,
    pub limit: Option<i64>,
}

impl Window {
    fn check(&self) -> Result<(), ServerError> {
        if self.to <= self.from {
            return Err(ServerError::BadRequest(
                "`to` must be after `from` (RFC 3339 times)".into(),
            ));
        }
        Ok(())
    }
}

/// Authenticates a tracer and writes the query to the audit table before answering it.
async fn audited(s: &AppState, headers: &HeaderMap, query: &str, w: &Window) -> Result<(), ServerError> {
    let tracer = tracer_of(s, headers).await?;
    w.check()?;
    s.metrics.trace_queries.fetch_add(1, Ordering::Relaxed);
    db::audit(&s.pool, &tracer, query, &json!(w)).await
}

async fn contacts(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(w): Query<Window>,
) -> Result<Json<Vec<trace::Contact>>, ServerError> {
    audited(&s, &headers, "contacts", &w).await?;
    let subject = w
        .subject
        .as_deref()
        .ok_or_else(|| ServerError::BadRequest("give ?subject=".into()))?;
    Ok(Json(
        trace::contacts_of(&s.pool, subject, w.from, w.to, s.visit_secs).await?,
    ))
}

async fn venue(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(w): Query<Window>,
) -> Result<Json<Vec<trace::Visit>>, ServerError> {
    audited(&s, &headers, "venue", &w).await?;
    let venue = w
        .venue
        .as_deref()
        .ok_or_else(|| ServerError::BadRequest("give ?venue=".into()))?;
    Ok(Json(
        trace::visitors_of(&s.pool, venue, w.from, w.to, s.visit_secs).await?,
    ))
}

async fn hotspots(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(w): Query<Window>,
) -> Result<Json<Vec<trace::Hotspot>>, ServerError> {
    audited(&s, &headers, "hotspots", &w).await?;
    Ok(Json(
        trace::hotspots(&s.pool, w.from, w.to, w.limit.unwrap_or(50)).await?,
    ))
}

async fn peaks(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(w): Query<Window>,
) -> Result<Json<Vec<trace::Peak>>, ServerError> {
    audited(&s, &headers, "peaks", &w).await?;
    Ok(Json(
        trace::peaks(&s.pool, w.from, w.to, w.venue.as_deref(), w.limit.unwrap_or(50)).await?,
    ))
}
