//! HTTP API, split by caller: `kiosk` (ingest, trust list, status), `tracer` (audited tracing
//! queries), `ops` (health, metrics). Authentication is the extractors in `auth.rs`.

mod kiosk;
mod ops;
mod tracer;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::Router;
use axum::routing::{get, post};
use wire::routes;

use crate::db::Db;
use crate::trace::Tracing;

/// Largest batch a kiosk may send at once (the contract's limit).
pub use wire::MAX_BATCH;

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
    pub db: Db,
    pub metrics: Arc<Metrics>,
    pub tracing: Tracing,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(routes::HEALTHZ, get(ops::healthz))
        .route(routes::METRICS, get(ops::metrics))
        .route(routes::PASSAGES, post(kiosk::ingest))
        .route(routes::KIOSK_STATUS, get(kiosk::status))
        .route(routes::KIOSK_POLICY, get(kiosk::policy))
        .route(routes::TRACE_CONTACTS, get(tracer::contacts))
        .route(routes::TRACE_VENUE, get(tracer::venue))
        .route(routes::TRACE_HOTSPOTS, get(tracer::hotspots))
        .route(routes::TRACE_PEAKS, get(tracer::peaks))
        // No other route takes a body; ingest reads its own, after the token check.
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(state)
}
