//! The JSON API described in OpenAPI 3, made from the handlers' own annotations and the wire
//! types (utoipa), served at `/api-docs`; tests/api_docs.rs holds it to `api::ROUTES`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Every error answer: a sentence that says what to do.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: String,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "trace-server",
        description = "Kiosks send passages and read their trust list and venue; tracers trace within open cases \
                       (every query audited). Tokens go in `Authorization: Bearer <token>`."
    ),
    paths(
        super::ops::healthz,
        super::ops::metrics,
        super::kiosk::ingest,
        super::kiosk::status,
        super::kiosk::policy,
        super::kiosk::whoami,
        super::kiosk::venue,
        super::tracer::open_case,
        super::tracer::contacts,
        super::tracer::venue,
        super::tracer::hotspots,
        super::tracer::peaks,
        api_docs,
    ),
    modifiers(&Bearer)
)]
pub struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// This document.
#[utoipa::path(get, path = "/api-docs", tag = "ops", responses((status = 200, description = "the OpenAPI document")))]
pub async fn api_docs() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
