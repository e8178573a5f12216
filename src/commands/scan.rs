//! `kiosk decode`, `kiosk scan` and `kiosk check-config`: JSON lines, one per image.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::CommandError;
use super::args::ScanArgs;
use crate::check::{check_text, pick_text};
use crate::config::Config;
use crate::decode::{LiveScanner, Pipeline, load_frame};
use crate::policy::Verdict;
use crate::store::{ScanInput, Store, StoreSettings};

/// The JSON fields describing a verdict, shared by `scan` and (later) `scan --record`.
pub fn verdict_json(v: &Verdict) -> serde_json::Map<String, Value> {
    let c = v.credential.as_ref();
    let mut m = serde_json::Map::new();
    m.insert("verdict".into(), json!(v.kind.as_str()));
    m.insert("reason".into(), json!(v.reason));
    m.insert("warning".into(), json!(v.warning));
    m.insert("subject".into(), json!(c.map(|c| &c.subject)));
    m.insert("name".into(), json!(c.map(|c| &c.display_name)));
    m.insert("format".into(), json!(c.map(|c| c.format.as_str())));
    m.insert("kind".into(), json!(c.map(|c| c.kind().as_str())));
    m.insert("health".into(), json!(c.and_then(|c| c.health()).map(|h| h.as_str())));
    m.insert("issuer".into(), json!(c.map(|c| &c.issuer)));
    m.insert("expires_at".into(), json!(c.map(|c| c.expires_at.to_rfc3339())));
    if let Some(crate::pass::Evidence::Dcc { statement, .. }) = c.map(|c| &c.evidence) {
        m.insert("dcc".into(), json!(statement));
    }
    if let Some(d) = &v.detail {
        m.insert("detail".into(), json!(d));
    }
    m
}

fn error_line(file: &Path, e: &dyn std::fmt::Display) {
    println!(
        "{}",
        json!({"file": file.display().to_string(), "error": format!("cannot read {}: {e}", file.display())})
    );
}

/// `kiosk decode [--live]`: `live` runs the camera loop's decoder (`workers.rs`), with the
/// files as successive frames of one camera in the order given, so a still shows what a
/// visitor holding that image up to the camera would get, and a recorded sequence what the
/// temporal cascade makes of it. Every look a frame is due is taken, so the answer depends on
/// the files only; the camera skips a frame's third and fourth looks once it has taken 5 ms.
pub fn decode(images: &[PathBuf], live: bool) -> Result<(), CommandError> {
    let thorough = Pipeline::thorough();
    let mut camera = LiveScanner::without_time_budget();
    let mut failed = 0;
    for file in images {
        let frame = match load_frame(file) {
            Ok(f) => f,
            Err(e) => {
                failed += 1;
                error_line(file, &e);
                continue;
            }
        };
        let start = Instant::now();
        let (texts, panics) = if live {
            let outcome = camera.decode(&frame);
            (outcome.texts, outcome.panics)
        } else {
            let outcome = thorough.decode(&frame);
            (outcome.texts, outcome.panics)
        };
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        let panics: Vec<String> = panics.iter().map(|p| p.to_string()).collect();
        println!(
            "{}",
            json!({"file": file.display().to_string(), "texts": texts, "ms": (ms * 100.0).round() / 100.0, "decoder_panics": panics})
        );
    }
    finish(failed, images.len())
}

fn finish(failed: usize, total: usize) -> Result<(), CommandError> {
    if failed == 0 {
        Ok(())
    } else {
        Err(CommandError::SomeImagesFailed { failed, total })
    }
}

/// Config plus the per-run `--trust` keys and `--trust-dsc` certificates.
pub fn config_with_trust(config: Option<&Path>, extra: &[PathBuf], dscs: &[PathBuf]) -> Result<Config, CommandError> {
    let mut config = Config::discover(config)?;
    for file in dscs {
        let bytes = std::fs::read(file).map_err(|source| CommandError::Read {
            path: file.clone(),
            source,
        })?;
        let certs = passes::hc1::parse_certificates(&bytes)
            .map_err(|e| CommandError::Usage(format!("{}: {e}", file.display())))?;
        for dsc in certs {
            config.hc1.dscs.add(dsc);
        }
    }
    for file in extra {
        let text = std::fs::read_to_string(file).map_err(|source| CommandError::Read {
            path: file.clone(),
            source,
        })?;
        config
            .trust
            .add_public_file(&text)
            .map_err(|source| CommandError::Key {
                path: file.clone(),
                source,
            })?;
    }
    Ok(config)
}

pub fn scan(config: Option<&Path>, args: &ScanArgs) -> Result<(), CommandError> {
    let mut config = config_with_trust(config, &args.trust, &args.trust_dsc)?;
    if config.hc1.subject_key.is_none() && !args.trust_dsc.is_empty() {
        if args.record {
            // Recorded under a key of this run only, a DCC holder's visits could never be joined.
            return Err(CommandError::Usage(
                "recording EU DCC passages needs [trust.hc1] subject_key in kiosk.toml (the deployment's key)".into(),
            ));
        }
        // A one-off check: ids keyed for this run only, never stored.
        config.hc1.subject_key = Some(crate::pass::SubjectKey::ephemeral());
    }
    let at: Option<DateTime<Utc>> = args.at.as_deref().map(super::pass::parse_time).transpose()?;
    let pipeline = Pipeline::thorough();
    // The same rules the kiosk's screen uses: kiosk.toml plus the cached signed trust list.
    let (rules, problems) = crate::sync::rules_with_cached_list(&config, at.unwrap_or_else(Utc::now));
    for p in problems {
        eprintln!("warning: {p}");
    }
    if at.is_none()
        && let Some(p) = rules.clock_problem(Utc::now())
    {
        eprintln!("warning: {p}");
    }
    let mut store = match args.record {
        true => Some(Store::open(&config.db_path, StoreSettings::from_config(&config))?),
        false => None,
    };
    let mut failed = 0;
    for file in &args.images {
        let frame = match load_frame(file) {
            Ok(f) => f,
            Err(e) => {
                failed += 1;
                error_line(file, &e);
                continue;
            }
        };
        let outcome = pipeline.decode(&frame);
        let now = at.unwrap_or_else(Utc::now);
        let text = pick_text(&outcome.texts);
        let verdict = match text {
            // An explicit --at is a replay: judged at that time, as asked.
            Some(text) if at.is_some() => check_text(text, &rules.formats, &rules.policy, now),
            Some(text) => rules.judge(text, now),
            None => Verdict::unreadable(),
        };
        let mut line = serde_json::Map::new();
        line.insert("file".into(), json!(file.display().to_string()));
        line.extend(verdict_json(&verdict));
        if let (Some(store), Some(text)) = (store.as_mut(), text) {
            let input = ScanInput {
                verdict,
                text: text.to_string(),
                at: now,
            };
            // Printed only after the commit returned: a printed line is on disk.
            let rec = store.record_passage(&input)?;
            line.insert("verdict".into(), json!(rec.verdict.as_str()));
            line.insert("reason".into(), json!(rec.reason));
            line.insert("event_id".into(), json!(rec.event_id));
            line.insert("direction".into(), json!(rec.direction));
            line.insert("seq".into(), json!(rec.seq));
            line.insert("repeat".into(), json!(rec.repeat));
            line.insert("occupancy".into(), json!(rec.occupancy));
        }
        println!("{}", Value::Object(line));
    }
    finish(failed, args.images.len())
}

pub fn check_config(path: Option<&Path>, online: bool) -> Result<(), CommandError> {
    let config = Config::discover(path)?;
    let source = config
        .source
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "built-in defaults".into());
    println!("{source}: ok");
    println!(
        "  kiosk {} at venue {} ({}), gate {:?} ({:?})",
        config.kiosk_id, config.venue_id, config.venue_name, config.gate_name, config.gate_mode
    );
    println!(
        "  trusted issuers: {}",
        config.trust.issuers().collect::<Vec<_>>().join(", ")
    );
    // The server's signed list, as every command and the screen read it.
    let cached = config
        .sync
        .as_ref()
        .and_then(|s| s.server_key.as_deref())
        .map(|k| crate::sync::load_cached_policy(k, &crate::sync::policy_cache_path(&config.db_path), Utc::now()));
    let server_issuers = match &cached {
        Some(Ok(Some(p))) => {
            println!(
                "  server's trust list (kept on disk): {} VP1 issuers, risk regions {:?}, issued {}",
                p.issuer_count("vp1"),
                p.risk_regions,
                p.issued_at
            );
            p.issuer_count("vp1")
        }
        Some(Err(e)) => {
            println!("  warning: the server's trust list kept on disk is not used: {e}");
            0
        }
        _ => 0,
    };
    println!(
        "  EU DCC signer certificates: {} ({} files){}",
        config.hc1.dscs.len(),
        config.hc1.files.len(),
        match config.hc1.subject_key {
            Some(_) => ", subject key set",
            None => ", no subject key: EU DCCs are refused (set [trust.hc1] subject_key to accept them)",
        }
    );
    if config.trust.is_empty() && server_issuers == 0 {
        println!("  warning: no trusted issuers: every pass will be refused as unknown_issuer");
    }
    println!("  database: {}", config.db_path.display());
    println!(
        "  sync: {}",
        config
            .sync
            .as_ref()
            .map(|s| s.url.as_str())
            .unwrap_or("off (offline only)")
    );
    if config.operator_pin_hash.0.is_empty() {
        println!("  warning: no [operator] pin_hash: the operator screen cannot be opened");
    }
    let sound = &config.sound;
    let voices: Vec<&str> = sound.voice.iter().map(|l| l.tag()).collect();
    match (sound.volume, voices.is_empty()) {
        (0, _) => println!("  sound: off (volume 0)"),
        (v, true) => println!("  sound: tones at {v}%, no voice"),
        (v, false) => println!("  sound: tones and voice ({}) at {v}%", voices.join(", ")),
    }
    if sound.volume > 0 && !voices.is_empty() {
        // The kiosk would only say so on stderr at the first verdict: say it here, before.
        for lang in &sound.voice {
            if let Err(e) = crate::voice::synthesize(*lang, "ok") {
                println!("  warning: {e}");
                break;
            }
        }
    }
    if online {
        super::pair::check_online(&config)?;
    }
    Ok(())
}
