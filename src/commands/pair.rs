//! `kiosk pair` and `kiosk check-config --online`: the kiosk and the trace server agree on who
//! the kiosk is (token, kiosk id, venue id) and on the key that signs the trust list.

use std::path::{Path, PathBuf};

use chrono::Utc;

use super::CommandError;
use super::args::PairArgs;
use crate::config::edit::{Pairing, with_pairing};
use crate::config::{Config, SyncConfig};
use crate::store::{BacklogFate, Store, StoreSettings};
use crate::sync::{SyncClient, policy_cache_path};

/// Where `kiosk pair` writes: `--config FILE`, else the file the kiosk would read.
fn config_file(path: Option<&Path>) -> Result<PathBuf, CommandError> {
    match path {
        Some(p) => Ok(p.to_path_buf()),
        None => Config::discover(None)?.source.ok_or_else(|| {
            CommandError::Usage(
                "no kiosk.toml here to write the pairing into: copy the documented kiosk.toml from the \
                 project (or /etc/kiosk/kiosk.toml of the package) and pass --config FILE"
                    .into(),
            )
        }),
    }
}

/// The server's key must be the one the pairing command (or kiosk.toml) pins: otherwise a
/// server in the middle could sign the trust list.
fn check_key(pinned: &str, served: &str) -> Result<(), CommandError> {
    if pinned.eq_ignore_ascii_case(served) {
        return Ok(());
    }
    Err(CommandError::Usage(format!(
        "the server at this URL signs with key {served}, not the pinned {pinned}: compare with \
         `trace-server key` run on the server; if it differs, this is not your server (or the key was \
         mistyped)"
    )))
}

/// Replaces the config file durably, keeping its owner and group (the kiosk's service user
/// must still read it) and its mode minus any access for others: it now holds a token.
fn replace_config(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::metadata(path)?;
    let tmp = path.with_extension("toml.pairing");
    crate::sync::replace_durably(&tmp, text)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(meta.mode() & 0o770))?;
    // Only root may give a file away; anyone else already owns what they write.
    if let Err(e) = std::os::unix::fs::chown(&tmp, Some(meta.uid()), Some(meta.gid()))
        && e.kind() != std::io::ErrorKind::PermissionDenied
    {
        return Err(e);
    }
    std::fs::rename(&tmp, path)?;
    // The rename is durable only once the folder is.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The token from `--token`, or the first line of `--token-file` (`-`: standard input).
fn token(args: &PairArgs) -> Result<String, CommandError> {
    let text = match (&args.token, &args.token_file) {
        (Some(t), _) => t.clone(),
        (None, Some(f)) if f.as_os_str() == "-" => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|source| CommandError::Read {
                    path: f.clone(),
                    source,
                })?;
            line
        }
        (None, Some(f)) => std::fs::read_to_string(f).map_err(|source| CommandError::Read {
            path: f.clone(),
            source,
        })?,
        (None, None) => String::new(),
    };
    let token = text.lines().next().unwrap_or_default().trim().to_string();
    if token.is_empty() {
        return Err(CommandError::Usage(
            "no token: give --token or --token-file (from `trace-server kiosk add`)".into(),
        ));
    }
    Ok(token)
}

pub fn pair(config_path: Option<&Path>, args: &PairArgs) -> Result<(), CommandError> {
    let token = token(args)?;
    let path = config_file(config_path)?;
    let text = std::fs::read_to_string(&path).map_err(|source| CommandError::Read {
        path: path.clone(),
        source,
    })?;
    // Ask the server who this token is before writing anything.
    let probe = SyncConfig {
        url: args.url.trim_end_matches('/').to_string(),
        token: crate::config::Secret(token.clone()),
        server_key: Some(args.server_key.clone()),
        interval: std::time::Duration::from_secs(30),
        venue_interval: std::time::Duration::from_secs(5),
        batch_size: 500,
        timeout: std::time::Duration::from_secs(15),
    };
    // The URL must pass the start-up rules (https://, or http:// to this machine) before the
    // token is sent to it.
    let current = Config::from_toml(&text, &path)?;
    with_pairing(
        &text,
        &path,
        &Pairing {
            kiosk_id: &current.kiosk_id,
            venue_id: &current.venue_id,
            url: &probe.url,
            token: &token,
            server_key: &args.server_key,
            subject_key: None,
        },
    )?;
    let client = SyncClient::new(&probe)?;
    let who = client.whoami()?;
    check_key(&args.server_key, &who.server_key)?;
    let pairing = Pairing {
        kiosk_id: &who.kiosk_id,
        venue_id: &who.venue_id,
        url: &probe.url,
        token: &token,
        server_key: &args.server_key,
        subject_key: who.subject_key.as_deref(),
    };
    let (new_text, config, changes) = with_pairing(&text, &path, &pairing)?;
    // The trust list, checked with the pinned key and kept where every command reads it.
    let cache = policy_cache_path(&config.db_path);
    let policy = client.refresh_policy(&args.server_key, &cache, Utc::now())?;
    replace_config(&path, &new_text).map_err(|source| CommandError::Write {
        path: path.clone(),
        source,
    })?;
    println!(
        "paired with {} as kiosk {:?} at venue {:?}; wrote {}:",
        probe.url,
        who.kiosk_id,
        who.venue_id,
        path.display()
    );
    for c in &changes {
        println!("  {c}");
    }
    println!(
        "  trust list: {} VP1 issuers, {} risk regions (issued {})",
        policy.issuer_count("vp1"),
        policy.risk_regions.len(),
        policy.issued_at
    );
    if config.db_path.exists() {
        let mut store = Store::open(&config.db_path, StoreSettings::from_config(&config))?;
        for (group, fate) in store.pair_backlog((&who.kiosk_id, &who.venue_id), args.adopt_backlog, Utc::now())? {
            let what = format!(
                "{} unsent passages recorded as kiosk {} at venue {}",
                group.passages, group.kiosk_id, group.venue_id
            );
            match fate {
                BacklogFate::Unchanged => {}
                BacklogFate::SentAsPaired => println!("  {what}: will be sent as {}/{}", who.kiosk_id, who.venue_id),
                BacklogFate::Parked(why) => println!("  {what}: parked, kept in the log ({why})"),
            }
        }
    }
    if who.subject_key.is_none() && who.subject_key_fingerprint.is_some() && config.hc1.subject_key.is_none() {
        println!(
            "  the server sent no DCC subject key (it sends it to a token once, while pairing): EU DCCs stay \
             refused here; pair again with a fresh token (`trace-server kiosk rotate {}` prints the command)",
            who.kiosk_id
        );
    }
    give_back_to_owner(&config.db_path);
    println!("restart the kiosk to use the new settings; `kiosk sync --once` sends the backlog now");
    Ok(())
}

/// The server's subject-key fingerprint: sent with every `whoami`, or (an older server)
/// computed from the key it sent.
fn server_subject_fingerprint(who: &wire::KioskIdentity) -> Option<String> {
    who.subject_key_fingerprint.clone().or_else(|| {
        who.subject_key
            .as_deref()
            .and_then(crate::pass::SubjectKey::from_hex)
            .map(|k| k.fingerprint())
    })
}

/// Pairing usually runs as root (it writes /etc/kiosk/kiosk.toml) while the kiosk runs as its
/// own user: files pairing created or replaced beside the log (the trust-list cache, SQLite's
/// journal files) are handed to the owner of that folder, or the kiosk could not read them.
fn give_back_to_owner(db_path: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Some(dir) = db_path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return;
    };
    let Ok(owner) = std::fs::metadata(dir) else { return };
    let mut files = vec![policy_cache_path(db_path), db_path.to_path_buf()];
    for suffix in ["-wal", "-shm"] {
        let mut name = db_path.as_os_str().to_owned();
        name.push(suffix);
        files.push(PathBuf::from(name));
    }
    for file in files {
        // Never through a symlink: the folder belongs to the kiosk's user, who must not be
        // able to point root's chown at another file.
        if let Ok(meta) = std::fs::symlink_metadata(&file)
            && meta.file_type().is_file()
            && (meta.uid(), meta.gid()) != (owner.uid(), owner.gid())
            && let Err(e) = std::os::unix::fs::lchown(&file, Some(owner.uid()), Some(owner.gid()))
        {
            eprintln!(
                "warning: {} belongs to another user than its folder and could not be given back ({e}); \
                 the kiosk may not read it",
                file.display()
            );
        }
    }
}

/// `check-config --online`: what the server says of this configuration, and exactly what to
/// change. Every mismatch is listed before failing.
pub fn check_online(config: &Config) -> Result<(), CommandError> {
    let sync = config.sync.as_ref().ok_or_else(|| {
        CommandError::Usage("no [sync] section: nothing to check online (`kiosk pair …` writes one)".into())
    })?;
    let client = SyncClient::new(sync)?;
    let who = client.whoami()?;
    let mut problems = Vec::new();
    if who.kiosk_id != config.kiosk_id {
        problems.push(format!(
            "[kiosk] id is {:?} but the server knows this token as kiosk {:?}: set id = {:?} (or run the \
             `kiosk pair` command again)",
            config.kiosk_id, who.kiosk_id, who.kiosk_id
        ));
    }
    if who.venue_id != config.venue_id {
        problems.push(format!(
            "[venue] id is {:?} but the server registered this kiosk at venue {:?}: set id = {:?}",
            config.venue_id, who.venue_id, who.venue_id
        ));
    }
    match &sync.server_key {
        None => problems.push(format!(
            "[sync] server_key is missing: the trust list cannot be checked; pin the key `trace-server key` \
             prints (the server says {})",
            who.server_key
        )),
        Some(pinned) => match check_key(pinned, &who.server_key) {
            Err(e) => problems.push(format!("[sync] server_key: {e}")),
            Ok(()) => {
                let cache = policy_cache_path(&config.db_path);
                if let Err(e) = client.refresh_policy(pinned, &cache, Utc::now()) {
                    problems.push(e.to_string());
                }
            }
        },
    }
    // Compared by fingerprint, never printed: the key is a secret the server sends a token
    // only while pairing.
    let rotate = format!(
        "pair again with a fresh token (`trace-server kiosk rotate {}` prints the command) to take the server's",
        who.kiosk_id
    );
    match (&config.hc1.subject_key, server_subject_fingerprint(&who)) {
        (Some(mine), Some(theirs)) if mine.fingerprint() != theirs => problems.push(format!(
            "[trust.hc1] subject_key differs from the server's: EU DCC holders' ids here will not match other \
             kiosks' or `trace-server dcc-subject`; remove the line and {rotate} (this splits the history kept \
             under the old key)"
        )),
        (None, Some(_)) => problems.push(format!(
            "[trust.hc1] subject_key is not set: no EU DCC is accepted; {rotate}"
        )),
        _ => {}
    }
    let skew = (Utc::now() - who.server_time).num_seconds();
    if skew.abs() > 120 {
        problems.push(format!(
            "this machine's clock is {skew:+} s off the server's: set the time (timedatectl / NTP); passes \
             are checked against it"
        ));
    }
    if problems.is_empty() {
        println!(
            "  online: {} knows this token as kiosk {:?} at venue {:?}; server key and trust list ok",
            sync.url, who.kiosk_id, who.venue_id
        );
        return Ok(());
    }
    for p in &problems {
        eprintln!("  online: {p}");
    }
    Err(CommandError::Usage(format!(
        "{} problem(s) with {} (listed above)",
        problems.len(),
        sync.url
    )))
}
