//! The administration and tracing commands of `trace-server` that run in the shell (serving is
//! in `main.rs`; the arguments in the library's `args.rs`).

pub mod table;

use chrono::Utc;
use table::{print, when};
use trace_server::args::{AuditCmd, CaseCmd, Format, KioskCmd, OperatorCmd, PageArgs, TraceCmd, TracerCmd, WindowArgs};
use trace_server::auth;
use trace_server::db::Db;
use trace_server::trace::{CLI, Page, Tracing, Window};

fn paged(p: &PageArgs) -> Page {
    Page {
        limit: Some(p.limit),
        offset: Some(p.offset),
    }
}

/// `trace-server case open|list|close` (opened and audited as "cli").
pub async fn case(db: Db, cmd: CaseCmd) -> anyhow::Result<()> {
    match cmd {
        CaseCmd::Open {
            subject,
            reason,
            days,
            tracer,
        } => {
            let case = Tracing::new(db, DEFAULT_VISIT_SECS)
                .open_case(&tracer, &subject, &reason, days)
                .await?;
            eprintln!(
                "case {} opened for {subject:?} until {}; trace it with --case {}:",
                case.id,
                when(Some(case.closes_at)),
                case.id
            );
            println!("{}", case.id);
        }
        CaseCmd::Close { id } => {
            if !db.close_case(id, CLI).await? {
                anyhow::bail!("there is no open case {id}: `trace-server case list --all` shows them");
            }
            eprintln!("case {id} closed: no more tracing under it");
        }
        CaseCmd::List { all, format } => {
            let now = Utc::now();
            let rows = db.cases(now, all).await?;
            print(
                &rows,
                format,
                &["CASE", "SUBJECT", "STATE", "OPENED BY", "OPENED", "CLOSES", "REASON"],
                |c| {
                    vec![
                        c.id.to_string(),
                        c.subject.clone(),
                        if c.is_open(now) { "open" } else { "closed" }.into(),
                        c.opened_by.clone(),
                        when(Some(c.opened_at)),
                        when(Some(c.closed_at.unwrap_or(c.closes_at))),
                        c.reason.clone(),
                    ]
                },
                "no open cases: `trace-server case open SUBJECT --reason R` opens one",
            )?;
        }
    }
    Ok(())
}

fn span(w: &WindowArgs) -> Window {
    Window { from: w.from, to: w.to }
}

/// Hotspots and peaks count passages, not visits: the visit length does not matter to them.
const DEFAULT_VISIT_SECS: f64 = 4.0 * 3600.0;

/// What `kiosk add` and `kiosk rotate` print: the one command the installer runs on the kiosk.
fn print_pairing(db_key: &str, url: &str, kiosk: &str, venue: &str, token: &str, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => println!(
            "{}",
            serde_json::json!({ "kiosk_id": kiosk, "venue_id": venue, "url": url, "token": token, "server_key": db_key })
        ),
        Format::Table => {
            eprintln!(
                "kiosk {kiosk:?} at venue {venue:?}: run this on the kiosk (the token is shown only now; \
                 `trace-server kiosk rotate {kiosk} --url …` makes a new one):"
            );
            println!("kiosk pair --url {url} --token {token} --server-key {db_key}");
        }
    }
    Ok(())
}

/// `signing_key`: the key file the server signs with (`--signing-key`), if any.
pub async fn kiosk(db: &Db, signing_key: Option<&std::path::Path>, cmd: KioskCmd) -> anyhow::Result<()> {
    let key = || async {
        Ok::<_, anyhow::Error>(trace_server::trust::public_hex(
            &trace_server::trust::signing_key(db, signing_key).await?,
        ))
    };
    match cmd {
        KioskCmd::Add {
            venue,
            name,
            url,
            format,
        } => {
            // The key first: a kiosk added whose pairing line cannot be printed is stranded.
            let server_key = key().await?;
            let token = auth::new_token("kt_")?;
            db.add_kiosk(&name, &venue, &auth::hash_token(&token)).await?;
            print_pairing(&server_key, &url, &name, &venue, &token, format)?;
        }
        KioskCmd::Rotate { name, url, format } => {
            let server_key = key().await?;
            let token = auth::new_token("kt_")?;
            let venue = db
                .rotate_kiosk(&name, &auth::hash_token(&token))
                .await?
                .ok_or_else(|| unknown("kiosk", &name))?;
            print_pairing(&server_key, &url, &name, &venue, &token, format)?;
        }
        KioskCmd::Revoke { name } => {
            if !db.revoke_kiosk(&name).await? {
                return Err(unknown("kiosk", &name));
            }
            eprintln!(
                "kiosk {name:?} revoked: its token no longer works (its passages stay); \
                 `trace-server kiosk rotate {name} --url …` pairs it again"
            );
        }
        KioskCmd::List { format } => {
            let rows = db.kiosks().await?;
            print(
                &rows,
                format,
                &["KIOSK", "VENUE", "STATE", "LAST SEEN", "CLOCK SKEW", "CREATED"],
                |k| {
                    vec![
                        k.id.clone(),
                        k.venue.clone(),
                        if k.revoked_at.is_some() { "revoked" } else { "active" }.into(),
                        when(k.last_seen),
                        k.clock_skew_seconds
                            .map_or("-".into(), |s| format!("{:+} s", s.round() as i64)),
                        when(Some(k.created_at)),
                    ]
                },
                "no kiosks yet: `trace-server kiosk add --venue V --name N --url URL` adds one",
            )?;
        }
    }
    Ok(())
}

fn unknown(what: &str, name: &str) -> anyhow::Error {
    anyhow::anyhow!("there is no {what} named {name:?}: `trace-server {what} list` shows them")
}

pub async fn operator(db: &Db, cmd: OperatorCmd) -> anyhow::Result<()> {
    match cmd {
        OperatorCmd::Add { venue, name } => {
            for (what, v) in [("venue", &venue), ("name", &name)] {
                let ok =
                    !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
                anyhow::ensure!(
                    ok,
                    "the operator's {what} {v:?}: 1 to 64 letters, digits, '-', '_' or '.'"
                );
            }
            let token = auth::new_token("ot_")?;
            db.add_operator(&name, &venue, &auth::hash_token(&token)).await?;
            eprintln!(
                "operator {name:?} of venue {venue:?} added; they sign in at /ui/login with this token (shown only now):"
            );
            println!("{token}");
        }
        OperatorCmd::Revoke { name } => {
            if !db.revoke_operator(&name).await? {
                return Err(unknown("operator", &name));
            }
            eprintln!("operator {name:?} revoked: their token no longer works and their console sessions ended");
        }
        OperatorCmd::List { format } => {
            let rows = db.operators().await?;
            print(
                &rows,
                format,
                &["OPERATOR", "VENUE", "STATE", "LAST SEEN", "CREATED"],
                |o| {
                    vec![
                        o.name.clone(),
                        o.venue.clone(),
                        if o.revoked_at.is_some() { "revoked" } else { "active" }.into(),
                        when(o.last_seen),
                        when(Some(o.created_at)),
                    ]
                },
                "no operators: add one with `trace-server operator add --venue VENUE NAME`",
            )?;
        }
    }
    Ok(())
}

pub async fn tracer(db: &Db, cmd: TracerCmd) -> anyhow::Result<()> {
    let expiry = |days: u32| Utc::now() + chrono::Duration::days(days.into());
    match cmd {
        TracerCmd::Add { name, .. } if name == CLI => {
            anyhow::bail!("{name:?} is the name the server's own command line is audited under: choose another")
        }
        TracerCmd::Add { name, days } => {
            let token = auth::new_token("tt_")?;
            db.add_tracer(&name, &auth::hash_token(&token), Some(expiry(days)))
                .await?;
            eprintln!(
                "tracer {name:?} added; the token (shown only now) expires at {}. Send it as \
                 `Authorization: Bearer <token>`:",
                expiry(days).format("%Y-%m-%d")
            );
            println!("{token}");
        }
        TracerCmd::Rotate { name, days } => {
            let token = auth::new_token("tt_")?;
            if !db
                .rotate_tracer(&name, &auth::hash_token(&token), Some(expiry(days)))
                .await?
            {
                return Err(unknown("tracer", &name));
            }
            eprintln!("tracer {name:?}: new token (the old one no longer works):");
            println!("{token}");
        }
        TracerCmd::Revoke { name } => {
            if !db.revoke_tracer(&name).await? {
                return Err(unknown("tracer", &name));
            }
            eprintln!("tracer {name:?} revoked: their token no longer works");
        }
        TracerCmd::List { format } => {
            let now = Utc::now();
            let rows = db.tracers().await?;
            print(
                &rows,
                format,
                &["TRACER", "STATE", "EXPIRES", "LAST SEEN", "CREATED"],
                |t| {
                    let state = if t.revoked_at.is_some() {
                        "revoked"
                    } else if t.expires_at.is_some_and(|e| e <= now) {
                        "expired"
                    } else {
                        "active"
                    };
                    vec![
                        t.name.clone(),
                        state.into(),
                        when(t.expires_at),
                        when(t.last_seen),
                        when(Some(t.created_at)),
                    ]
                },
                "no tracers yet: `trace-server tracer add NAME` adds one",
            )?;
        }
    }
    Ok(())
}

pub async fn audit(db: &Db, cmd: AuditCmd) -> anyhow::Result<()> {
    let AuditCmd::Show {
        since,
        tracer,
        limit,
        format,
    } = cmd;
    let since = since.unwrap_or_else(|| Utc::now() - chrono::Duration::days(7));
    let rows = db
        .audit_trail(since, tracer.as_deref(), limit.clamp(1, 100_000))
        .await?;
    print(
        &rows,
        format,
        &["AT", "TRACER", "QUERY", "PARAMETERS"],
        |a| {
            vec![
                when(Some(a.at)),
                a.tracer.clone(),
                a.query.clone(),
                a.params.to_string(),
            ]
        },
        &format!("no tracing queries since {}", when(Some(since))),
    )
}

pub async fn trace(db: Db, cmd: TraceCmd) -> anyhow::Result<()> {
    let nothing =
        |what: &str, w: &WindowArgs| format!("no {what} between {} and {}", when(Some(w.from)), when(Some(w.to)));
    match cmd {
        TraceCmd::Contacts {
            case,
            window,
            page,
            visit_hours,
        } => {
            let rows = Tracing::new(db, visit_hours * 3600.0)
                .contacts(CLI, case, span(&window), paged(&page))
                .await?;
            print(
                &rows,
                window.format,
                &["SUBJECT", "MINUTES", "FIRST OVERLAP", "VENUES", "EXIT"],
                |c| {
                    vec![
                        c.subject.clone(),
                        format!("{:.1}", c.overlap_minutes),
                        when(Some(c.first_overlap)),
                        c.venues.join(","),
                        if c.inferred { "inferred" } else { "scanned" }.into(),
                    ]
                },
                &nothing(&format!("contacts in case {case}"), &window),
            )
        }
        TraceCmd::Venue {
            venue,
            case,
            window,
            page,
            visit_hours,
        } => {
            let rows = Tracing::new(db, visit_hours * 3600.0)
                .venue(CLI, case, &venue, span(&window), paged(&page))
                .await?;
            print(
                &rows,
                window.format,
                &["SUBJECT", "IN", "OUT", "EXIT"],
                |v| {
                    vec![
                        v.subject.clone(),
                        when(Some(v.t_in)),
                        when(Some(v.t_out)),
                        if v.inferred { "inferred" } else { "scanned" }.into(),
                    ]
                },
                &nothing(&format!("visits at {venue:?}"), &window),
            )
        }
        TraceCmd::Hotspots { window } => {
            let rows = Tracing::new(db, DEFAULT_VISIT_SECS)
                .hotspots(CLI, span(&window), None)
                .await?;
            print(
                &rows,
                window.format,
                &["VENUE", "VISITS", "VISITORS"],
                |h| vec![h.venue_id.clone(), h.visits.to_string(), h.unique_visitors.to_string()],
                &nothing("visits", &window),
            )
        }
        TraceCmd::Peaks { window, venue } => {
            let rows = Tracing::new(db, DEFAULT_VISIT_SECS)
                .peaks(CLI, span(&window), venue.as_deref(), None)
                .await?;
            print(
                &rows,
                window.format,
                &["VENUE", "HOUR", "IN", "OUT"],
                |p| {
                    vec![
                        p.venue_id.clone(),
                        when(Some(p.hour)),
                        p.entries.to_string(),
                        p.exits.to_string(),
                    ]
                },
                &nothing("passages", &window),
            )
        }
    }
}
