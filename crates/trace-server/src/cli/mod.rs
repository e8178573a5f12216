//! The command line of `trace-server`: its arguments, and the administration and tracing
//! commands that run in the shell (serving is in `main.rs`).

pub mod table;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use table::{Format, print, when};
use trace_server::auth;
use trace_server::db::Db;
use trace_server::trace::{Tracing, Window};
use wire::when::{Edge, parse_instant};

#[derive(Parser)]
#[command(
    name = "trace-server",
    version,
    about = "Central trace server for venue check-in kiosks",
    after_help = "Every command reads the database from DATABASE_URL (or --database-url) and runs the \
                  migrations it needs first. Times are dates (2026-11-20, in UTC) or RFC 3339 times."
)]
pub struct Cli {
    /// PostgreSQL URL, e.g. postgres://user@127.0.0.1/trace
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Run the HTTP server (migrations run first).
    Serve {
        /// Address and port to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Visit length assumed when an entry has no exit, in hours.
        #[arg(long, default_value_t = 4.0)]
        visit_hours: f64,
        /// Passages older than this many days are deleted (checked hourly).
        #[arg(long, default_value_t = 28, value_parser = clap::value_parser!(u32).range(1..))]
        retention_days: u32,
    },
    /// Delete passages older than the retention period now (what `serve` does hourly).
    Purge {
        /// Passages older than this many days are deleted.
        #[arg(long, default_value_t = 28, value_parser = clap::value_parser!(u32).range(1..))]
        retention_days: u32,
    },
    /// Kiosk credentials: add (prints the pairing command), list, revoke, rotate.
    #[command(subcommand)]
    Kiosk(KioskCmd),
    /// Tracer credentials: add, list, revoke, rotate.
    #[command(subcommand)]
    Tracer(TracerCmd),
    /// The audit trail of tracing queries.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Print the server's public key, for kiosk.toml `[sync] server_key`.
    Key,
    /// Trust a pass issuer: its .pub file goes into the signed list kiosks fetch.
    IssuerAdd {
        /// The issuer's public key file (`kiosk pass keygen` writes NAME.pub).
        file: std::path::PathBuf,
    },
    /// Add a risk region to the signed list kiosks fetch.
    RiskRegionAdd {
        /// The region's name as travel passes carry it, e.g. R-North.
        region: String,
    },
    /// Tracing queries (audited like the HTTP ones, under the name "cli").
    #[command(subcommand)]
    Trace(TraceCmd),
}

#[derive(Subcommand)]
pub enum KioskCmd {
    /// Register a kiosk at a venue; prints the `kiosk pair` command to run on it (the token
    /// is shown once: only its hash is kept).
    Add {
        /// The venue's id, as passages and tracers name it.
        #[arg(long)]
        venue: String,
        /// The kiosk's name, unique on this server (becomes its [kiosk] id).
        #[arg(long)]
        name: String,
        /// This server's URL as the kiosk reaches it, e.g. https://trace.example.org
        #[arg(long)]
        url: String,
        /// `json`: one object with the token, ids, URL and key, for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Every kiosk, its venue, when it was last heard from and its clock skew.
    List {
        /// `table` for people, `json` (one object per line) for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Stop a kiosk's token from working at once (its passages stay).
    Revoke {
        /// The kiosk's name.
        name: String,
    },
    /// Give a kiosk a new token (the old one stops working) and print the pairing command.
    Rotate {
        /// The kiosk's name.
        name: String,
        /// This server's URL as the kiosk reaches it.
        #[arg(long)]
        url: String,
        /// `table` for people, `json` (one object per line) for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

#[derive(Subcommand)]
pub enum TracerCmd {
    /// Register a tracer and print their token (shown once).
    Add {
        /// The tracer's name, as the audit trail records it.
        name: String,
        /// Days until the token expires.
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=366))]
        days: u32,
    },
    /// Every tracer, and whether their token works.
    List {
        /// `table` for people, `json` (one object per line) for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Stop a tracer's token from working at once.
    Revoke {
        /// The tracer's name.
        name: String,
    },
    /// Give a tracer a new token (the old one stops working) and print it.
    Rotate {
        /// The tracer's name.
        name: String,
        /// Days until the new token expires.
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=366))]
        days: u32,
    },
}

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Who asked what, oldest first.
    Show {
        /// Only queries from then on (default: the last 7 days).
        #[arg(long, value_parser = from_arg)]
        since: Option<DateTime<Utc>>,
        /// Only this tracer's queries ("cli" for the command line's).
        #[arg(long)]
        tracer: Option<String>,
        /// At most this many rows.
        #[arg(long, default_value_t = 1000)]
        limit: i64,
        /// `table` for people, `json` (one object per line) for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

/// The window every tracing query reads.
#[derive(clap::Args)]
pub struct WindowArgs {
    /// Start: a date (2026-11-20: its midnight UTC) or an RFC 3339 time.
    #[arg(long, value_parser = from_arg)]
    from: DateTime<Utc>,
    /// End: a date (2026-11-22: through its end) or an RFC 3339 time; at most 31 days after --from.
    #[arg(long, value_parser = to_arg)]
    to: DateTime<Utc>,
    /// `table` for people, `json` (one object per line) for scripts.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

impl WindowArgs {
    fn window(&self) -> Window {
        Window {
            from: self.from,
            to: self.to,
        }
    }
}

fn from_arg(text: &str) -> Result<DateTime<Utc>, String> {
    parse_instant(text, Edge::Start).map_err(|e| e.to_string())
}

fn to_arg(text: &str) -> Result<DateTime<Utc>, String> {
    parse_instant(text, Edge::End).map_err(|e| e.to_string())
}

#[derive(Subcommand)]
pub enum TraceCmd {
    /// Who overlapped with a case, at which venues, longest overlap first.
    Contacts {
        /// The case's pseudonymous subject id.
        subject: String,
        #[command(flatten)]
        window: WindowArgs,
        /// Visit length assumed when an entry has no exit, in hours.
        #[arg(long, default_value_t = 4.0)]
        visit_hours: f64,
    },
    /// Everyone who was at a venue in the window.
    Venue {
        /// The venue's id.
        venue: String,
        #[command(flatten)]
        window: WindowArgs,
        /// Visit length assumed when an entry has no exit, in hours.
        #[arg(long, default_value_t = 4.0)]
        visit_hours: f64,
    },
    /// Venues by visits in the window, busiest first.
    Hotspots {
        #[command(flatten)]
        window: WindowArgs,
    },
    /// Entries and exits per venue per hour.
    Peaks {
        #[command(flatten)]
        window: WindowArgs,
        /// Only this venue.
        #[arg(long)]
        venue: Option<String>,
    },
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

pub async fn kiosk(db: &Db, cmd: KioskCmd) -> anyhow::Result<()> {
    let key = || async {
        Ok::<_, anyhow::Error>(trace_server::trust::public_hex(
            &trace_server::trust::server_key(db).await?,
        ))
    };
    match cmd {
        KioskCmd::Add {
            venue,
            name,
            url,
            format,
        } => {
            let token = auth::new_token("kt_")?;
            db.add_kiosk(&name, &venue, &auth::hash_token(&token)).await?;
            print_pairing(&key().await?, &url, &name, &venue, &token, format)?;
        }
        KioskCmd::Rotate { name, url, format } => {
            let token = auth::new_token("kt_")?;
            let venue = db
                .rotate_kiosk(&name, &auth::hash_token(&token))
                .await?
                .ok_or_else(|| unknown("kiosk", &name))?;
            print_pairing(&key().await?, &url, &name, &venue, &token, format)?;
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

pub async fn tracer(db: &Db, cmd: TracerCmd) -> anyhow::Result<()> {
    let expiry = |days: u32| Utc::now() + chrono::Duration::days(days.into());
    match cmd {
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
            subject,
            window,
            visit_hours,
        } => {
            let rows = Tracing::new(db, visit_hours * 3600.0)
                .contacts("cli", &subject, window.window())
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
                &nothing(&format!("contacts of {subject:?}"), &window),
            )
        }
        TraceCmd::Venue {
            venue,
            window,
            visit_hours,
        } => {
            let rows = Tracing::new(db, visit_hours * 3600.0)
                .venue("cli", &venue, window.window())
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
                .hotspots("cli", window.window(), None)
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
                .peaks("cli", window.window(), venue.as_deref(), None)
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every flag, argument and subcommand without a help line.
    fn undocumented(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
        for a in cmd.get_arguments() {
            let id = a.get_id().as_str();
            if !matches!(id, "help" | "version") && a.get_help().is_none() {
                out.push(format!("{path} <{id}>"));
            }
        }
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let here = format!("{path} {}", sub.get_name());
            if sub.get_about().is_none() {
                out.push(here.clone());
            }
            undocumented(sub, &here, out);
        }
    }

    #[test]
    fn every_flag_and_subcommand_says_what_it_is_for() {
        let mut missing = Vec::new();
        undocumented(&super::Cli::command(), "trace-server", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:#?}");
    }
}
