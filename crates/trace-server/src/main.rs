//! `trace-server`: serve, manage kiosks and tracers, and run tracing queries from a shell.

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use trace_server::auth;
use trace_server::db::Db;
use trace_server::trace::{Tracing, Window};

#[derive(Parser)]
#[command(
    name = "trace-server",
    version,
    about = "Central trace server for venue check-in kiosks"
)]
struct Cli {
    /// PostgreSQL URL, e.g. postgres://user@127.0.0.1/trace
    #[arg(long, env = "DATABASE_URL", global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the HTTP server (migrations run first).
    Serve {
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
        #[arg(long, default_value_t = 28, value_parser = clap::value_parser!(u32).range(1..))]
        retention_days: u32,
    },
    /// Kiosk credentials.
    #[command(subcommand)]
    Kiosk(KioskCmd),
    /// Tracer credentials.
    #[command(subcommand)]
    Tracer(TracerCmd),
    /// Print the server's public key, for kiosk.toml `[sync] server_key`.
    Key,
    /// Trust a pass issuer: its .pub file goes into the signed list kiosks fetch.
    IssuerAdd { file: std::path::PathBuf },
    /// Add a risk region to the signed list kiosks fetch.
    RiskRegionAdd { region: String },
    /// Tracing queries (audited like the HTTP ones, under the name "cli").
    #[command(subcommand)]
    Trace(TraceCmd),
}

#[derive(Subcommand)]
enum KioskCmd {
    /// Register a kiosk at a venue and print its token (shown once; only its hash is kept).
    Add {
        #[arg(long)]
        venue: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum TracerCmd {
    /// Register a tracer and print its token.
    Add { name: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Table,
}

#[derive(Subcommand)]
enum TraceCmd {
    Contacts {
        subject: String,
        #[arg(long)]
        from: DateTime<Utc>,
        #[arg(long)]
        to: DateTime<Utc>,
        #[arg(long, default_value_t = 4.0)]
        visit_hours: f64,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    Venue {
        venue: String,
        #[arg(long)]
        from: DateTime<Utc>,
        #[arg(long)]
        to: DateTime<Utc>,
        #[arg(long, default_value_t = 4.0)]
        visit_hours: f64,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    Hotspots {
        #[arg(long)]
        from: DateTime<Utc>,
        #[arg(long)]
        to: DateTime<Utc>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    Peaks {
        #[arg(long)]
        from: DateTime<Utc>,
        #[arg(long)]
        to: DateTime<Utc>,
        #[arg(long)]
        venue: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

/// Hotspots and peaks count passages, not visits: the visit length does not matter to them.
const DEFAULT_VISIT_SECS: f64 = 4.0 * 3600.0;

fn print<T: serde::Serialize>(rows: &[T], format: Format, line: impl Fn(&T) -> String) -> anyhow::Result<()> {
    for r in rows {
        match format {
            Format::Json => println!("{}", serde_json::to_string(r)?),
            Format::Table => println!("{}", line(r)),
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let url = cli
        .database_url
        .ok_or_else(|| anyhow::anyhow!("give --database-url or set DATABASE_URL"))?;
    // One line per event on stderr (journald keeps it); INFO and above.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let db = Db::connect(&url)?;
    db.migrate().await?;
    match cli.command {
        Cmd::Serve {
            listen,
            visit_hours,
            retention_days,
        } => {
            let listener = tokio::net::TcpListener::bind(&listen).await?;
            tracing::info!("trace-server listening on http://{}", listener.local_addr()?);
            let purging = db.clone();
            tokio::spawn(async move {
                let mut hourly = tokio::time::interval(std::time::Duration::from_secs(3600));
                loop {
                    hourly.tick().await;
                    let cutoff = Utc::now() - chrono::Duration::days(retention_days.into());
                    match purging.purge_before(cutoff).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!("retention: deleted {n} passages from before {cutoff}"),
                        Err(e) => tracing::warn!("retention: purge failed, will retry in an hour: {e}"),
                    }
                }
            });
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            trace_server::serve(db, listener, visit_hours * 3600.0, shutdown).await?;
        }
        Cmd::Purge { retention_days } => {
            let cutoff = Utc::now() - chrono::Duration::days(retention_days.into());
            let n = db.purge_before(cutoff).await?;
            println!("deleted {n} passages from before {cutoff}");
        }
        Cmd::Key => println!(
            "{}",
            trace_server::trust::public_hex(&trace_server::trust::server_key(&db).await?)
        ),
        Cmd::IssuerAdd { file } => {
            let text = std::fs::read_to_string(&file)?;
            println!("trusting issuer {}", trace_server::trust::add_issuer(&db, &text).await?);
        }
        Cmd::RiskRegionAdd { region } => trace_server::trust::add_risk_region(&db, &region).await?,
        Cmd::Kiosk(KioskCmd::Add { venue, name }) => {
            let token = auth::new_token("kt_")?;
            db.add_kiosk(&name, &venue, &auth::hash_token(&token)).await?;
            println!("{token}");
        }
        Cmd::Tracer(TracerCmd::Add { name }) => {
            let token = auth::new_token("tt_")?;
            db.add_tracer(&name, &auth::hash_token(&token)).await?;
            println!("{token}");
        }
        Cmd::Trace(q) => match q {
            TraceCmd::Contacts {
                subject,
                from,
                to,
                visit_hours,
                format,
            } => {
                let rows = Tracing::new(db, visit_hours * 3600.0)
                    .contacts("cli", &subject, Window { from, to })
                    .await?;
                print(&rows, format, |c| {
                    format!(
                        "{:<24} {:>8.1} min  {}{}",
                        c.subject,
                        c.overlap_minutes,
                        c.venues.join(","),
                        if c.inferred { "  (inferred exit)" } else { "" }
                    )
                })?;
            }
            TraceCmd::Venue {
                venue,
                from,
                to,
                visit_hours,
                format,
            } => {
                let rows = Tracing::new(db, visit_hours * 3600.0)
                    .venue("cli", &venue, Window { from, to })
                    .await?;
                print(&rows, format, |v| {
                    format!(
                        "{:<24} {} → {}{}",
                        v.subject,
                        v.t_in,
                        v.t_out,
                        if v.inferred { " (inferred)" } else { "" }
                    )
                })?;
            }
            TraceCmd::Hotspots { from, to, format } => {
                let rows = Tracing::new(db, DEFAULT_VISIT_SECS)
                    .hotspots("cli", Window { from, to }, None)
                    .await?;
                print(&rows, format, |h| {
                    format!(
                        "{:<24} {:>8} visits {:>8} visitors",
                        h.venue_id, h.visits, h.unique_visitors
                    )
                })?;
            }
            TraceCmd::Peaks {
                from,
                to,
                venue,
                format,
            } => {
                let rows = Tracing::new(db, DEFAULT_VISIT_SECS)
                    .peaks("cli", Window { from, to }, venue.as_deref(), None)
                    .await?;
                print(&rows, format, |p| {
                    format!("{:<24} {} {:>6} in {:>6} out", p.venue_id, p.hour, p.entries, p.exits)
                })?;
            }
        },
    }
    Ok(())
}
