//! `kiosk log day|summary|export|verify|purge`: the passage log from the command line.

use std::path::Path;

use chrono::{NaiveDate, Utc};
use serde_json::json;

use super::CommandError;
use super::args::{Format, LogCommand};
use crate::config::Config;
use crate::store::{Store, StoreSettings, day_bounds, write_csv};

fn parse_date(text: Option<&str>, config: &Config) -> Result<NaiveDate, CommandError> {
    match text {
        None => Ok(Utc::now().with_timezone(&config.timezone).date_naive()),
        Some(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map_err(|_| CommandError::Usage(format!("{t:?} is not a date like 2026-11-22"))),
    }
}

/// `kiosk sync --once`: send everything pending, report, exit non-zero if any remains.
pub fn sync_once(config_path: Option<&Path>) -> Result<(), CommandError> {
    let config = Config::discover(config_path)?;
    let sync = config
        .sync
        .clone()
        .ok_or_else(|| CommandError::Usage("no [sync] section in the configuration".into()))?;
    let mut store = Store::open(&config.db_path, StoreSettings::from_config(&config))?;
    let client = crate::sync::SyncClient::new(&sync)?;
    let sent = client.sync_once(&mut store)?;
    let pending = store.pending_sync()?;
    let parked = store.parked()?;
    println!("sent {sent} passages; {pending} pending");
    for (seq, why) in &parked {
        eprintln!("parked #{seq}: {why}; it stays in the local log");
    }
    // The same signed trust list the kiosk's screen uses, refreshed here too, so that
    // `kiosk scan` decides like the screen; a wrong server key fails loudly.
    match &sync.server_key {
        Some(key) => {
            let cache = crate::sync::policy_cache_path(&config.db_path);
            let policy = client.refresh_policy(key, &cache, Utc::now())?;
            println!(
                "trust list: {} VP1 issuers, {} risk regions (issued {})",
                policy.issuer_count("vp1"),
                policy.risk_regions.len(),
                policy.issued_at
            );
        }
        None => {
            eprintln!("warning: no [sync] server_key: the server's trust list is not fetched (pin `trace-server key`)")
        }
    }
    // The venue's open visits and this gate's share, as the running kiosk takes them.
    let mut venue = crate::venue::VenueStatus::default();
    if let Err(e) = crate::venue::venue_round(&client, &mut store, config.capacity, Utc::now(), &mut venue) {
        eprintln!("warning: the venue's view was not fetched: {e}");
    }
    println!("{}", venue_line(&venue));
    for c in &venue.conflicts {
        eprintln!(
            "conflict: {} admitted at {} ({}) {} and again at {} ({}) {} without leaving between",
            c.subject, c.first_kiosk, c.first_gate, c.first_at, c.second_kiosk, c.second_gate, c.second_at
        );
    }
    if pending > 0 {
        return Err(CommandError::Pending { pending });
    }
    Ok(())
}

/// One line on the venue: who is inside by every gate, and this gate's share.
fn venue_line(v: &crate::venue::VenueStatus) -> String {
    let capacity = v
        .capacity
        .map_or("no capacity".to_string(), |c| format!("capacity {c}"));
    let share = match v.share.as_ref().and_then(|s| s.share.zip(s.left)) {
        Some((share, left)) => format!("; this gate's share {share}, {left} left"),
        None => String::new(),
    };
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "venue: {} inside ({capacity}), {}, {}{share}",
        v.inside,
        plural(v.gates.len(), "gate"),
        plural(v.conflicts.len(), "conflict")
    )
}

pub fn run(config_path: Option<&Path>, cmd: &LogCommand) -> Result<(), CommandError> {
    let config = Config::discover(config_path)?;
    let mut store = Store::open(&config.db_path, StoreSettings::from_config(&config))?;
    let tz = config.timezone;
    match cmd {
        LogCommand::Day { date, format } => {
            let date = parse_date(date.as_deref(), &config)?;
            let passages = store.day_passages(date, tz)?;
            match format {
                Format::Csv => {
                    write_csv(std::io::stdout().lock(), &passages, tz).map_err(|source| CommandError::Write {
                        path: "stdout".into(),
                        source,
                    })?
                }
                Format::Json => {
                    for p in &passages {
                        println!("{}", json!(p));
                    }
                }
                Format::Table => {
                    println!(
                        "{:<6} {:<8} {:<6} {:<10} {:<20} {:<18} {:<7}",
                        "seq", "time", "dir", "verdict", "reason", "subject", "synced"
                    );
                    for p in &passages {
                        println!(
                            "{:<6} {:<8} {:<6} {:<10} {:<20} {:<18} {:<7}",
                            p.seq,
                            p.at.with_timezone(&tz).format("%H:%M:%S"),
                            p.direction,
                            p.verdict,
                            if p.inferred {
                                format!("{} (inferred)", p.reason)
                            } else {
                                p.reason.to_string()
                            },
                            p.subject.as_deref().unwrap_or("-"),
                            if p.synced { "yes" } else { "no" }
                        );
                    }
                    println!("{} passages on {date} ({})", passages.len(), tz.name());
                }
            }
        }
        LogCommand::Summary { date, format } => {
            let date = parse_date(date.as_deref(), &config)?;
            let s = store.day_summary(date, tz)?;
            match format {
                Format::Json | Format::Csv => println!("{}", json!(s)),
                Format::Table => {
                    println!("{} at {} ({})", s.date, config.venue_name, tz.name());
                    println!("  entries          {}", s.entries);
                    println!("  exits            {}", s.exits);
                    println!("  unique visitors  {}", s.unique_visitors);
                    println!(
                        "  occupancy now    {}{}",
                        s.occupancy,
                        config.capacity.map(|c| format!(" / {c}")).unwrap_or_default()
                    );
                    println!(
                        "  peak hour        {}",
                        s.peak_hour
                            .map(|h| format!("{h:02}:00-{:02}:00", h + 1))
                            .unwrap_or_else(|| "-".into())
                    );
                    println!("  refused          {}", s.denied);
                    for (reason, n) in &s.denied_by_reason {
                        println!("    {reason:<20} {n}");
                    }
                    println!("  waiting to sync  {}", s.pending_sync);
                }
            }
        }
        LogCommand::Export { from, to, out } => {
            let (from_d, to_d) = (parse_date(Some(from), &config)?, parse_date(Some(to), &config)?);
            if to_d < from_d {
                return Err(CommandError::Usage("--to is before --from".into()));
            }
            let (start, _) = day_bounds(from_d, tz);
            let (_, end) = day_bounds(to_d, tz);
            let passages = store.passages_between(start, end)?;
            let file = crate::store::create_private(out).map_err(|source| CommandError::Write {
                path: out.clone(),
                source,
            })?;
            let mut w = std::io::BufWriter::new(file);
            write_csv(&mut w, &passages, tz)
                .and_then(|_| std::io::Write::flush(&mut w))
                .map_err(|source| CommandError::Write {
                    path: out.clone(),
                    source,
                })?;
            println!("wrote {} passages to {}", passages.len(), out.display());
        }
        LogCommand::Verify => {
            let (n, broken) = store.verify_chain()?;
            if let Some(b) = broken {
                return Err(CommandError::ChainBroken {
                    seq: b.seq,
                    event_id: b.event_id,
                    problem: b.problem,
                });
            }
            println!(
                "chain ok: {n} passages verified; integrity {}",
                store.integrity_check()?
            );
        }
        LogCommand::Salvage { file } => {
            // Checked here: SQLite would call a missing file "unable to open", read as damage.
            if let Err(source) = std::fs::metadata(file) {
                return Err(CommandError::Read {
                    path: file.clone(),
                    source,
                });
            }
            let r = store.salvage_from(file)?;
            println!("{}", json!(r));
            if r.unreadable > 0 {
                eprintln!(
                    "{} passages could not be read from {}; the rest were recovered",
                    r.unreadable,
                    file.display()
                );
            }
        }
        LogCommand::Purge => {
            let now = Utc::now();
            let closed = store.close_overdue_visits(now)?;
            let r = store.purge_old(now, config.retention_days)?;
            println!(
                "closed {closed} overdue visits; purged {} passages older than {} days",
                r.purged, config.retention_days
            );
            if r.kept_unsynced > 0 {
                println!(
                    "kept {} old passages that the trace server has not received yet",
                    r.kept_unsynced
                );
            }
        }
    }
    Ok(())
}
