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
    #[error("{0}")]
    TooLarge(String),
}

/// Seconds a client is asked to wait when the database (or, on Citus, a worker) cannot be
/// reached: long enough for a restart or a failover, short enough that a kiosk's backlog moves.
const UNAVAILABLE_RETRY_SECS: u64 = 10;

/// A worker that answered and refused the coordinator (wrong password, unknown role or
/// database): configuration to fix, not an outage to wait out. A worker out of connections
/// ("too many connections for role …") is capacity: an outage.
fn refused_by_worker(message: &str) -> bool {
    let refused = |m: &str| message.contains(m);
    !refused("too many connections")
        && (refused("password authentication failed")
            || refused("no pg_hba.conf entry")
            || refused("is not permitted to log in")
            || (message.contains("FATAL:") && message.contains("\" does not exist")))
}

impl ServerError {
    /// The database, or on Citus one of its workers, could not be reached: nothing is wrong
    /// with the request, and sending it again later will work. PostgreSQL reports this as a
    /// connection exception (class 08: Citus uses 08006 when a worker does not answer), a
    /// server shutting down or starting (57P01–57P03) or out of connections (53300), Citus a
    /// worker connection lost inside a transaction as XX000 naming it; the pool as a failed
    /// or timed-out connect.
    pub fn is_unavailable(&self) -> bool {
        let unreachable = |e: &tokio_postgres::Error| {
            // Citus reports a worker refusing its login as 08006 or XX000 too.
            let refused = e.as_db_error().is_some_and(|d| refused_by_worker(d.message()));
            !refused
                && (e.is_closed()
                // Not 08P01 (protocol violation): that is a bug, and retrying will not help.
                || e.code().is_some_and(|c| {
                    matches!(
                        c.code(),
                        "08000" | "08001" | "08003" | "08004" | "08006" | "57P01" | "57P02" | "57P03" | "53300"
                        // A lock not had in time (a new day's partitions being made, db/days.rs).
                        | "55P03"
                    )
                })
                // Citus, when a worker's connection breaks inside a transaction, reports an
                // internal error (XX000) naming the connection rather than 08006.
                || e.as_db_error().is_some_and(|d| {
                    d.code().code() == "XX000"
                        && (d.message().starts_with("failure on connection marked as essential")
                            || d.message().starts_with("connection to the remote node"))
                })
                // No SQLSTATE and not a statement error: the socket itself failed.
                || (e.code().is_none() && e.as_db_error().is_none() && std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())))
        };
        match self {
            ServerError::Db(e) => unreachable(e),
            // A new connection failed: unreachable, unless the server refused who we are or the
            // database is not there (configuration, not an outage). 08004 is also what a
            // server refusing a connection for capacity reports, so it stays an outage.
            ServerError::Pool(deadpool_postgres::PoolError::Backend(e)) => !e
                .code()
                .is_some_and(|c| c.code().starts_with("28") || c.code() == "3D000"),
            ServerError::Pool(deadpool_postgres::PoolError::Timeout(_)) => true,
            _ => false,
        }
    }
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
            ServerError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            _ if self.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            ServerError::Config(_) | ServerError::Db(_) | ServerError::Pool(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let status = self.status();
        let unavailable = self.is_unavailable();
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!("{self}");
            "internal error; the server log has the details".to_string()
        } else if unavailable {
            tracing::warn!("{self}");
            format!(
                "the database cannot be reached right now; nothing was stored: send it again in {UNAVAILABLE_RETRY_SECS} s"
            )
        } else {
            self.to_string()
        };
        let mut response = (status, axum::Json(serde_json::json!({ "error": message }))).into_response();
        // Rounded up by whoever made the error: a client that waits what it is told is served.
        let retry_after = match self {
            ServerError::RateLimited(secs) => Some(secs),
            _ if unavailable => Some(UNAVAILABLE_RETRY_SECS),
            _ => None,
        };
        if let Some(secs) = retry_after
            && let Ok(value) = axum::http::HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::refused_by_worker;

    #[test]
    fn a_worker_refusing_the_login_is_configuration_a_full_one_is_an_outage() {
        let remote = |e: &str| {
            format!("connection to the remote node postgres@10.0.0.2:5432 failed with the following error: {e}")
        };
        assert!(refused_by_worker(&remote(
            "FATAL:  password authentication failed for user \"trace\""
        )));
        assert!(refused_by_worker(&remote("FATAL:  role \"trace\" does not exist")));
        assert!(refused_by_worker(&remote("FATAL:  database \"traces\" does not exist")));
        assert!(!refused_by_worker(&remote(
            "FATAL:  too many connections for role \"trace\""
        )));
        assert!(!refused_by_worker(&remote("Connection refused")));
        assert!(!refused_by_worker(&remote(
            "FATAL:  database \"traces\" is not currently accepting connections"
        )));
    }
}
