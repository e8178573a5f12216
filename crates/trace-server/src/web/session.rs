//! Signing in to the console: a tracer's or operator's token in a form, checked like the API
//! checks it; then a session id in a cookie that is HttpOnly, SameSite=Strict, scoped to /ui
//! and Secure unless the console is served to this machine. Sessions last 8 hours at most and
//! end after an hour idle or when the token is revoked. Every POST carries the session's form
//! token (CSRF) and is refused from another origin; the token never reaches a page or a log.

use std::sync::atomic::Ordering;

use axum::Form;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::html;
use serde::Deserialize;

use super::layout::{PageError, page};
use super::text::{Lang, t};
use crate::api::AppState;
use crate::auth;
use crate::db::{ConsoleSession, Role};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "ts_session";
/// Longest a session lasts, however busy.
const LIFETIME_HOURS: i64 = 8;

/// The value of cookie `name` in the request, if it is there exactly once (two session
/// cookies mean one was planted from elsewhere: neither is used).
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut found = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v);
    let first = found.next();
    if found.next().is_some() { None } else { first }
}

/// A signed-in console user. Without a live session (or when another site's page made the
/// request) a page redirects to the sign-in form (which sends them back after).
pub struct Signed(pub ConsoleSession);

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Signed, Response> {
        let lang = Lang::from_request_parts(parts, state).await.unwrap_or(Lang::En);
        // A request another site's page made (a sibling subdomain's link, image or script) is
        // served as if signed out: pages run audited queries, and nobody else's page may make
        // a tracer's browser run one. Typed addresses, bookmarks and the console's own links
        // are `none` or `same-origin`.
        let foreign = parts
            .headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|site| site != "same-origin" && site != "none");
        if let Some(id) = cookie(&parts.headers, SESSION_COOKIE).filter(|_| !foreign) {
            match state.db.session(&auth::hash_token(id)).await {
                Ok(Some(session)) => {
                    // A session spends its token's budget: signing in gives no second one.
                    let who = format!("{}:{}", session.role.as_str(), session.name);
                    return match state.spend_token_budget(&who) {
                        Ok(()) => Ok(Signed(session)),
                        Err(e) => Err(PageError::from_server(lang, e).into_response()),
                    };
                }
                Ok(None) => {}
                Err(e) => return Err(PageError::from_server(lang, e).into_response()),
            }
        }
        // A foreign request is not sent back where it asked to go after signing in: the page
        // that made it chose the query.
        let here = match foreign {
            true => "/ui",
            false => parts.uri.path_and_query().map_or("/ui", |p| p.as_str()),
        };
        let next = super::q(here);
        Err(Redirect::to(&format!("/ui/login?next={next}")).into_response())
    }
}

/// Where a sign-in or language switch may send the browser back to: a console path only,
/// never another site (`//evil`, `/\evil`).
fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with("/ui")
        && !next.contains("//")
        && !next.contains("..")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control());
    ok.then_some(next)
}

/// A user's first page.
pub fn home(session: &ConsoleSession) -> String {
    match (&session.role, &session.venue) {
        (Role::Operator, Some(venue)) => format!("/ui/venues/{venue}"),
        _ => "/ui/contacts".to_string(),
    }
}

/// Whether a POST came from this console: a browser names the page's origin in `Origin`, which
/// must be this host, and says where the request came from in `Sec-Fetch-Site`, which must be
/// this origin (a form on another site, or a sibling subdomain, cannot sign someone in or out).
/// A client that sends neither is not a browser (curl), which a forged form cannot be.
fn same_origin(headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if fetch_site.is_some_and(|site| site != "same-origin" && site != "none") {
        return false;
    }
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map_or("", |(_, h)| h);
    !host.is_empty() && origin_host == host
}

/// Served to a browser on this machine (plain http works there), or over the network (the
/// cookie is then sent over https only).
fn loopback(headers: &HeaderMap) -> bool {
    let host = headers.get(HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let name = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let ip = name.trim_start_matches('[').trim_end_matches(']');
    name == "localhost" || ip.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A POST's checks: from this console, with this session's form token.
pub fn check_post(session: &ConsoleSession, headers: &HeaderMap, csrf: &str, lang: Lang) -> Result<(), PageError> {
    if same_origin(headers) && same(csrf, &session.csrf) {
        Ok(())
    } else {
        Err(PageError::forbidden(lang))
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

fn login_page_with(lang: Lang, next: &str, error: Option<&str>) -> Html<String> {
    let body = html! {
        @if let Some(e) = error { p.error role="alert" { (e) } }
        form method="post" action="/ui/login" {
            input type="hidden" name="next" value=(next);
            label {
                (t(lang, "token"))
                input type="password" name="token" autocomplete="off" required autofocus size="50";
            }
            p.muted { (t(lang, "token-help")) }
            button type="submit" { (t(lang, "sign-in")) }
        }
    };
    page(lang, None, "/ui/login", t(lang, "sign-in"), body)
}

pub async fn login_page(lang: Lang, Query(q): Query<NextQuery>) -> Html<String> {
    login_page_with(lang, safe_next(&q.next).unwrap_or(""), None)
}

/// Checks the token (tracer first, then operator; revoked and expired ones refused), starts
/// a session and sends the browser on.
pub async fn login(State(s): State<AppState>, lang: Lang, headers: HeaderMap, Form(form): Form<LoginForm>) -> Response {
    if !same_origin(&headers) {
        return PageError::forbidden(lang).into_response();
    }
    let hash = auth::hash_token(form.token.trim());
    let who = match s.db.tracer_by_token(&hash).await {
        Ok(Some(tr)) if tr.revoked_at.is_none() && tr.expires_at.is_none_or(|e| e > Utc::now()) => {
            Ok(Some((Role::Tracer, tr.name, None)))
        }
        Ok(Some(_)) => Ok(None),
        Ok(None) => {
            s.db.operator_by_token(&hash)
                .await
                .map(|o| o.map(|(name, venue)| (Role::Operator, name, Some(venue))))
        }
        Err(e) => Err(e),
    };
    let (role, name, venue) = match who {
        Ok(Some(who)) => who,
        Ok(None) => {
            s.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
            let next = safe_next(&form.next).unwrap_or("");
            return (
                StatusCode::UNAUTHORIZED,
                login_page_with(lang, next, Some(t(lang, "bad-token"))),
            )
                .into_response();
        }
        Err(e) => return PageError::from_server(lang, e).into_response(),
    };
    // Signing in spends the token's budget too: a stolen token cannot mint sessions unbounded.
    if let Err(e) = s.spend_token_budget(&format!("{}:{name}", role.as_str())) {
        return PageError::from_server(lang, e).into_response();
    }
    // Signing in (again) ends the session the browser had.
    if let Some(old) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = s.db.end_session(&auth::hash_token(old)).await
    {
        return PageError::from_server(lang, e).into_response();
    }
    let started = auth::new_token("cs_").and_then(|id| Ok((id, auth::new_token("cf_")?)));
    let Ok((id, csrf)) = started else {
        return PageError::new(StatusCode::INTERNAL_SERVER_ERROR, lang, t(lang, "error")).into_response();
    };
    let expires = Utc::now() + chrono::Duration::hours(LIFETIME_HOURS);
    if let Err(e) =
        s.db.start_session((&auth::hash_token(&id), &hash), role, &name, &csrf, expires)
            .await
    {
        return PageError::from_server(lang, e).into_response();
    }
    let session = ConsoleSession {
        role,
        name,
        venue,
        csrf,
        expires_at: expires,
    };
    let to = safe_next(&form.next).map_or_else(|| home(&session), str::to_string);
    let secure = if loopback(&headers) { "" } else { "; Secure" };
    let cookie = format!(
        "{SESSION_COOKIE}={id}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        LIFETIME_HOURS * 3600
    );
    with_cookie(Redirect::to(&to).into_response(), &cookie)
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(SET_COOKIE, v);
    }
    response
}

/// Ends the session (its row deleted, the cookie cleared).
pub async fn logout(
    State(s): State<AppState>,
    lang: Lang,
    Signed(session): Signed,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(e) = check_post(&session, &headers, &form.csrf, lang) {
        return e.into_response();
    }
    if let Some(id) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = s.db.end_session(&auth::hash_token(id)).await
    {
        return PageError::from_server(lang, e).into_response();
    }
    let cleared = format!("{SESSION_COOKIE}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0");
    with_cookie(Redirect::to("/ui/login").into_response(), &cleared)
}

#[derive(Deserialize)]
pub struct LangQuery {
    to: String,
    #[serde(default)]
    next: String,
}

/// The language switch: remembers the choice in a cookie and goes back.
pub async fn switch_lang(Query(q): Query<LangQuery>) -> Response {
    let to = Lang::from_code(&q.to).unwrap_or(Lang::En);
    let back = safe_next(&q.next).unwrap_or("/ui");
    let cookie = format!("lang={}; Path=/ui; SameSite=Lax; Max-Age=31536000", to.code());
    with_cookie(Redirect::to(back).into_response(), &cookie)
}

/// `/ui`: the user's first page, or the sign-in form.
pub async fn index(Signed(session): Signed) -> Redirect {
    Redirect::to(&home(&session))
}

/// Headers on every console answer: pages with people's data are never cached (a shared
/// office computer's Back button after sign-out shows nothing), never framed, never sniffed,
/// and load nothing but the console's own stylesheet.
pub async fn page_headers(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let is_console = request.uri().path().starts_with("/ui");
    let is_static = request.uri().path().starts_with("/ui/static/");
    let mut response = next.run(request).await;
    if is_console {
        let h = response.headers_mut();
        if !is_static {
            h.insert(axum::http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        h.insert(axum::http::header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            axum::http::header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        h.insert(
            axum::http::header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_console_paths_are_followed_after_sign_in() {
        for good in ["/ui", "/ui/contacts?case=3", "/ui/venues/mall"] {
            assert_eq!(safe_next(good), Some(good));
        }
        for bad in [
            "//evil.example",
            "/ui//evil",
            "https://evil.example/ui",
            "/ui/\\evil",
            "/other",
            "/ui\n",
            "/ui/../v1/trace/contacts",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_post_from_another_origin_is_refused() {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_static("trace.example.org"));
        assert!(same_origin(&h), "no Origin: a same-site form in an older browser");
        h.insert(ORIGIN, HeaderValue::from_static("https://trace.example.org"));
        assert!(same_origin(&h));
        h.insert(ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h));
        assert!(!loopback(&h));
        h.insert(HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(loopback(&h));
        h.insert(HOST, HeaderValue::from_static("127.example.org"));
        assert!(!loopback(&h), "a name that starts like an address is not this machine");
        h.insert(HOST, HeaderValue::from_static("trace.example.org"));
        h.insert(ORIGIN, HeaderValue::from_static("https://trace.example.org"));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(!same_origin(&h), "a sibling subdomain's form");
    }
}
