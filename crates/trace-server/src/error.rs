//! The server's error boundary: one enum, mapped to HTTP statuses with messages that say what
//! to do. Internal details (SQL errors) go to the log, not to the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Db(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error(
        "missing or unknown token: send `Authorization: Bearer <token>` from `trace-server kiosk add` / `tracer add`"
    )]
    Unauthorized,
    #[error("{0}")]
    TokenRefused(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("the server is busy ({0} requests in flight); retry in a few seconds")]
    Busy(usize),
    #[error("too many requests from this address or token; retry in {0} s")]
    RateLimited(u64),
    #[error("the request took longer than {0} s (a slow or stalled upload?); send it again")]
    TimedOut(u64),
}

impl ServerError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ServerError::Unauthorized | ServerError::TokenRefused(_) => StatusCode::UNAUTHORIZED,
            ServerError::Conflict(_) => StatusCode::CONFLICT,
            ServerError::Forbidden(_) => StatusCode::FORBIDDEN,
            ServerError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ServerError::NotFound(_) => StatusCode::NOT_FOUND,
            ServerError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ServerError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ServerError::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
            ServerError::Config(_) | ServerError::Db(_) | ServerError::Pool(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!("{self}");
            "internal error; the server log has the details".to_string()
        } else {
            self.to_string()
        };
        let mut response = (status, axum::Json(serde_json::json!({ "error": message }))).into_response();
        // Rounded up by whoever made the error: a client that waits what it is told is served.
        if let ServerError::RateLimited(secs) = self
            && let Ok(value) = axum::http::HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}
