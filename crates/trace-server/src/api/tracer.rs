//! What tracers call: the tracing queries, each run through the audited service.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use wire::when::{Edge, parse_instant};

use super::AppState;
use super::docs::ErrorBody;
use crate::auth::TracerCaller;
use crate::error::ServerError;
use crate::trace::{Case, Contact, Hotspot, Page, Peak, Visit, Window};

/// The query string of the tracing routes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct Params {
    /// A date (`2026-11-20`, from its midnight UTC) or an RFC 3339 time.
    pub from: Option<String>,
    /// A date (`2026-11-22`, through its end) or an RFC 3339 time.
    pub to: Option<String>,
    /// Contacts and venue visitor lists: the open case they are asked under.
    pub case: Option<i64>,
    pub venue: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

impl Params {
    fn window(&self, s: &AppState) -> Result<Window, ServerError> {
        let at = |value: &Option<String>, name: &str, edge: Edge| {
            parse_instant(required(value, name)?, edge).map_err(|e| ServerError::BadRequest(format!("?{name}=: {e}")))
        };
        let window = Window {
            from: at(&self.from, "from", Edge::Start)?,
            to: at(&self.to, "to", Edge::End)?,
        };
        s.metrics.trace_queries.fetch_add(1, Ordering::Relaxed);
        Ok(window)
    }

    fn case(&self) -> Result<i64, ServerError> {
        self.case.ok_or_else(|| {
            ServerError::BadRequest(
                "give ?case= : a person's contacts are traced within an open case (POST /v1/cases with the \
                 subject and a reason; `trace-server case open`)"
                    .into(),
            )
        })
    }

    fn page(&self) -> Page {
        Page {
            limit: self.limit,
            offset: self.offset,
        }
    }
}

/// What a tracer sends to open a case.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewCase {
    pub subject: String,
    pub reason: String,
    /// How long the case stays open (default 14 days).
    pub days: Option<i64>,
}

/// Opens a case (audited); answers it with its id.
#[utoipa::path(post, path = "/v1/cases", tag = "tracer", security(("bearer" = [])), request_body = NewCase,
    responses((status = 200, body = Case), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn open_case(
    State(s): State<AppState>,
    t: TracerCaller,
    Json(c): Json<NewCase>,
) -> Result<Json<Case>, ServerError> {
    Ok(Json(
        s.tracing
            .open_case(&t.name, &c.subject, &c.reason, c.days.unwrap_or(14))
            .await?,
    ))
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, ServerError> {
    value
        .as_deref()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ServerError::BadRequest(format!("give ?{name}= (README.md shows an example)")))
}

/// Who overlapped with an open case's subject, longest overlap first; one page (`case`, `from`, `to`, `limit`, `offset`). Audited.
#[utoipa::path(get, path = "/v1/trace/contacts", tag = "tracer", security(("bearer" = [])), params(Params),
    responses((status = 200, body = Vec<Contact>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn contacts(
    State(s): State<AppState>,
    t: TracerCaller,
    Query(p): Query<Params>,
) -> Result<Json<Vec<Contact>>, ServerError> {
    Ok(Json(
        s.tracing.contacts(&t.name, p.case()?, p.window(&s)?, p.page()).await?,
    ))
}

/// Everyone at `venue` in the window, within an open case whose subject was there; one page. Audited.
#[utoipa::path(get, path = "/v1/trace/venue", tag = "tracer", security(("bearer" = [])), params(Params),
    responses((status = 200, body = Vec<Visit>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn venue(
    State(s): State<AppState>,
    t: TracerCaller,
    Query(p): Query<Params>,
) -> Result<Json<Vec<Visit>>, ServerError> {
    let venue = required(&p.venue, "venue")?;
    Ok(Json(
        s.tracing
            .venue(&t.name, p.case()?, venue, p.window(&s)?, p.page())
            .await?,
    ))
}

/// The venues with the most admitted entries in the window. Audited.
#[utoipa::path(get, path = "/v1/trace/hotspots", tag = "tracer", security(("bearer" = [])), params(Params),
    responses((status = 200, body = Vec<Hotspot>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn hotspots(
    State(s): State<AppState>,
    t: TracerCaller,
    Query(p): Query<Params>,
) -> Result<Json<Vec<Hotspot>>, ServerError> {
    Ok(Json(s.tracing.hotspots(&t.name, p.window(&s)?, p.limit).await?))
}

/// The busiest venue-hours in the window (of one `venue`, or all). Audited.
#[utoipa::path(get, path = "/v1/trace/peaks", tag = "tracer", security(("bearer" = [])), params(Params),
    responses((status = 200, body = Vec<Peak>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn peaks(
    State(s): State<AppState>,
    t: TracerCaller,
    Query(p): Query<Params>,
) -> Result<Json<Vec<Peak>>, ServerError> {
    Ok(Json(
        s.tracing
            .peaks(&t.name, p.window(&s)?, p.venue.as_deref(), p.limit)
            .await?,
    ))
}
