//! kiosk.toml: the typed configuration, validated once at start-up.
//!
//! Parsing is strict (unknown keys are errors: a typo must not silently fall back to a
//! default) and every error names the file, the key and what a valid value looks like.
//! Relative paths resolve against the folder of the config file, so `--config
//! /etc/kiosk/kiosk.toml` works from any working directory.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use vp1::{HealthColour, PassKind, TrustStore};

use crate::gate::GateMode;
use crate::policy::{Policy, RiskAction};

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
    pub db_path: PathBuf,
    pub repeat_window: Duration,
    pub visit_max: Duration,
    pub retention_days: u32,
    pub verdict_seconds: f32,
    pub operator_pin_hash: Secret,
    pub camera: CameraConfig,
    pub sync: Option<SyncConfig>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    kiosk: RawKiosk,
    #[serde(default)]
    venue: RawVenue,
    #[serde(default)]
    gate: RawGate,
    #[serde(default)]
    policy: RawPolicy,
    #[serde(default)]
    trust: RawTrust,
    #[serde(default)]
    storage: RawStorage,
    #[serde(default)]
    scan: RawScan,
    #[serde(default)]
    visit: RawVisit,
    #[serde(default)]
    privacy: RawPrivacy,
    #[serde(default)]
    display: RawDisplay,
    #[serde(default)]
    operator: RawOperator,
    #[serde(default)]
    camera: RawCamera,
    sync: Option<RawSync>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawKiosk {
    id: Option<String>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawVenue {
    id: Option<String>,
    name: Option<String>,
    timezone: Option<String>,
    capacity: Option<u32>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGate {
    name: Option<String>,
    mode: Option<GateMode>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    health_admit: Option<Vec<String>>,
    travel_risk: Option<RiskAction>,
    risk_regions: Option<Vec<String>>,
    max_pass_age: Option<String>,
    accept_kinds: Option<Vec<String>>,
    badge_roles: Option<Vec<String>>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTrust {
    /// The spelling from before formats were named: VP1 issuers.
    #[serde(default)]
    issuers: Vec<PathBuf>,
    /// One section per pass format.
    vp1: Option<RawFormatTrust>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFormatTrust {
    #[serde(default)]
    issuers: Vec<PathBuf>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    path: Option<PathBuf>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawScan {
    repeat_seconds: Option<u64>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawVisit {
    max_hours: Option<f64>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPrivacy {
    retention_days: Option<u32>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDisplay {
    verdict_seconds: Option<f32>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOperator {
    pin_hash: Option<String>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCamera {
    device: Option<u32>,
    width: Option<u32>,
    height: Option<u32>,
    fps: Option<u32>,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSync {
    url: String,
    token: String,
    server_key: Option<String>,
    interval_seconds: Option<u64>,
    batch_size: Option<usize>,
    timeout_seconds: Option<u64>,
}

/// Parses durations written as `90s`, `30m`, `24h` or `14d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 90s, 30m, 24h or 14d"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => {
            return Err(format!("{text:?} is not a duration like 90s, 30m, 24h or 14d"));
        }
    };
    Ok(Duration::from_secs(secs))
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
        crate::check::Rules::vp1(self.trust.clone(), self.policy.clone())
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
        let shown = path
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("(defaults)"));
        let invalid = |key: &'static str, message: String| ConfigError::Invalid {
            path: shown.clone(),
            key,
            message,
        };
        let base = path.and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();
        let resolve = |p: PathBuf| {
            if p.is_absolute() || base.as_os_str().is_empty() {
                p
            } else {
                base.join(p)
            }
        };

        let kiosk_id = raw.kiosk.id.unwrap_or_else(|| "kiosk-1".into());
        if !vp1::valid_issuer_id(&kiosk_id) {
            return Err(invalid(
                "kiosk",
                format!("id {kiosk_id:?}: use 1-64 characters from A-Z a-z 0-9 . _ -"),
            ));
        }
        let venue_id = raw.venue.id.unwrap_or_else(|| "demo-venue".into());
        if !vp1::valid_issuer_id(&venue_id) {
            return Err(invalid(
                "venue",
                format!("id {venue_id:?}: use 1-64 characters from A-Z a-z 0-9 . _ -"),
            ));
        }
        let tz_name = raw.venue.timezone.unwrap_or_else(|| "Asia/Shanghai".into());
        let timezone: chrono_tz::Tz = tz_name.parse().map_err(|_| {
            invalid(
                "venue",
                format!("timezone {tz_name:?} is not an IANA zone name such as \"Asia/Shanghai\""),
            )
        })?;
        if raw.venue.capacity == Some(0) {
            return Err(invalid(
                "venue",
                "capacity must be at least 1 (leave it out for no limit)".into(),
            ));
        }

        let mut policy = Policy::default();
        if let Some(list) = raw.policy.health_admit {
            policy.health_admit = list
                .iter()
                .map(|s| s.parse::<HealthColour>())
                .collect::<Result<_, _>>()
                .map_err(|e| invalid("policy", format!("health_admit: {e}")))?;
        }
        if let Some(a) = raw.policy.travel_risk {
            policy.travel_risk = a;
        }
        if let Some(r) = raw.policy.risk_regions {
            policy.risk_regions = r;
        }
        if let Some(age) = raw.policy.max_pass_age {
            policy.max_pass_age = parse_duration(&age).map_err(|e| invalid("policy", format!("max_pass_age: {e}")))?;
        }
        if let Some(kinds) = raw.policy.accept_kinds {
            policy.accept_kinds = kinds
                .iter()
                .map(|s| s.parse::<PassKind>())
                .collect::<Result<_, _>>()
                .map_err(|e| invalid("policy", format!("accept_kinds: {e}")))?;
        }
        if let Some(roles) = raw.policy.badge_roles {
            policy.badge_roles = roles;
        }

        let mut trust = TrustStore::new();
        let mut trust_files = Vec::new();
        let vp1_files = raw.trust.vp1.map(|t| t.issuers).unwrap_or_default();
        for file in raw.trust.issuers.into_iter().chain(vp1_files) {
            let file = resolve(file);
            let text = std::fs::read_to_string(&file).map_err(|e| ConfigError::TrustKey {
                path: shown.clone(),
                file: file.clone(),
                message: e.to_string(),
            })?;
            trust.add_public_file(&text).map_err(|e| ConfigError::TrustKey {
                path: shown.clone(),
                file: file.clone(),
                message: e.to_string(),
            })?;
            trust_files.push(file);
        }

        let max_hours = raw.visit.max_hours.unwrap_or(8.0);
        if !(0.1..=72.0).contains(&max_hours) {
            return Err(invalid(
                "visit",
                format!("max_hours = {max_hours}: use a value between 0.1 and 72"),
            ));
        }
        let retention_days = raw.privacy.retention_days.unwrap_or(28);
        if retention_days == 0 {
            return Err(invalid("privacy", "retention_days must be at least 1".into()));
        }
        let verdict_seconds = raw.display.verdict_seconds.unwrap_or(4.0);
        if !(1.0..=30.0).contains(&verdict_seconds) {
            return Err(invalid(
                "display",
                format!("verdict_seconds = {verdict_seconds}: use 1 to 30"),
            ));
        }
        let pin_hash = raw.operator.pin_hash.unwrap_or_default();
        if !pin_hash.is_empty() && !pin_hash.starts_with("$argon2") {
            return Err(invalid(
                "operator",
                "pin_hash must be an argon2 hash; make one with `kiosk pin-hash`".into(),
            ));
        }
        let camera = CameraConfig {
            device: raw.camera.device.unwrap_or(0),
            width: raw.camera.width.unwrap_or(1280),
            height: raw.camera.height.unwrap_or(720),
            fps: raw.camera.fps.unwrap_or(15),
        };
        if camera.width == 0 || camera.height == 0 || camera.fps == 0 {
            return Err(invalid("camera", "width, height and fps must be positive".into()));
        }
        let sync = match raw.sync {
            None => None,
            Some(s) => {
                if !(s.url.starts_with("http://") || s.url.starts_with("https://")) {
                    return Err(invalid(
                        "sync",
                        format!("url {:?} must start with http:// or https://", s.url),
                    ));
                }
                if s.token.is_empty() {
                    return Err(invalid(
                        "sync",
                        "token is empty; get one with `trace-server kiosk add`".into(),
                    ));
                }
                let batch_size = s.batch_size.unwrap_or(500);
                if !(1..=MAX_SYNC_BATCH).contains(&batch_size) {
                    return Err(invalid(
                        "sync",
                        format!("batch_size {batch_size} must be between 1 and {MAX_SYNC_BATCH} (the server's limit)"),
                    ));
                }
                let timeout_seconds = s.timeout_seconds.unwrap_or(30);
                if timeout_seconds == 0 {
                    return Err(invalid("sync", "timeout_seconds must be at least 1".into()));
                }
                Some(SyncConfig {
                    url: s.url.trim_end_matches('/').to_string(),
                    token: Secret(s.token),
                    server_key: s.server_key,
                    interval: Duration::from_secs(s.interval_seconds.unwrap_or(30).max(1)),
                    batch_size,
                    timeout: Duration::from_secs(timeout_seconds),
                })
            }
        };

        Ok(Config {
            source: path.map(Path::to_path_buf),
            kiosk_id,
            venue_id,
            venue_name: raw.venue.name.unwrap_or_else(|| "Demo venue".into()),
            timezone,
            capacity: raw.venue.capacity,
            gate_name: raw.gate.name.unwrap_or_else(|| "Main entrance".into()),
            gate_mode: raw.gate.mode.unwrap_or(GateMode::Auto),
            policy,
            trust_files,
            trust,
            db_path: resolve(raw.storage.path.unwrap_or_else(|| PathBuf::from("kiosk.db"))),
            repeat_window: Duration::from_secs(raw.scan.repeat_seconds.unwrap_or(10)),
            visit_max: Duration::from_secs_f64(max_hours * 3600.0),
            retention_days,
            verdict_seconds,
            operator_pin_hash: Secret(pin_hash),
            camera,
            sync,
        })
    }
}
