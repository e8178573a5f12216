//! kiosk.toml: the typed configuration, validated once at start-up.
//!
//! Parsing is strict (unknown keys are errors: a typo must not silently fall back to a
//! default) and every error names the file, the key and what a valid value looks like.
//! Relative paths resolve against the folder of the config file, so `--config
//! /etc/kiosk/kiosk.toml` works from any working directory.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod edit;
mod sections;
mod sound;

pub use self::sound::SoundConfig;

use passes::vp1::TrustStore;

use self::sections::{Ctx, Raw};
use crate::gate::GateMode;
use crate::policy::Policy;

/// Everything wrong with a configuration, each message saying how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}; pass --config FILE or create kiosk.toml (see the README)")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: [{key}] {message}")]
    Invalid {
        path: PathBuf,
        key: &'static str,
        message: String,
    },
    #[error("{path}: [trust] cannot use key file {file}: {message}")]
    TrustKey {
        path: PathBuf,
        file: PathBuf,
        message: String,
    },
}

/// A secret that never shows up in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("\"\"")
        } else {
            f.write_str("<redacted>")
        }
    }
}

#[derive(Debug, Clone)]
pub struct CameraConfig {
    pub device: u32,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

#[derive(Debug, Clone)]
pub struct SyncConfig {
    pub url: String,
    pub token: Secret,
    /// Pinned public key of the server, for its signed trust lists (not yet served).
    pub server_key: Option<String>,
    pub interval: Duration,
    /// How often a gate of a venue that shares its room (a capacity, or several gates) sends
    /// its passages and asks for the venue's open visits and its share (`src/venue.rs`).
    pub venue_interval: Duration,
    pub batch_size: usize,
    /// How long one request may take before it counts as failed (and is retried).
    pub timeout: Duration,
}

/// The trace server refuses larger batches.
pub const MAX_SYNC_BATCH: usize = wire::MAX_BATCH;

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the file was read from; `None` for built-in defaults (demo mode).
    pub source: Option<PathBuf>,
    pub kiosk_id: String,
    pub venue_id: String,
    pub venue_name: String,
    pub timezone: chrono_tz::Tz,
    pub capacity: Option<u32>,
    pub gate_name: String,
    pub gate_mode: GateMode,
    pub policy: Policy,
    pub trust_files: Vec<PathBuf>,
    pub trust: TrustStore,
    /// `[trust.vp1] kinds`: issuers trusted only for some kinds of pass.
    pub trust_kinds: sections::IssuerKinds,
    /// `[trust.hc1]`: EU DCC signer certificates and the subject key.
    pub hc1: sections::Hc1Trust,
    pub db_path: PathBuf,
    /// `[gate] when_not_recorded`: refuse (default) or admit a pass whose passage cannot be
    /// recorded.
    pub when_not_recorded: crate::gate::WhenNotRecorded,
    pub repeat_window: Duration,
    pub visit_max: Duration,
    pub retention_days: u32,
    pub verdict_seconds: f32,
    /// `[display] large_text`: the visitor screen starts in large type and high contrast.
    pub large_text: bool,
    pub operator_pin_hash: Secret,
    /// `[operator] usb_mount_roots`: the export goes to a USB stick mounted below one of these.
    pub usb_mount_roots: Vec<PathBuf>,
    pub camera: CameraConfig,
    pub sound: SoundConfig,
    pub sync: Option<SyncConfig>,
}

/// Parses durations written as `90s`, `30m`, `24h` or `14d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 90s, 30m, 24h or 14d"))?;
    let unit_secs: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => {
            return Err(format!("{text:?} is not a duration like 90s, 30m, 24h or 14d"));
        }
    };
    // Ten years is more than any window here means; larger numbers are typos (and overflow).
    n.checked_mul(unit_secs)
        .filter(|s| *s <= 10 * 366 * 86400)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is longer than ten years"))
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text, path)
    }

    /// Finds the configuration: `--config FILE` if given, else ./kiosk.toml if present, else
    /// the built-in defaults.
    pub fn discover(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path {
            Some(p) => Config::load(p),
            None if Path::new("kiosk.toml").exists() => Config::load(Path::new("kiosk.toml")),
            None => Config::defaults(),
        }
    }

    /// The pass formats this configuration reads (a trust section each) and its policy.
    pub fn rules(&self) -> crate::check::Rules {
        let mut rules =
            crate::check::Rules::vp1_scoped(self.trust.clone(), self.trust_kinds.clone(), self.policy.clone());
        rules.formats = rules.formats.with(std::sync::Arc::new(self.hc1_format()));
        rules
    }

    /// HC1 with the configured signer certificates; without `[trust.hc1] subject_key` it
    /// verifies but accepts no DCC (`check-config` says so).
    pub fn hc1_format(&self) -> crate::pass::Hc1Format {
        crate::pass::Hc1Format {
            trust: self.hc1.dscs.clone(),
            subject_key: self.hc1.subject_key.clone(),
        }
    }

    /// Built-in defaults, for `--demo` and tests; paths relative to the working directory.
    pub fn defaults() -> Result<Config, ConfigError> {
        Self::build(Raw::default(), None)
    }

    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: Raw = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Self::build(raw, Some(path))
    }

    fn build(raw: Raw, path: Option<&Path>) -> Result<Config, ConfigError> {
        let cx = Ctx::new(path);
        let (kiosk_id, venue_id) = (raw.kiosk.build(&cx)?, raw.venue.id(&cx)?);
        let (timezone, capacity) = (raw.venue.timezone(&cx)?, raw.venue.capacity(&cx)?);
        let hc1 = raw.trust.hc1(&cx)?;
        let (trust, trust_files, trust_kinds) = raw.trust.build(&cx)?;
        let (visit_max, retention_days) = (raw.visit.build(&cx)?, raw.privacy.build(&cx)?);
        let usb_mount_roots = raw.operator.usb_mount_roots(&cx)?;
        Ok(Config {
            source: path.map(Path::to_path_buf),
            kiosk_id,
            venue_id,
            venue_name: raw.venue.name.unwrap_or_else(|| "Demo venue".into()),
            timezone,
            capacity,
            gate_name: raw.gate.name.unwrap_or_else(|| "Main entrance".into()),
            gate_mode: raw.gate.mode.unwrap_or(GateMode::Auto),
            when_not_recorded: raw.gate.when_not_recorded.unwrap_or_default(),
            policy: {
                let mut policy = raw.policy.build(&cx)?;
                policy.dcc.timezone = timezone;
                policy
            },
            trust_files,
            trust,
            trust_kinds,
            hc1,
            db_path: cx.resolve(raw.storage.path.unwrap_or_else(|| PathBuf::from("kiosk.db"))),
            repeat_window: Duration::from_secs(raw.scan.repeat_seconds.unwrap_or(10)),
            visit_max,
            retention_days,
            verdict_seconds: raw.display.build(&cx)?,
            large_text: raw.display.large_text(),
            operator_pin_hash: raw.operator.build(&cx)?,
            usb_mount_roots,
            camera: raw.camera.build(&cx)?,
            sound: raw.sound.build(&cx)?,
            sync: raw.sync.map(|s| s.build(&cx)).transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_huge_ones_are_refused_not_overflowed() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("14d"), Ok(Duration::from_secs(14 * 86400)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("99999999999999999d").unwrap_err().contains("ten years"));
        assert!(parse_duration("18446744073709551615d").is_err());
        assert!(parse_duration("3661d").unwrap_err().contains("ten years"));
    }
}
