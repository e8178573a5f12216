//! The page shell every console page shares (header, navigation by role, language switch,
//! sign-out), and the error page: a failure is a readable page with the right status, never a
//! stack trace, and a refusal says nothing about what it refused.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::text::{Lang, t};
use crate::db::{ConsoleSession, Role};
use crate::error::ServerError;

/// A whole page.
pub fn page(lang: Lang, session: Option<&ConsoleSession>, here: &str, title: &str, body: Markup) -> Html<String> {
    let nav: &[(&str, &str)] = match session.map(|s| s.role) {
        Some(Role::Tracer) => &[
            ("/ui/contacts", "contacts"),
            ("/ui/hotspots", "hotspots"),
            ("/ui/peaks", "peaks"),
            ("/ui/kiosks", "kiosks"),
            ("/ui/audit", "audit"),
        ],
        Some(Role::Operator) => &[("/ui/kiosks", "kiosks")],
        None => &[],
    };
    let venue_link = session
        .and_then(|s| s.venue.as_ref())
        .map(|v| format!("/ui/venues/{v}"));
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (t(lang, "title")) }
                link rel="stylesheet" href="/ui/static/console.css";
            }
            body {
                header {
                    span.brand { (t(lang, "title")) }
                    nav {
                        @if let Some(v) = &venue_link {
                            a href=(v) aria-current=[(here == v).then_some("page")] { (t(lang, "venue")) }
                        }
                        @for (href, key) in nav {
                            a href=(href) aria-current=[(here == *href).then_some("page")] { (t(lang, key)) }
                        }
                    }
                    a href={ "/ui/lang?to=" (lang.other().code()) "&next=" (super::q(here)) } { (t(lang, "language")) }
                    @if let Some(s) = session {
                        span.muted {
                            (t(lang, "signed-in-as")) " " (s.name) " ("
                            (t(lang, if s.role == Role::Tracer { "tracer" } else { "operator" })) ")"
                        }
                        form method="post" action="/ui/logout" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button.link type="submit" { (t(lang, "sign-out")) }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    Html(markup.into_string())
}

/// A page that failed, with its status.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub message: String,
    pub lang: Lang,
}

impl PageError {
    pub fn new(status: StatusCode, lang: Lang, message: impl Into<String>) -> PageError {
        PageError {
            status,
            message: message.into(),
            lang,
        }
    }

    /// 403 naming nothing: not whether the venue exists, not whose it is.
    pub fn forbidden(lang: Lang) -> PageError {
        PageError::new(StatusCode::FORBIDDEN, lang, t(lang, "forbidden"))
    }

    /// A service error as a page: its status and its sentence (a database failure's detail
    /// goes to the log, not to the browser).
    pub fn from_server(lang: Lang, e: ServerError) -> PageError {
        let status = e.status();
        let message = if status.is_server_error() {
            tracing::error!("console: {e}");
            t(lang, "error").to_string()
        } else {
            e.to_string()
        };
        PageError::new(status, lang, message)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let lang = self.lang;
        let body = html! {
            p.error { (self.message) }
            p { a href="/ui" { "← " (t(lang, "title")) } }
        };
        (self.status, page(lang, None, "", t(lang, "error"), body)).into_response()
    }
}
