//! `kiosk pass keygen` and `kiosk pass issue`.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use passes::vp1::{Claims, IssuerKey, PassKind, TravelEntry};

use super::CommandError;
use super::args::IssueArgs;

/// Writes a new key pair; the secret file is created 0600 and never overwritten.
pub fn keygen(issuer: &str, out: &Path) -> Result<(), CommandError> {
    let key = IssuerKey::generate(issuer).map_err(|source| CommandError::Key {
        path: out.to_path_buf(),
        source,
    })?;
    std::fs::create_dir_all(out).map_err(|source| CommandError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    let secret = out.join(format!("{issuer}.key"));
    let public = out.join(format!("{issuer}.pub"));
    write_new(&secret, key.to_secret_file().as_bytes(), 0o600)?;
    write_new(&public, key.to_public_file().as_bytes(), 0o644)?;
    println!(
        "wrote {} (secret: keep it off kiosks) and {}",
        secret.display(),
        public.display()
    );
    Ok(())
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CommandError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            CommandError::Exists {
                path: path.to_path_buf(),
            }
        } else {
            CommandError::Write {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(|source| CommandError::Write {
            path: path.to_path_buf(),
            source,
        })
}

/// A time from the command line: RFC 3339, or a date (its midnight UTC), read like the trace
/// server reads them.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, CommandError> {
    wire::when::parse_instant(text, wire::when::Edge::Start).map_err(|e| CommandError::Usage(e.to_string()))
}

fn parse_travel(text: &str) -> Result<Vec<TravelEntry>, CommandError> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|item| {
            let (region, date) = item
                .trim()
                .split_once(':')
                .ok_or_else(|| CommandError::Usage(format!("travel entry {item:?}: write REGION:YYYY-MM-DD")))?;
            let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .map_err(|_| CommandError::Usage(format!("travel entry {item:?}: the date must be YYYY-MM-DD")))?;
            Ok(TravelEntry {
                region: region.to_string(),
                date,
            })
        })
        .collect()
}

/// Builds the claims `kiosk pass issue` signs; separate so tests and the demo share it.
pub fn claims_from_args(args: &IssueArgs, issuer: &str, now: DateTime<Utc>) -> Result<Claims, CommandError> {
    let issued_at = match &args.issued_at {
        Some(t) => parse_time(t)?,
        None => now,
    };
    let valid_for = crate::config::parse_duration(&args.valid_for).map_err(CommandError::Usage)?;
    let valid_for = chrono::Duration::from_std(valid_for).map_err(|e| CommandError::Usage(e.to_string()))?;
    if args.kind == PassKind::Health && args.health.is_none() {
        return Err(CommandError::Usage(
            "a health pass needs --health green|yellow|red".into(),
        ));
    }
    if args.subject.trim().is_empty() || args.subject.len() > 128 {
        return Err(CommandError::Usage("--subject must be 1 to 128 characters".into()));
    }
    Ok(Claims {
        issuer: issuer.to_string(),
        subject: args.subject.clone(),
        display_name: passes::vp1::mask_name(&args.name),
        kind: args.kind,
        health: args.health,
        travel: args
            .travel
            .as_deref()
            .map(parse_travel)
            .transpose()?
            .unwrap_or_default(),
        risk: args.risk,
        badge_role: match args.kind {
            PassKind::Badge => Some(args.role.clone().unwrap_or_else(|| "staff".into())),
            _ => args.role.clone(),
        },
        issued_at,
        expires_at: issued_at + valid_for,
    })
}

pub fn issue(args: &IssueArgs) -> Result<(), CommandError> {
    let text = std::fs::read_to_string(&args.key).map_err(|source| CommandError::Read {
        path: args.key.clone(),
        source,
    })?;
    let key = IssuerKey::parse_secret_file(&text).map_err(|source| CommandError::Key {
        path: args.key.clone(),
        source,
    })?;
    let claims = claims_from_args(args, &key.issuer, Utc::now())?;
    let qr = passes::vp1::issue(&key, &claims).map_err(CommandError::Issue)?;
    if let Some(png) = &args.png {
        crate::render::write_qr_png(&qr, png)?;
    }
    println!("{qr}");
    Ok(())
}
