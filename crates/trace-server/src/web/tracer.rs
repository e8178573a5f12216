//! The tracer's pages: the contacts of a case (and their CSV), hotspots, peaks, the audit
//! trail, and a venue's visitors under a case. Every tracing query goes through
//! `trace::Tracing`, so it is checked and audited under the tracer's name, as over the API.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{PageError, page};
use super::session::{Signed, check_post};
use super::text::{Lang, t};
use super::{chart, csv, day_window, local, q};
use crate::api::AppState;
use crate::db::{ConsoleSession, Role};
use crate::trace::{Page, Window};

/// Rows a page shows at most (the CSV reads every page).
const PAGE: i64 = 1000;

fn tracer_only(session: &ConsoleSession, lang: Lang) -> Result<(), PageError> {
    match session.role {
        Role::Tracer => Ok(()),
        Role::Operator => Err(PageError::forbidden(lang)),
    }
}

fn bad(lang: Lang, message: impl Into<String>) -> PageError {
    PageError::new(StatusCode::BAD_REQUEST, lang, message)
}

#[derive(Deserialize, Default)]
pub struct ContactsQuery {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    case: String,
}

impl ContactsQuery {
    /// The window: the given dates or times, by default the last 14 days through today.
    fn window(&self, s: &AppState, lang: Lang) -> Result<Window, PageError> {
        let zone = s.console_zone;
        let today = chrono::Utc::now().with_timezone(&zone).date_naive();
        let or = |text: &str, default: chrono::NaiveDate| {
            if text.trim().is_empty() {
                default.format("%Y-%m-%d").to_string()
            } else {
                text.to_string()
            }
        };
        let from = or(&self.from, today - chrono::Duration::days(14));
        let to = or(&self.to, today);
        let read = |text: &str, edge| {
            wire::when::parse_instant_in(text, edge, &zone, zone.name()).map_err(|e| bad(lang, e.to_string()))
        };
        let w = Window {
            from: read(&from, wire::when::Edge::Start)?,
            to: read(&to, wire::when::Edge::End)?,
        };
        w.check().map_err(|e| PageError::from_server(lang, e))?;
        Ok(w)
    }

    fn case_id(&self, lang: Lang) -> Result<Option<i64>, PageError> {
        match self.case.trim() {
            "" => Ok(None),
            c => c
                .parse()
                .map(Some)
                .map_err(|_| bad(lang, format!("case {c:?}: give the case's number"))),
        }
    }

    fn link(&self, path: &str, case: i64) -> String {
        format!(
            "{path}?subject={}&from={}&to={}&case={case}",
            q(&self.subject),
            q(&self.from),
            q(&self.to)
        )
    }
}

fn search_form(lang: Lang, query: &ContactsQuery) -> Markup {
    html! {
        form.inline method="get" action="/ui/contacts" {
            label { (t(lang, "subject")) input name="subject" value=(query.subject) required; }
            label { (t(lang, "from")) input type="date" name="from" value=(query.from); }
            label { (t(lang, "to")) input type="date" name="to" value=(query.to); }
            @if !query.case.is_empty() { input type="hidden" name="case" value=(query.case); }
            button type="submit" { (t(lang, "show")) }
        }
    }
}

/// `/ui/contacts`: who overlapped with the case's subject, ranked by overlap, with the case's
/// own visits; without a case, the tracer picks or opens one first.
pub async fn contacts(
    State(s): State<AppState>,
    lang: Lang,
    Signed(session): Signed,
    Query(query): Query<ContactsQuery>,
) -> Result<Html<String>, PageError> {
    tracer_only(&session, lang)?;
    let title = t(lang, "contacts");
    if query.subject.trim().is_empty() {
        return Ok(page(
            lang,
            Some(&session),
            "/ui/contacts",
            title,
            search_form(lang, &query),
        ));
    }
    let w = query.window(&s, lang)?;
    let Some(case) = query.case_id(lang)? else {
        return Ok(page(
            lang,
            Some(&session),
            "/ui/contacts",
            title,
            choose_case(&s, lang, &session, &query).await?,
        ));
    };
    let fail = |e| PageError::from_server(lang, e);
    // Whose case it is comes first: another tracer's case says nothing about its subject.
    let c = s.tracing.own_open_case(&session.name, case).await.map_err(fail)?;
    if c.subject != query.subject.trim() {
        return Err(bad(
            lang,
            format!("case {case} is about another subject: open a case for this one"),
        ));
    }
    let contacts = s
        .tracing
        .contacts(
            &session.name,
            case,
            w,
            Page {
                limit: Some(PAGE),
                offset: None,
            },
        )
        .await
        .map_err(fail)?;
    let visits = s.tracing.case_visits(&session.name, case, w).await.map_err(fail)?;
    let zone = s.console_zone;
    let body = html! {
        (search_form(lang, &query))
        p { (t(lang, "case")) " " strong { (case) } " · " a href=(query.link("/ui/contacts.csv", case)) download { (t(lang, "download-csv")) } }
        h2 { (t(lang, "case-visits")) }
        div.scroll { table {
            tr { th { (t(lang, "venue")) } th { (t(lang, "entered")) } th { (t(lang, "left")) } th {} }
            @for v in &visits {
                tr {
                    td { a href={ "/ui/venues/" (q(&v.venue_id)) "?day=" (local(zone, v.t_in).get(..10).unwrap_or("")) "&case=" (case) } { (v.venue_id) } }
                    td { (local(zone, v.t_in)) } td { (local(zone, v.t_out)) }
                    td.muted { @if v.inferred { (t(lang, "inferred")) } }
                }
            }
        } }
        @if visits.is_empty() { p.muted { (t(lang, "no-rows")) } }
        h2 { (t(lang, "contacts")) " (" (contacts.len()) ")" }
        @if contacts.len() as i64 == PAGE { p.notice { (t(lang, "first-rows")) " " (PAGE) " · " (t(lang, "csv-has-all")) } }
        div.scroll { table {
            tr { th { (t(lang, "subject")) } th { (t(lang, "overlap")) } th { (t(lang, "venues")) } th { (t(lang, "first-overlap")) } th {} }
            @for c in &contacts {
                tr {
                    td { (c.subject) } td.num { (format!("{:.0}", c.overlap_minutes)) } td { (c.venues.join(", ")) }
                    td { (local(zone, c.first_overlap)) } td.muted { @if c.inferred { (t(lang, "inferred")) } }
                }
            }
        } }
        @if contacts.is_empty() { p.muted { (t(lang, "no-rows")) } }
    };
    Ok(page(lang, Some(&session), "/ui/contacts", title, body))
}

/// The tracer's open cases for this subject, and a form to open one.
async fn choose_case(
    s: &AppState,
    lang: Lang,
    session: &ConsoleSession,
    query: &ContactsQuery,
) -> Result<Markup, PageError> {
    let subject = query.subject.trim();
    let cases: Vec<_> = s
        .tracing
        .open_cases_of(&session.name)
        .await
        .map_err(|e| PageError::from_server(lang, e))?
        .into_iter()
        .filter(|c| c.subject == subject)
        .collect();
    Ok(html! {
        (search_form(lang, query))
        p.notice role="status" { (t(lang, "case-needed")) }
        @for c in &cases {
            p { a href=(query.link("/ui/contacts", c.id)) { (t(lang, "use-case")) " " (c.id) } " — " (c.reason) }
        }
        h2 { (t(lang, "open-case")) }
        form.inline method="post" action="/ui/cases" {
            input type="hidden" name="csrf" value=(session.csrf);
            input type="hidden" name="subject" value=(subject);
            input type="hidden" name="from" value=(query.from);
            input type="hidden" name="to" value=(query.to);
            label { (t(lang, "reason")) input name="reason" required minlength="3" maxlength="500" size="40"; }
            label { (t(lang, "days")) input type="number" name="days" value="14" min="1" max="60"; }
            button type="submit" { (t(lang, "open-case")) }
        }
    })
}

#[derive(Deserialize)]
pub struct OpenCaseForm {
    csrf: String,
    subject: String,
    reason: String,
    days: i64,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// Opens a case (audited) and goes on to its contacts.
pub async fn open_case(
    State(s): State<AppState>,
    lang: Lang,
    Signed(session): Signed,
    headers: HeaderMap,
    Form(form): Form<OpenCaseForm>,
) -> Result<Redirect, PageError> {
    tracer_only(&session, lang)?;
    check_post(&session, &headers, &form.csrf, lang)?;
    let case = s
        .tracing
        .open_case(&session.name, form.subject.trim(), &form.reason, form.days)
        .await
        .map_err(|e| PageError::from_server(lang, e))?;
    let query = ContactsQuery {
        subject: form.subject.trim().to_string(),
        from: form.from,
        to: form.to,
        case: String::new(),
    };
    Ok(Redirect::to(&query.link("/ui/contacts", case.id)))
}

/// `/ui/contacts.csv`: the contacts and the case's visits, labelled with case and tracer.
pub async fn contacts_csv(
    State(s): State<AppState>,
    lang: Lang,
    Signed(session): Signed,
    Query(query): Query<ContactsQuery>,
) -> Result<Response, PageError> {
    tracer_only(&session, lang)?;
    let w = query.window(&s, lang)?;
    let case = query.case_id(lang)?.ok_or_else(|| bad(lang, t(lang, "case-needed")))?;
    let fail = |e| PageError::from_server(lang, e);
    let c = s.tracing.own_open_case(&session.name, case).await.map_err(fail)?;
    // Every page of contacts, not the first: an export that silently drops the shortest
    // overlaps would mislead. An export is audited as one, apart from viewing.
    let mut contacts = Vec::new();
    for n in 0..100 {
        let page = s
            .tracing
            .contacts(
                &session.name,
                case,
                w,
                Page {
                    limit: Some(PAGE),
                    offset: Some(n * PAGE),
                },
            )
            .await
            .map_err(fail)?;
        let last = (page.len() as i64) < PAGE;
        contacts.extend(page);
        if last {
            break;
        }
    }
    let visits = s.tracing.case_visits(&session.name, case, w).await.map_err(fail)?;
    s.db.audit(
        &session.name,
        "contacts_export",
        &serde_json::json!({ "case": case, "rows": contacts.len(), "from": w.from, "to": w.to }),
    )
    .await
    .map_err(fail)?;
    let body = csv::contacts(&c, &session.name, (w.from, w.to), &contacts, &visits);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"case-{case}-contacts.csv\""),
            ),
        ],
        body,
    )
        .into_response())
}

#[derive(Deserialize, Default)]
pub struct DayQuery {
    #[serde(default)]
    day: String,
    #[serde(default)]
    venue: String,
}

fn day_form(lang: Lang, action: &str, day: chrono::NaiveDate, venue: Option<&str>) -> Markup {
    html! {
        form.inline method="get" action=(action) {
            label { (t(lang, "day")) input type="date" name="day" value=(day.format("%Y-%m-%d").to_string()); }
            @if let Some(v) = venue { label { (t(lang, "venue")) input name="venue" value=(v); } }
            button type="submit" { (t(lang, "show")) }
        }
    }
}

/// `/ui/hotspots?day=D`: the venues with the most admitted entries that day.
pub async fn hotspots(
    State(s): State<AppState>,
    lang: Lang,
    Signed(session): Signed,
    Query(query): Query<DayQuery>,
) -> Result<Html<String>, PageError> {
    tracer_only(&session, lang)?;
    let (day, from, to) = day_window(s.console_zone, &query.day).map_err(|e| bad(lang, e))?;
    let rows = s
        .tracing
        .hotspots(&session.name, Window { from, to }, Some(50))
        .await
        .map_err(|e| PageError::from_server(lang, e))?;
    let bars: Vec<(String, i64)> = rows.iter().map(|h| (h.venue_id.clone(), h.visits)).collect();
    let day_text = day.format("%Y-%m-%d").to_string();
    let body = html! {
        (day_form(lang, "/ui/hotspots", day, None))
        @if rows.is_empty() { p.muted { (t(lang, "no-rows")) } } @else {
            (chart::ranked(t(lang, "visits"), &bars))
            div.scroll { table {
                tr { th { (t(lang, "venue")) } th { (t(lang, "visits")) } th { (t(lang, "unique")) } }
                @for h in &rows {
                    tr {
                        td { a href={ "/ui/peaks?venue=" (q(&h.venue_id)) "&day=" (day_text) } { (h.venue_id) } }
                        td.num { (h.visits) } td.num { (h.unique_visitors) }
                    }
                }
            } }
        }
    };
    Ok(page(lang, Some(&session), "/ui/hotspots", t(lang, "hotspots"), body))
}

/// Admitted entries and exits per local hour of one venue's day, through the audited peaks
/// query.
async fn venue_hours(
    s: &AppState,
    lang: Lang,
    who: &str,
    venue: &str,
    w: Window,
) -> Result<Vec<(u32, i64, i64)>, PageError> {
    let peaks = s
        .tracing
        .peaks(who, w, Some(venue), Some(48))
        .await
        .map_err(|e| PageError::from_server(lang, e))?;
    let zone = s.console_zone;
    let mut hours: Vec<(u32, i64, i64)> = Vec::new();
    for p in peaks {
        use chrono::Timelike;
        let hour = p.hour.with_timezone(&zone).hour();
        match hours.iter_mut().find(|(h, _, _)| *h == hour) {
            Some(slot) => {
                slot.1 += p.entries;
                slot.2 += p.exits;
            }
            None => hours.push((hour, p.entries, p.exits)),
        }
    }
    hours.sort();
    Ok(hours)
}

/// `/ui/peaks?venue=V&day=D`: a venue's day by the hour (without a venue: the busiest
/// venue-hours of the day).
pub async fn peaks(
    State(s): State<AppState>,
    lang: Lang,
    Signed(session): Signed,
    Query(query): Query<DayQuery>,
) -> Result<Html<String>, PageError> {
    tracer_only(&session, lang)?;
    let (day, from, to) = day_window(s.console_zone, &query.day).map_err(|e| bad(lang, e))?;
    let w = Window { from, to };
    let venue = query.venue.trim();
    let body = if venue.is_empty() {
        let rows = s
            .tracing
            .peaks(&session.name, w, None, Some(50))
            .await
            .map_err(|e| PageError::from_server(lang, e))?;
        html! {
            (day_form(lang, "/ui/peaks", day, Some(venue)))
            div.scroll { table {
                tr { th { (t(lang, "venue")) } th { (t(lang, "hour")) } th { (t(lang, "entries")) } th { (t(lang, "exits")) } }
                @for p in &rows {
                    tr { td { (p.venue_id) } td { (local(s.console_zone, p.hour)) } td.num { (p.entries) } td.num { (p.exits) } }
                }
            } }
            @if rows.is_empty() { p.muted { (t(lang, "no-rows")) } }
        }
    } else {
        let hours = venue_hours(&s, lang, &session.name, venue, w).await?;
        html! {
            (day_form(lang, "/ui/peaks", day, Some(venue)))
            h2 { (venue) " · " (t(lang, "hourly")) }
            (chart::hourly(t(lang, "entries"), t(lang, "exits"), &hours))
            div.scroll { table {
                tr { th { (t(lang, "hour")) } th { (t(lang, "entries")) } th { (t(lang, "exits")) } }
                @for (h, e, x) in &hours { tr { td { (format!("{h:02}:00")) } td.num { (e) } td.num { (x) } } }
            } }
        }
    };
    Ok(page(lang, Some(&session), "/ui/peaks", t(lang, "peaks"), body))
}

/// Audit lines a page lists at most.
const AUDIT_ROWS: i64 = 5000;

/// `/ui/audit?day=D`: every tracing query of the day, who asked, under which case.
pub async fn audit(
    State(s): State<AppState>,
    lang: Lang,
    Signed(session): Signed,
    Query(query): Query<DayQuery>,
) -> Result<Html<String>, PageError> {
    tracer_only(&session, lang)?;
    let (day, from, to) = day_window(s.console_zone, &query.day).map_err(|e| bad(lang, e))?;
    let rows: Vec<_> =
        s.db.audit_trail(from, None, AUDIT_ROWS)
            .await
            .map_err(|e| PageError::from_server(lang, e))?
            .into_iter()
            .filter(|a| a.at < to)
            // Every tracer's queries, who asked and under which case, but never whom they were
            // about: a case's subject is for the tracer who holds the case.
            .map(|mut a| {
                if let Some(p) = a.params.as_object_mut() {
                    p.remove("subject");
                }
                a
            })
            .collect();
    let body = html! {
        (day_form(lang, "/ui/audit", day, None))
        div.scroll { table {
            tr { th { (t(lang, "time")) } th { (t(lang, "who")) } th { (t(lang, "query")) } th { (t(lang, "case")) } th { (t(lang, "params")) } }
            @for a in &rows {
                tr {
                    td { (local(s.console_zone, a.at)) } td { (a.tracer) } td { (a.query) }
                    td { (a.params.get("case").map(|c| c.to_string()).unwrap_or_default()) }
                    // Parameters only of one's own queries: another tracer's name their case's
                    // reason, venues and times.
                    td.muted { @if a.tracer == session.name { (a.params.to_string()) } }
                }
            }
        } }
        @if rows.is_empty() { p.muted { (t(lang, "no-rows")) } }
        @if rows.len() as i64 == AUDIT_ROWS { p.notice { (t(lang, "first-rows")) " " (AUDIT_ROWS) } }
    };
    Ok(page(lang, Some(&session), "/ui/audit", t(lang, "audit"), body))
}

/// A venue's visitors under a case (the tracer's view of `/ui/venues/{venue}`).
pub async fn venue_page(
    s: &AppState,
    lang: Lang,
    session: &ConsoleSession,
    venue: &str,
    day: &str,
    case: &str,
) -> Result<Html<String>, PageError> {
    let (date, from, to) = day_window(s.console_zone, day).map_err(|e| bad(lang, e))?;
    let w = Window { from, to };
    let here = format!("/ui/venues/{venue}");
    let case_form = html! {
        form.inline method="get" action=(here) {
            label { (t(lang, "day")) input type="date" name="day" value=(date.format("%Y-%m-%d").to_string()); }
            label { (t(lang, "case")) input name="case" value=(case) required size="6"; }
            button type="submit" { (t(lang, "show")) }
        }
    };
    let Ok(case) = case.trim().parse::<i64>() else {
        let body = html! { p.notice role="status" { (t(lang, "case-needed")) } (case_form) };
        return Ok(page(lang, Some(session), &here, venue, body));
    };
    let visitors = s
        .tracing
        .venue(
            &session.name,
            case,
            venue,
            w,
            Page {
                limit: Some(1000),
                offset: None,
            },
        )
        .await
        .map_err(|e| PageError::from_server(lang, e))?;
    let hours = venue_hours(s, lang, &session.name, venue, w).await?;
    let zone = s.console_zone;
    let body = html! {
        (case_form)
        h2 { (t(lang, "hourly")) }
        (chart::hourly(t(lang, "entries"), t(lang, "exits"), &hours))
        h2 { (t(lang, "visits")) " (" (visitors.len()) ")" }
        div.scroll { table {
            tr { th { (t(lang, "subject")) } th { (t(lang, "entered")) } th { (t(lang, "left")) } th {} }
            @for v in &visitors {
                tr { td { (v.subject) } td { (local(zone, v.t_in)) } td { (local(zone, v.t_out)) } td.muted { @if v.inferred { (t(lang, "inferred")) } } }
            }
        } }
    };
    Ok(page(lang, Some(session), &here, venue, body))
}
