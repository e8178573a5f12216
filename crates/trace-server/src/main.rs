//! `trace-server`: serve, manage kiosks and tracers, and run tracing queries from a shell.

mod cli;

use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;
use clap::Parser;
use trace_server::args::{Cli, Cmd, KeyCmd, SubjectKeyCmd};
use trace_server::db::Db;

/// `user@host:port/db` of a database URL, without its password, for error messages.
fn describe_database(url: &str) -> String {
    let Ok(config) = url.parse::<tokio_postgres::Config>() else {
        return "the database".into();
    };
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{host}:{port}/{}",
        config.get_user().unwrap_or("?"),
        config.get_dbname().unwrap_or("?")
    )
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // Made offline: no database involved.
    if let Cmd::Key {
        action: Some(KeyCmd::Generate { out }),
    } = &cli.command
    {
        let key = passes::vp1::IssuerKey::generate("trace-server")?;
        trace_server::trust::write_new_secret(out, &key.to_secret_file())?;
        eprintln!(
            "signing key written to {} (0600); serve with --signing-key {} and pin this public key in kiosks:",
            out.display(),
            out.display()
        );
        println!("{}", trace_server::trust::public_hex(&key));
        return Ok(());
    }
    if let Cmd::SubjectKey(SubjectKeyCmd::Generate { out }) = &cli.command {
        trace_server::trust::generate_subject_key(out)?;
        eprintln!(
            "subject key written to {} (0600); serve (and run dcc-subject) with --subject-key {}",
            out.display(),
            out.display()
        );
        return Ok(());
    }
    // The public half of a key file needs no database either.
    if let (Cmd::Key { action: None }, Some(file)) = (&cli.command, &cli.signing_key) {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("cannot read the signing key {}", file.display()))?;
        let key = passes::vp1::IssuerKey::parse_secret_file(&text)
            .with_context(|| format!("signing key {}", file.display()))?;
        println!("{}", trace_server::trust::public_hex(&key));
        return Ok(());
    }
    let url = cli.database_url.ok_or_else(|| {
        anyhow::anyhow!("no database: set DATABASE_URL=postgres://USER@HOST/DB (or give --database-url)")
    })?;
    let db = Db::connect(&url)?;
    db.migrate().await.with_context(|| {
        format!(
            "cannot use the database {} (from DATABASE_URL): is PostgreSQL running there, and may this user \
             create tables?",
            describe_database(&url)
        )
    })?;
    match cli.command {
        Cmd::Serve {
            listen,
            visit_hours,
            retention_days,
            max_in_flight,
            request_timeout,
            per_client_per_minute,
            trusted_proxies,
            per_token_per_minute,
            max_batch,
            timezone,
        } => {
            let limits = trace_server::api::Limits {
                max_in_flight: max_in_flight as usize,
                request_timeout: std::time::Duration::from_secs(request_timeout),
                per_client_per_minute,
                per_token_per_minute,
                trusted_proxies,
                max_batch: max_batch as usize,
                retention_days: Some(retention_days),
            };
            let keys = trace_server::api::Keys {
                signing: trace_server::trust::signing_key(&db, cli.signing_key.as_deref()).await?,
                subject: trace_server::trust::subject_key(&db, cli.subject_key.as_deref()).await?,
            };
            if cli.signing_key.is_none() {
                tracing::warn!(
                    "the trust-list signing key is kept in the database: anyone who reads a backup can forge \
                     trust lists. Move it out with `trace-server key move-out --out FILE` and serve with --signing-key"
                );
            }
            if cli.subject_key.is_none() {
                tracing::warn!(
                    "the DCC subject key is kept in the database: a dump holds holders' ids and the key that links \
                     them to names together. Move it out with `trace-server subject-key move-out --out FILE` and \
                     serve with --subject-key"
                );
            }
            serve(db, &listen, visit_hours, retention_days, (limits, timezone), keys).await?
        }
        Cmd::Purge { retention_days } => {
            let cutoff = Utc::now() - chrono::Duration::days(retention_days.into());
            let n = db.purge_before(cutoff).await?;
            println!("deleted {n} passages from before {cutoff}");
        }
        Cmd::Key { action: None } => println!(
            "{}",
            trace_server::trust::public_hex(&trace_server::trust::signing_key(&db, cli.signing_key.as_deref()).await?)
        ),
        Cmd::Key {
            action: Some(KeyCmd::MoveOut { out }),
        } => {
            let key = trace_server::trust::move_key_out(&db, &out).await?;
            eprintln!(
                "the signing key is now only in {} (0600); serve with --signing-key {} (kiosks keep their pin):",
                out.display(),
                out.display()
            );
            println!("{}", trace_server::trust::public_hex(&key));
        }
        // Handled before the database is opened.
        Cmd::Key {
            action: Some(KeyCmd::Generate { .. }),
        } => {}
        Cmd::SubjectKey(SubjectKeyCmd::MoveOut { out }) => {
            trace_server::trust::move_subject_key_out(&db, &out).await?;
            eprintln!(
                "the subject key is now only in {} (0600); serve and run dcc-subject with --subject-key {} \
                 (kiosks keep theirs)",
                out.display(),
                out.display()
            );
        }
        // Handled before the database is opened.
        Cmd::SubjectKey(SubjectKeyCmd::Generate { .. }) => {}
        Cmd::IssuerAdd { file, kinds } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read the issuer key {}", file.display()))?;
            let (issuer, scope) = trace_server::trust::add_issuer(&db, &text, kinds.as_deref()).await?;
            match scope {
                Some(k) => println!("trusting issuer {issuer} for {} passes only", k.join(", ")),
                None => println!("trusting issuer {issuer} for every kind of pass"),
            }
        }
        Cmd::IssuerRemove { issuer } => {
            if !db.untrust_issuer(&issuer).await? {
                anyhow::bail!("issuer {issuer:?} is not on the trust list (issuer-add prints the ids it adds)");
            }
            eprintln!("issuer {issuer:?} removed: kiosks refuse its passes once they fetch the new list");
        }
        Cmd::DscAdd { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read the certificate {}", file.display()))?;
            for line in trace_server::trust::add_dscs(&db, &bytes).await? {
                println!("{line}");
            }
            eprintln!("kiosks trust these signers once they fetch the new list");
        }
        Cmd::DscRemove { kid } => {
            if !db.untrust_dsc(&kid).await? {
                anyhow::bail!("no trusted signer certificate has key id {kid:?} (dsc-add prints them)");
            }
            eprintln!("signer {kid:?} removed: kiosks refuse its certificates once they fetch the new list");
        }
        Cmd::DccSubject { family, given, dob } => {
            println!(
                "{}",
                trace_server::trust::dcc_subject(
                    &db,
                    &trace_server::trust::subject_key(&db, cli.subject_key.as_deref()).await?,
                    trace_server::trace::CLI,
                    &family,
                    given.as_deref(),
                    &dob
                )
                .await?
            );
        }
        Cmd::RiskRegionRemove { region } => {
            if !db.remove_risk_region(&region).await? {
                anyhow::bail!("region {region:?} is not on the risk list");
            }
            eprintln!("risk region {region:?} removed from the signed list kiosks fetch");
        }
        Cmd::RiskRegionAdd { region } => {
            trace_server::trust::add_risk_region(&db, &region).await?;
            eprintln!("risk region {region:?} added to the signed list kiosks fetch");
        }
        Cmd::Kiosk(c) => cli::kiosk(&db, cli.signing_key.as_deref(), c).await?,
        Cmd::Tracer(c) => cli::tracer(&db, c).await?,
        Cmd::Operator(c) => cli::operator(&db, c).await?,
        Cmd::Audit(c) => cli::audit(&db, c).await?,
        Cmd::Case(c) => cli::case(db, c).await?,
        Cmd::Trace(q) => cli::trace(db, q).await?,
    }
    Ok(())
}

async fn serve(
    db: Db,
    listen: &str,
    visit_hours: f64,
    retention_days: u32,
    (limits, zone): (trace_server::api::Limits, chrono_tz::Tz),
    keys: trace_server::api::Keys,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| {
        format!("cannot listen on {listen}: is another server using it? Give another address with --listen")
    })?;
    tracing::info!("trace-server listening on http://{}", listener.local_addr()?);
    let purging = db.clone();
    tokio::spawn(async move {
        let mut hourly = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            hourly.tick().await;
            if let Err(e) = purging.prepare_days(Utc::now()).await {
                tracing::warn!("the coming days' partitions were not made, will retry in an hour: {e}");
            }
            let cutoff = Utc::now() - chrono::Duration::days(retention_days.into());
            match purging.purge_before(cutoff).await {
                Ok(0) => {}
                Ok(n) => tracing::info!("retention: deleted {n} passages from before {cutoff}"),
                Err(e) => tracing::warn!("retention: purge failed, will retry in an hour: {e}"),
            }
        }
    });
    // systemd stops with SIGTERM, a terminal with SIGINT: both finish the requests in flight.
    let shutdown = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        tracing::info!("shutting down: finishing the requests in flight");
    };
    trace_server::serve(db, listener, visit_hours * 3600.0, (limits, zone), keys, shutdown).await?;
    Ok(())
}

/// The error and its causes on one line each, skipping a cause whose text the line above
/// already contains (many errors quote their source), and no backtrace: these are read by
/// people fixing a command, not by a debugger.
fn report(e: &anyhow::Error) {
    let mut shown = String::new();
    for (i, cause) in e.chain().enumerate() {
        let text = cause.to_string();
        if shown.contains(&text) {
            continue;
        }
        if i == 0 {
            eprintln!("error: {text}");
        } else {
            eprintln!("  caused by: {text}");
        }
        shown = text;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // One line per event on stderr (journald keeps it); INFO and above.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            ExitCode::from(2)
        }
    }
}
