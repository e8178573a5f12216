//! The web console under /ui, for tracers at the health authority and venue operators:
//! sign-in with a token (`session`), pages rendered on the server with every value escaped
//! (maud; `layout`, `tracer`, `operator`), charts drawn as SVG on the server (`chart`), the
//! stylesheet embedded in the binary (`static/`), zh-CN and en (`text`), formula-safe CSV
//! (`csv`). Nothing is fetched from the internet: the console works on a closed network.
//!
//! Tracers' tracing queries go through `trace::Tracing` like the API's: checked, bound to an
//! open case where the API binds them, and audited under the tracer's name. An operator sees
//! only their own venue and gets 403, naming nothing, for anything else.

mod chart;
mod csv;
mod layout;
mod operator;
mod session;
mod text;
mod tracer;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use crate::api::AppState;
pub use session::SESSION_COOKIE;

/// Declares every console route once: registered on the router, and listed in [`ROUTES`] so
/// the console's authorization test fails when a page has no row.
macro_rules! web_routes {
    ($($method:ident $path:literal => $handler:path),* $(,)?) => {
        /// Every console route, as (method, path template).
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        /// The console's routes, to merge into the server's router.
        pub fn router() -> Router<AppState> {
            Router::new() $(.route($path, $method($handler)))*
                .layer(axum::middleware::from_fn(session::page_headers))
        }
    };
}

web_routes! {
    get "/ui" => session::index,
    get "/ui/login" => session::login_page,
    post "/ui/login" => session::login,
    post "/ui/logout" => session::logout,
    get "/ui/lang" => session::switch_lang,
    get "/ui/static/console.css" => stylesheet,
    get "/ui/contacts" => tracer::contacts,
    get "/ui/contacts.csv" => tracer::contacts_csv,
    post "/ui/cases" => tracer::open_case,
    get "/ui/hotspots" => tracer::hotspots,
    get "/ui/peaks" => tracer::peaks,
    get "/ui/audit" => tracer::audit,
    get "/ui/kiosks" => operator::kiosks,
    get "/ui/venues/{venue}" => operator::venue,
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("static/console.css"),
    )
}

/// A day in the console's time zone (`day=2026-11-20`, default today) as `[from, to)`.
fn day_window(zone: chrono_tz::Tz, day: &str) -> Result<(NaiveDate, DateTime<Utc>, DateTime<Utc>), String> {
    let date = if day.trim().is_empty() {
        Utc::now().with_timezone(&zone).date_naive()
    } else {
        NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").map_err(|_| format!("{day:?}: give a day like 2026-11-20"))?
    };
    let text = date.format("%Y-%m-%d").to_string();
    let from =
        wire::when::parse_instant_in(&text, wire::when::Edge::Start, &zone, zone.name()).map_err(|e| e.to_string())?;
    let to =
        wire::when::parse_instant_in(&text, wire::when::Edge::End, &zone, zone.name()).map_err(|e| e.to_string())?;
    Ok((date, from, to))
}

/// A time as the console shows it: in its zone, to the minute.
fn local(zone: chrono_tz::Tz, t: DateTime<Utc>) -> String {
    zone.from_utc_datetime(&t.naive_utc())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Percent-encodes a query-string value.
fn q(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
