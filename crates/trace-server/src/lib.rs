//! The central trace server: kiosks send passages, tracers ask who met whom, where and when.

pub mod api;
pub mod args;
pub mod auth;
pub mod db;
pub mod error;
pub mod ingest;
/// Test support (a throwaway database, a server on 127.0.0.1): behind the `testkit` feature,
/// never in a release build.
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod trace;
pub mod trust;
pub mod web;

pub use api::{AppState, Metrics, router};
pub use error::ServerError;

/// Serves on an already-bound listener until the future `shutdown` completes. `visit_secs` is
/// the length given to a visit whose exit was never scanned.
pub async fn serve(
    db: db::Db,
    listener: tokio::net::TcpListener,
    visit_secs: f64,
    (limits, console_zone): (api::Limits, chrono_tz::Tz),
    keys: api::Keys,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), std::io::Error> {
    // The coming days' partitions before the first batch (ingest makes any it lacks, but that
    // briefly locks the table); `serve` in main.rs makes them again hourly.
    if let Err(e) = db.prepare_days(chrono::Utc::now()).await {
        tracing::warn!("the coming days' partitions were not made (ingest will make them): {e}");
    }
    let state = AppState::new(db, visit_secs, limits, keys).with_console_zone(console_zone);
    // The peer address reaches the per-client rate limit. Behind a reverse proxy every client
    // is the proxy, unless it is named with `--trusted-proxy` (then its X-Forwarded-For is read).
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
