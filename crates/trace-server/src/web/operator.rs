//! The venue pages: an operator's own venue — who is inside now, each gate's counts, conflicts
//! between gates, the day by the hour and passage by passage (pseudonymous ids), its kiosks'
//! health; and `/ui/kiosks` for both roles (a tracer sees every kiosk, an operator their
//! venue's). An operator asking for anything else gets 403 and learns nothing from it.

use axum::extract::{Path, Query, State};
use axum::response::Html;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{PageError, page};
use super::session::Signed;
use super::text::{Lang, t};
use super::{chart, day_window, local};
use crate::api::AppState;
use crate::db::{KioskHealth, Role};

/// Passages a venue page lists at most.
const PASSAGES: i64 = 500;

/// What an operator sees instead of a subject id: a short alias that is the same for one
/// person all day at this venue, and unrelated to the id tracers search on, to their alias at
/// another venue, or on another day (keyed by the deployment's secret): staff can follow a
/// visit, not rebuild a person's movements.
struct Alias {
    key: [u8; 32],
}

impl Alias {
    fn new(secret: &str, venue: &str, day: chrono::NaiveDate) -> Alias {
        use sha2::Digest;
        let key = sha2::Sha256::digest(format!("console-alias\0{secret}\0{venue}\0{day}").as_bytes());
        Alias { key: key.into() }
    }

    fn of(&self, subject: &str) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(self.key);
        h.update(subject.as_bytes());
        format!("v-{}", &hex::encode(h.finalize())[..10])
    }
}

#[derive(Deserialize, Default)]
pub struct VenueQuery {
    #[serde(default)]
    day: String,
    #[serde(default)]
    case: String,
}

/// `/ui/venues/{venue}`: the operator's venue page, or a tracer's view under a case.
pub async fn venue(
    State(s): State<AppState>,
    lang: Lang,
    Signed(session): Signed,
    Path(venue): Path<String>,
    Query(query): Query<VenueQuery>,
) -> Result<Html<String>, PageError> {
    if session.role == Role::Tracer {
        return super::tracer::venue_page(&s, lang, &session, &venue, &query.day, &query.case).await;
    }
    if session.venue.as_deref() != Some(venue.as_str()) {
        return Err(PageError::forbidden(lang));
    }
    let fail = |e| PageError::from_server(lang, e);
    let zone = s.console_zone;
    let (day, from, to) =
        day_window(zone, &query.day).map_err(|e| PageError::new(axum::http::StatusCode::BAD_REQUEST, lang, e))?;
    let overview = s.db.venue_overview(&venue).await.map_err(fail)?;
    let hours: Vec<(u32, i64, i64)> =
        s.db.venue_hours(&venue, from, to)
            .await
            .map_err(fail)?
            .into_iter()
            .map(|(h, e, x)| {
                use chrono::Timelike;
                (h.with_timezone(&zone).hour(), e, x)
            })
            .collect();
    let passages = s.db.venue_passages(&venue, from, to, PASSAGES).await.map_err(fail)?;
    let alias = Alias::new(&s.subject_key.hex(), &venue, day);
    let kiosks = s.db.kiosk_health(Some(&venue)).await.map_err(fail)?;
    let here = format!("/ui/venues/{venue}");
    let body = html! {
        form.inline method="get" action=(here) {
            label { (t(lang, "day")) input type="date" name="day" value=(day.format("%Y-%m-%d").to_string()); }
            button type="submit" { (t(lang, "show")) }
        }
        div.cards {
            div.card {
                div.muted { (t(lang, "inside")) }
                div.big data-testid="inside" {
                    (overview.inside.len())
                    @if let Some(c) = overview.capacity { " / " (c) }
                }
            }
        }
        h2 { (t(lang, "gates")) }
        div.scroll { table {
            tr { th { (t(lang, "kiosk")) } th { (t(lang, "gate")) } th { (t(lang, "entries")) } th { (t(lang, "exits")) } th { (t(lang, "last-seen")) } }
            @for g in &overview.gates {
                tr {
                    td { (g.kiosk_id) } td { (g.gate) } td.num { (g.entries) } td.num { (g.exits) }
                    td { (g.last_seen.map(|t| local(zone, t)).unwrap_or_default()) }
                }
            }
        } }
        @if !overview.conflicts.is_empty() {
            h2.error { (t(lang, "conflicts")) " (" (overview.conflicts.len()) ")" }
            div.scroll { table {
                tr { th { (t(lang, "subject")) } th { (t(lang, "gate")) } th { (t(lang, "time")) } th { (t(lang, "gate")) } th { (t(lang, "time")) } }
                @for c in &overview.conflicts {
                    tr {
                        td { (alias.of(&c.subject)) } td { (c.first_kiosk) " · " (c.first_gate) } td { (local(zone, c.first_at)) }
                        td { (c.second_kiosk) " · " (c.second_gate) } td { (local(zone, c.second_at)) }
                    }
                }
            } }
        }
        h2 { (t(lang, "hourly")) }
        (chart::hourly(t(lang, "entries"), t(lang, "exits"), &hours))
        h2 { (t(lang, "kiosks")) }
        (kiosk_table(lang, zone, &kiosks))
        h2 { (t(lang, "passages")) " (" (passages.len()) ")" }
        @if passages.len() as i64 == PASSAGES { p.notice { (t(lang, "first-rows")) " " (PASSAGES) } }
        div.scroll { table {
            tr { th { (t(lang, "time")) } th { (t(lang, "gate")) } th { (t(lang, "direction")) } th { (t(lang, "subject")) } th { (t(lang, "verdict")) } }
            @for p in &passages {
                tr {
                    td { (local(zone, p.at)) } td { (p.gate) } td { (p.direction) }
                    td { (p.subject.as_deref().map(|s| alias.of(s)).unwrap_or_else(|| "–".into())) } td { (p.verdict) " · " (p.reason) }
                }
            }
        } }
    };
    Ok(page(lang, Some(&session), &here, &venue, body))
}

/// `/ui/kiosks`: every kiosk's health (an operator: their venue's).
pub async fn kiosks(State(s): State<AppState>, lang: Lang, Signed(session): Signed) -> Result<Html<String>, PageError> {
    let venue = match session.role {
        Role::Tracer => None,
        Role::Operator => Some(session.venue.clone().ok_or_else(|| PageError::forbidden(lang))?),
    };
    let rows =
        s.db.kiosk_health(venue.as_deref())
            .await
            .map_err(|e| PageError::from_server(lang, e))?;
    Ok(page(
        lang,
        Some(&session),
        "/ui/kiosks",
        t(lang, "kiosks"),
        kiosk_table(lang, s.console_zone, &rows),
    ))
}

fn kiosk_table(lang: Lang, zone: chrono_tz::Tz, rows: &[KioskHealth]) -> Markup {
    html! {
        div.scroll { table {
            tr {
                th { (t(lang, "kiosk")) } th { (t(lang, "venue")) } th { (t(lang, "last-seen")) } th { (t(lang, "last-received")) }
                th { (t(lang, "backlog")) } th { (t(lang, "missing")) } th { (t(lang, "skew")) } th { (t(lang, "version")) }
            }
            @for k in rows {
                tr {
                    td { (k.id) @if k.revoked { " (" (t(lang, "revoked")) ")" } }
                    td { (k.venue) }
                    td { (k.last_seen.map(|t| local(zone, t)).unwrap_or_default()) }
                    td { (k.last_received.map(|t| local(zone, t)).unwrap_or_default()) }
                    td.num { (k.backlog.map(|b| b.to_string()).unwrap_or_default()) }
                    td.num { (k.missing) }
                    td.num { (k.clock_skew_seconds.map(|s| format!("{s:+.0}")).unwrap_or_default()) }
                    td { (k.version.as_deref().unwrap_or("")) }
                }
            }
        } }
        @if rows.is_empty() { p.muted { (t(lang, "no-rows")) } }
    }
}
