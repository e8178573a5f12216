//! What kiosks call: ingest of their passages, the signed trust list, their status.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use chrono::Utc;
use wire::{IngestReport, KioskIdentity, KioskStatus, MAX_BATCH, SignedDocument, VenueRequest, VenueState};

use super::AppState;
use super::docs::ErrorBody;
use crate::auth::{Caller, KioskCaller};
use crate::error::ServerError;

/// Largest ingest body read for a batch of `max_batch`: generous passages (≈ 1 KiB each) fit.
fn body_limit(max_batch: usize) -> usize {
    max_batch * 1024 + 64 * 1024
}

/// A kiosk sends its own passages. The token is checked (by the extractor) before the body is
/// read, so an unauthenticated client cannot make the server buffer or parse anything; then
/// each passage is checked on its own: refused ones are named in the report, the rest stored.
#[utoipa::path(post, path = "/v1/passages", tag = "kiosk", security(("bearer" = [])), request_body = Vec<wire::PassageRecord>,
    responses((status = 200, description = "stored, duplicates and refusals, each passage on its own", body = IngestReport),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 413, description = "more passages than the server takes at once: send the batch in halves", body = ErrorBody),
              (status = 503, description = "the database or a worker is unreachable: nothing stored, retry after Retry-After", body = ErrorBody)))]
pub async fn ingest(State(s): State<AppState>, k: KioskCaller, body: Body) -> Result<Json<IngestReport>, ServerError> {
    s.metrics.ingest_requests.fetch_add(1, Ordering::Relaxed);
    let max_batch = s.limits.max_batch.clamp(1, MAX_BATCH);
    let limit = body_limit(max_batch);
    let body = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ServerError::TooLarge(format!(
            "the body is larger than {limit} bytes; send at most {max_batch} passages per request"
        ))
    })?;
    let items: Vec<serde_json::Value> = serde_json::from_slice(&body)
        .map_err(|e| ServerError::BadRequest(format!("the body must be a JSON array of passages: {e}")))?;
    if items.len() > max_batch {
        return Err(ServerError::TooLarge(format!(
            "batch of {} passages; this server takes at most {max_batch} per request",
            items.len()
        )));
    }
    let now = Utc::now();
    let (checked, rejected) = crate::ingest::check_batch(items, &k.kiosk, &k.venue, now);
    // Before storing: a purge mark raised for passages that then fail to store only hides
    // gaps retention would have hidden within the hour anyway.
    let (expired, checked) = crate::ingest::split_expired(checked, s.limits.retention_days, now);
    s.db.expire_on_arrival(&k.kiosk, &expired).await?;
    let mut report =
        s.db.record_passages(&k.kiosk, &k.venue, &checked, rejected.len())
            .await?;
    report.rejected = rejected;
    report.expired = expired.len() as u64;
    let m = &s.metrics;
    m.passages_expired.fetch_add(report.expired, Ordering::Relaxed);
    m.passages_accepted.fetch_add(report.accepted, Ordering::Relaxed);
    m.passages_duplicate.fetch_add(report.duplicates, Ordering::Relaxed);
    m.passages_rejected
        .fetch_add(report.rejected.len() as u64, Ordering::Relaxed);
    Ok(Json(report))
}

/// The signed trust list and risk regions, for any registered kiosk.
#[utoipa::path(get, path = "/v1/kiosk/policy", tag = "kiosk", security(("bearer" = [])),
    responses((status = 200, body = SignedDocument), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn policy(State(s): State<AppState>, _k: KioskCaller) -> Result<Json<SignedDocument>, ServerError> {
    Ok(Json(crate::trust::signed_policy(&s.db, &s.signing_key).await?))
}

#[utoipa::path(get, path = "/v1/kiosk/whoami", tag = "kiosk", security(("bearer" = [])),
    responses((status = 200, body = KioskIdentity), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
/// Who the token belongs to and the server's key, so a kiosk being paired can check that its
/// configuration matches what the server has; the DCC subject key only while pairing (see
/// `Db::give_subject_key`), its fingerprint always.
pub async fn whoami(State(s): State<AppState>, k: KioskCaller) -> Result<Json<KioskIdentity>, ServerError> {
    let subject_key = s.db.give_subject_key(&k.kiosk).await?.then(|| s.subject_key.hex());
    Ok(Json(KioskIdentity {
        kiosk_id: k.kiosk,
        venue_id: k.venue,
        server_key: crate::trust::public_hex(&s.signing_key),
        server_time: Utc::now(),
        subject_key,
        subject_key_fingerprint: Some(s.subject_key.fingerprint()),
    }))
}

#[utoipa::path(post, path = "/v1/kiosk/venue", tag = "kiosk", security(("bearer" = [])), request_body = VenueRequest,
    responses((status = 200, body = VenueState), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
/// The kiosk's venue as every gate's passages show it, and a new share of the room for this
/// gate. The token is checked before the body is read; the venue is the token's.
pub async fn venue(
    State(s): State<AppState>,
    k: KioskCaller,
    axum::Json(request): axum::Json<VenueRequest>,
) -> Result<Json<VenueState>, ServerError> {
    if !crate::ingest::valid_log_id(&request.log_id) {
        return Err(ServerError::BadRequest(
            "log_id must be at most 64 hex digits (the kiosk's log identity)".into(),
        ));
    }
    if request.capacity == Some(0) || request.capacity.is_some_and(|c| c > 10_000_000) {
        return Err(ServerError::BadRequest(
            "capacity: between 1 and 10000000, or absent for no limit".into(),
        ));
    }
    let version = request
        .version
        .as_deref()
        .filter(|v| v.len() <= 32 && v.chars().all(|c| c.is_ascii_alphanumeric() || ".-+_".contains(c)));
    s.db.kiosk_reported(&k.kiosk, version, request.pending.map(i64::from))
        .await?;
    Ok(Json(s.db.venue_state(&k.kiosk, &k.venue, &request).await?))
}

/// Readable by a tracer, or by the kiosk itself.
#[utoipa::path(get, path = "/v1/kiosks/{id}/status", tag = "kiosk", security(("bearer" = [])),
    params(("id" = String, Path, description = "the kiosk's name ([kiosk] id)")),
    responses((status = 200, body = KioskStatus), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn status(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<KioskStatus>, ServerError> {
    if let Caller::Kiosk(k) = &caller
        && k.kiosk != id
    {
        return Err(ServerError::Forbidden(format!(
            "a kiosk token reads only its own status: this token is kiosk {:?}'s, the path names {id:?} \
             (`{{id}}` is the kiosk's name, [kiosk] id)",
            k.kiosk
        )));
    }
    s.db.kiosk_status(&id)
        .await?
        .map(Json)
        .ok_or(ServerError::NotFound(format!("kiosk {id}")))
}
