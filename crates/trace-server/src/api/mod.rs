//! HTTP API, split by caller: `kiosk` (ingest, trust list, status), `tracer` (audited tracing
//! queries), `ops` (health, metrics). Authentication is the extractors in `auth.rs`.

pub mod docs;
mod kiosk;
mod ops;
mod rate;
pub mod tracer;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::{get, post};
use wire::routes;

use crate::db::Db;
use crate::error::ServerError;
use crate::trace::Tracing;

/// Largest batch a kiosk may send at once (the contract's limit).
pub use wire::MAX_BATCH;

#[derive(Default)]
pub struct Metrics {
    pub ingest_requests: AtomicU64,
    pub passages_accepted: AtomicU64,
    pub passages_duplicate: AtomicU64,
    pub passages_rejected: AtomicU64,
    pub passages_expired: AtomicU64,
    pub auth_failures: AtomicU64,
    pub trace_queries: AtomicU64,
}

/// How much the server takes on at once, and for how long.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Requests served at once; more get 503 at once (a flood queues nothing).
    pub max_in_flight: usize,
    /// A request not answered in this time, including a body that trickles in, gets 408.
    pub request_timeout: std::time::Duration,
    /// Requests a minute one client address (IPv6: one /64) may make on average (bursts of
    /// ten seconds' worth); more get 429 and a Retry-After. 0 (the default): no limit — behind
    /// a reverse proxy every client has the proxy's address unless the proxy is listed in
    /// `trusted_proxies`.
    pub per_client_per_minute: u32,
    /// Requests a minute one credential (a kiosk's, tracer's or operator's token, console
    /// sessions included) may make, from whatever addresses; more get 429 and a Retry-After.
    /// Counted after the token is checked, so unknown tokens cost nobody's budget. 0: no limit.
    pub per_token_per_minute: u32,
    /// Reverse proxies whose `X-Forwarded-For` names the client for the per-client rate
    /// (`serve --trusted-proxy`); from any other peer the header is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Passages one ingest request may carry (at most `wire::MAX_BATCH`); a larger batch, or a
    /// body too big for this many, gets 413 and the kiosk sends it in halves.
    pub max_batch: usize,
    /// Passages older than this many days are not stored (`serve --retention-days`): retention
    /// would delete them within the hour, and each day stored makes a partition, so a token
    /// sending passages over years of days could otherwise make thousands. `None` (the
    /// default, for tests with fixed dates): any day since 2020 is stored.
    pub retention_days: Option<u32>,
}

/// Requests a minute a token may make by default: a kiosk syncs and asks for its venue every
/// few seconds and a tracer clicks; ten a second, in bursts of a hundred, is far above either
/// and far below a stolen token scraping the server.
pub const PER_TOKEN_PER_MINUTE: u32 = 600;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_in_flight: 256,
            request_timeout: std::time::Duration::from_secs(60),
            per_client_per_minute: 0,
            per_token_per_minute: PER_TOKEN_PER_MINUTE,
            trusted_proxies: Vec::new(),
            max_batch: MAX_BATCH,
            retention_days: None,
        }
    }
}

/// The server's two secrets, loaded once at start (`trust::signing_key`, `trust::subject_key`).
#[derive(Debug)]
pub struct Keys {
    /// Signs the trust list.
    pub signing: passes::vp1::IssuerKey,
    /// Keys DCC holders' ids and the console's aliases.
    pub subject: crate::trust::SubjectKey,
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub metrics: Arc<Metrics>,
    pub tracing: Tracing,
    pub limits: Limits,
    /// One permit per request being served (`limits.max_in_flight`).
    pub in_flight: Arc<tokio::sync::Semaphore>,
    /// `limits.per_client_per_minute`, per client address.
    pub rate: Option<Arc<rate::RateLimiter<std::net::IpAddr>>>,
    /// `limits.per_token_per_minute`, per credential (`kiosk:ID`, `tracer:NAME`, `operator:NAME`).
    pub token_rate: Option<Arc<rate::RateLimiter<String>>>,
    /// Signs the trust list (loaded once at start: see `trust::signing_key`).
    pub signing_key: Arc<passes::vp1::IssuerKey>,
    /// The DCC subject key (loaded once at start: see `trust::subject_key`).
    pub subject_key: Arc<crate::trust::SubjectKey>,
    /// The time zone the web console shows days and times in (`serve --timezone`).
    pub console_zone: chrono_tz::Tz,
}

impl AppState {
    pub fn new(db: Db, visit_secs: f64, limits: Limits, keys: Keys) -> AppState {
        AppState {
            signing_key: Arc::new(keys.signing),
            subject_key: Arc::new(keys.subject),
            tracing: Tracing::new(db.clone(), visit_secs),
            db,
            metrics: Arc::new(Metrics::default()),
            in_flight: Arc::new(tokio::sync::Semaphore::new(limits.max_in_flight)),
            rate: (limits.per_client_per_minute > 0)
                .then(|| Arc::new(rate::RateLimiter::new(limits.per_client_per_minute))),
            token_rate: (limits.per_token_per_minute > 0)
                .then(|| Arc::new(rate::RateLimiter::new(limits.per_token_per_minute))),
            limits,
            console_zone: chrono_tz::Asia::Shanghai,
        }
    }

    /// `Err(429)` when the credential `who` has spent its request budget (`per_token_per_minute`).
    pub fn spend_token_budget(&self, who: &str) -> Result<(), ServerError> {
        match &self.token_rate {
            Some(rate) => rate
                .check(&who.to_string(), std::time::Instant::now())
                .map_err(|wait| ServerError::RateLimited(wait.as_secs_f64().ceil().max(1.0) as u64)),
            None => Ok(()),
        }
    }

    /// The web console's time zone.
    pub fn with_console_zone(mut self, zone: chrono_tz::Tz) -> AppState {
        self.console_zone = zone;
        self
    }
}

/// Declares every route once: registered on the router, and listed in [`ROUTES`] so that the
/// authorization matrix test (tests/authorization.rs) fails when a route has no row.
macro_rules! routes {
    ($($method:ident $path:path => $handler:path),* $(,)?) => {
        /// Every route the server answers, as (method, path template).
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        fn with_routes(router: Router<AppState>) -> Router<AppState> {
            router $(.route($path, $method($handler)))*
        }
    };
}

routes! {
    get routes::HEALTHZ => ops::healthz,
    get routes::METRICS => ops::metrics,
    post routes::PASSAGES => kiosk::ingest,
    get routes::KIOSK_STATUS => kiosk::status,
    get routes::KIOSK_POLICY => kiosk::policy,
    get routes::KIOSK_WHOAMI => kiosk::whoami,
    post routes::VENUE => kiosk::venue,
    post routes::CASES => tracer::open_case,
    get routes::TRACE_CONTACTS => tracer::contacts,
    get routes::TRACE_VENUE => tracer::venue,
    get routes::TRACE_HOTSPOTS => tracer::hotspots,
    get routes::TRACE_PEAKS => tracer::peaks,
    get routes::API_DOCS => docs::api_docs,
}

pub fn router(state: AppState) -> Router {
    with_routes(Router::new())
        .merge(crate::web::router())
        // No other route takes a body; ingest reads its own, after the token check.
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .layer(axum::middleware::from_fn_with_state(state.clone(), limit))
        .layer(axum::middleware::from_fn(json_errors))
        .with_state(state)
}

/// At most `per_client_per_minute` requests from one address (429 and Retry-After beyond),
/// at most `max_in_flight` requests at once (the rest get 503 and a Retry-After, never a
/// queue), each answered within `request_timeout` or cut with 408: a client that opens many
/// connections or trickles a body in holds nothing for long. `/healthz` is exempt, so a
/// monitor can still tell "busy" from "down".
async fn limit(State(s): State<AppState>, request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if request.uri().path() == routes::HEALTHZ {
        return next.run(request).await;
    }
    let client = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| rate::client_address(c.0.ip(), request.headers(), &s.limits.trusted_proxies));
    if let (Some(rate), Some(client)) = (&s.rate, client)
        && let Err(wait) = rate.check(&rate::client_key(client), std::time::Instant::now())
    {
        // Rounded up: a client that waits what it is told is served.
        return ServerError::RateLimited(wait.as_secs_f64().ceil().max(1.0) as u64).into_response();
    }
    let Ok(_permit) = s.in_flight.clone().try_acquire_owned() else {
        let mut busy = ServerError::Busy(s.limits.max_in_flight).into_response();
        busy.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return busy;
    };
    match tokio::time::timeout(s.limits.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ServerError::TimedOut(s.limits.request_timeout.as_secs()).into_response(),
    }
}

/// Every error is JSON (`{"error": "…"}`) with a sentence a person can act on, including the
/// ones axum writes itself as plain text (a malformed query string, an unknown route, a wrong
/// method), so a script reads one shape and a person reads no bare "Not Found".
async fn json_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let route = format!("{} {}", request.method(), request.uri().path());
    let response = next.run(request).await;
    let status = response.status();
    // JSON, and the console's HTML pages, are already what their readers expect.
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = match status {
        StatusCode::NOT_FOUND => format!("no such route: {route} (README.md lists the routes)"),
        StatusCode::METHOD_NOT_ALLOWED => format!("{route}: this route does not take that method"),
        _ if text.is_empty() => status.canonical_reason().unwrap_or("error").to_string(),
        _ => text,
    };
    let body = serde_json::json!({ "error": message }).to_string();
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}
