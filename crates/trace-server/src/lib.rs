//! The central trace server: kiosks send passages, tracers ask who met whom, where and when.

pub mod api;
pub mod auth;
pub mod db;
pub mod error;
pub mod ingest;
#[doc(hidden)]
pub mod synth;
#[doc(hidden)]
pub mod testkit;
pub mod trace;
pub mod trust;

use std::sync::Arc;

pub use api::{AppState, Metrics, router};
pub use error::ServerError;

/// Serves on an already-bound listener until the future `shutdown` completes.
pub async fn serve(
    pool: deadpool_postgres::Pool,
    listener: tokio::net::TcpListener,
    visit_secs: f64,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), std::io::Error> {
    let state = AppState {
        pool,
        metrics: Arc::new(Metrics::default()),
        visit_secs,
    };
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
