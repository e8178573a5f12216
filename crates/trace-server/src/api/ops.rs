//! Health and metrics, for the operator of the server.

use std::sync::atomic::Ordering;

use axum::extract::State;

use super::AppState;
use crate::error::ServerError;

/// "ok" when the server and its database answer (exempt from limits).
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = String), (status = 500, body = super::docs::ErrorBody)))]
pub async fn healthz(State(s): State<AppState>) -> Result<&'static str, ServerError> {
    s.db.ping().await?;
    Ok("ok\n")
}

/// Counters in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, body = String)))]
pub async fn metrics(State(s): State<AppState>) -> Result<String, ServerError> {
    let m = &s.metrics;
    let stored = s.db.passage_estimate().await?.unwrap_or(0);
    Ok(format!(
        "# TYPE trace_ingest_requests_total counter\ntrace_ingest_requests_total {}\n\
         # TYPE trace_passages_accepted_total counter\ntrace_passages_accepted_total {}\n\
         # TYPE trace_passages_duplicate_total counter\ntrace_passages_duplicate_total {}\n\
         # TYPE trace_passages_rejected_total counter\ntrace_passages_rejected_total {}\n\
         # TYPE trace_passages_expired_total counter\ntrace_passages_expired_total {}\n\
         # TYPE trace_auth_failures_total counter\ntrace_auth_failures_total {}\n\
         # TYPE trace_queries_total counter\ntrace_queries_total {}\n\
         # TYPE trace_passages_stored_estimate gauge\ntrace_passages_stored_estimate {stored}\n",
        m.ingest_requests.load(Ordering::Relaxed),
        m.passages_accepted.load(Ordering::Relaxed),
        m.passages_duplicate.load(Ordering::Relaxed),
        m.passages_rejected.load(Ordering::Relaxed),
        m.passages_expired.load(Ordering::Relaxed),
        m.auth_failures.load(Ordering::Relaxed),
        m.trace_queries.load(Ordering::Relaxed),
    ))
}
