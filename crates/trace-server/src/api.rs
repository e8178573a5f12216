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

use crate::auth::{bearer, hash_token};
use crate::db::{self, IngestReport, PassageIn};
use crate::error::ServerError;
use crate::trace;

/// Largest batch a kiosk may send at once.
pub const MAX_BATCH: usize = 5_000;

#[derive(Default)]
pub struct Metrics {
    pub ingest_requests: AtomicU64,
    pub passages_accepted: AtomicU64,
    pub passages_duplicate: AtomicU64,
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
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/passages", post(ingest))
        .route("/v1/kiosks/{id}/status", get(kiosk_status))
        .route("/v1/kiosk/policy", get(kiosk_policy))
        .route("/v1/trace/contacts", get(contacts))
        .route("/v1/trace/venue", get(venue))
        .route("/v1/trace/hotspots", get(hotspots))
        .route("/v1/trace/peaks", get(peaks))
        .layer(axum::extract::DefaultBodyLimit::max(16 * 1024 * 1024))
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
         # TYPE trace_auth_failures_total counter\ntrace_auth_failures_total {}\n\
         # TYPE trace_queries_total counter\ntrace_queries_total {}\n\
         # TYPE trace_passages_stored gauge\ntrace_passages_stored {stored}\n",
        m.ingest_requests.load(Ordering::Relaxed),
        m.passages_accepted.load(Ordering::Relaxed),
        m.passages_duplicate.load(Ordering::Relaxed),
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

/// A kiosk sends its own passages; it may write neither for another kiosk nor another venue.
async fn ingest(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(batch): Json<Vec<PassageIn>>,
) -> Result<Json<IngestReport>, ServerError> {
    s.metrics.ingest_requests.fetch_add(1, Ordering::Relaxed);
    let (kiosk, venue) = kiosk_of(&s, &headers).await?;
    if batch.len() > MAX_BATCH {
        return Err(ServerError::BadRequest(format!(
            "batch of {} passages; send at most {MAX_BATCH}",
            batch.len()
        )));
    }
    if let Some(p) = batch.iter().find(|p| p.kiosk_id != kiosk || p.venue_id != venue) {
        return Err(ServerError::Forbidden(format!(
            "this token belongs to kiosk {kiosk} at venue {venue}; passage {} claims kiosk {} at venue {}",
            p.event_id, p.kiosk_id, p.venue_id
        )));
    }
    let report = db::record_passages(&s.pool, &batch).await?;
    s.metrics
        .passages_accepted
        .fetch_add(report.accepted, Ordering::Relaxed);
    s.metrics
        .passages_duplicate
        .fetch_add(report.duplicates, Ordering::Relaxed);
    Ok(Json(report))
}

/// The signed trust list and risk regions, for any registered kiosk.
async fn kiosk_policy(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<crate::trust::SignedDocument>, ServerError> {
    kiosk_of(&s, &headers).await?;
    Ok(Json(crate::trust::signed_policy(&s.pool).await?))
}

/// Readable by a tracer, or by the kiosk itself.
async fn kiosk_status(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<db::KioskStatus>, ServerError> {
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
