//! The sections of kiosk.toml as written (`Raw*`, strict: unknown keys are errors) and the
//! validation of each into its typed part of [`super::Config`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use passes::vp1::{HealthColour, PassKind, TrustStore};
use serde::Deserialize;

use super::{CameraConfig, ConfigError, MAX_SYNC_BATCH, Secret, SyncConfig, parse_duration};
use crate::gate::GateMode;
use crate::policy::{Policy, RiskAction};

/// Where the file came from: for messages, and to resolve relative paths against its folder.
pub(super) struct Ctx {
    shown: PathBuf,
    base: PathBuf,
}

impl Ctx {
    pub(super) fn new(path: Option<&Path>) -> Ctx {
        Ctx {
            shown: path
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("(defaults)")),
            base: path.and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default(),
        }
    }

    pub(super) fn invalid(&self, key: &'static str, message: String) -> ConfigError {
        ConfigError::Invalid {
            path: self.shown.clone(),
            key,
            message,
        }
    }

    pub(super) fn resolve(&self, p: PathBuf) -> PathBuf {
        if p.is_absolute() || self.base.as_os_str().is_empty() {
            p
        } else {
            self.base.join(p)
        }
    }
}

fn valid_id(cx: &Ctx, section: &'static str, id: String) -> Result<String, ConfigError> {
    if passes::vp1::valid_issuer_id(&id) {
        Ok(id)
    } else {
        Err(cx.invalid(
            section,
            format!("id {id:?}: use 1-64 characters from A-Z a-z 0-9 . _ -"),
        ))
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    #[serde(default)]
    pub(super) kiosk: RawKiosk,
    #[serde(default)]
    pub(super) venue: RawVenue,
    #[serde(default)]
    pub(super) gate: RawGate,
    #[serde(default)]
    pub(super) policy: RawPolicy,
    #[serde(default)]
    pub(super) trust: RawTrust,
    #[serde(default)]
    pub(super) storage: RawStorage,
    #[serde(default)]
    pub(super) scan: RawScan,
    #[serde(default)]
    pub(super) visit: RawVisit,
    #[serde(default)]
    pub(super) privacy: RawPrivacy,
    #[serde(default)]
    pub(super) display: RawDisplay,
    #[serde(default)]
    pub(super) operator: RawOperator,
    #[serde(default)]
    pub(super) camera: RawCamera,
    #[serde(default)]
    pub(super) sound: super::sound::RawSound,
    pub(super) sync: Option<RawSync>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKiosk {
    id: Option<String>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVenue {
    id: Option<String>,
    pub(super) name: Option<String>,
    timezone: Option<String>,
    capacity: Option<u32>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGate {
    pub(super) name: Option<String>,
    pub(super) mode: Option<GateMode>,
    pub(super) when_not_recorded: Option<crate::gate::WhenNotRecorded>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    health_admit: Option<Vec<String>>,
    travel_risk: Option<RiskAction>,
    risk_regions: Option<Vec<String>>,
    max_pass_age: Option<String>,
    accept_kinds: Option<Vec<String>>,
    badge_roles: Option<Vec<String>>,
    badge_max_days: Option<u32>,
    dcc: Option<RawDccPolicy>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDccPolicy {
    accept: Option<Vec<String>>,
    vaccines: Option<Vec<String>>,
    vaccination_min_days: Option<u32>,
    vaccination_max_days: Option<u32>,
    naat_max_hours: Option<u32>,
    rapid_max_hours: Option<u32>,
}
/// Issuer id → the only pass kinds it is trusted for (issuers not named: any kind).
pub type IssuerKinds = std::collections::BTreeMap<String, Vec<passes::vp1::PassKind>>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrust {
    /// The spelling from before formats were named: VP1 issuers.
    #[serde(default)]
    issuers: Vec<PathBuf>,
    /// One section per pass format.
    vp1: Option<RawFormatTrust>,
    hc1: Option<RawHc1Trust>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHc1Trust {
    /// Signer certificate files: DER, PEM, or a JSON list of base64 certificates.
    #[serde(default)]
    dsc: Vec<PathBuf>,
    /// 64 hex characters: the key DCC holders' pseudonymous ids are derived with.
    subject_key: Option<String>,
}

/// `[trust.hc1]` built: the signer certificates, their files, the subject key.
#[derive(Clone)]
pub struct Hc1Trust {
    pub dscs: passes::hc1::DscStore,
    pub files: Vec<PathBuf>,
    pub subject_key: Option<crate::pass::SubjectKey>,
}

impl std::fmt::Debug for Hc1Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hc1Trust")
            .field("dscs", &self.dscs.len())
            .field("files", &self.files)
            .field("subject_key", &self.subject_key)
            .finish()
    }
}

impl RawTrust {
    pub(super) fn hc1(&self, cx: &Ctx) -> Result<Hc1Trust, ConfigError> {
        let Some(raw) = &self.hc1 else {
            return Ok(Hc1Trust {
                dscs: passes::hc1::DscStore::new(),
                files: Vec::new(),
                subject_key: None,
            });
        };
        let mut dscs = passes::hc1::DscStore::new();
        let mut files = Vec::new();
        for file in &raw.dsc {
            let file = cx.resolve(file.clone());
            let refused = |message: String| ConfigError::TrustKey {
                path: cx.shown.clone(),
                file: file.clone(),
                message,
            };
            let bytes = std::fs::read(&file).map_err(|e| refused(e.to_string()))?;
            for dsc in passes::hc1::parse_certificates(&bytes).map_err(|e| refused(e.to_string()))? {
                dscs.add(dsc);
            }
            files.push(file);
        }
        let subject_key = match &raw.subject_key {
            None => None,
            Some(text) => Some(crate::pass::SubjectKey::from_hex(text).ok_or_else(|| {
                cx.invalid(
                    "trust.hc1",
                    "subject_key: give 64 hex characters (`head -c32 /dev/urandom | xxd -p -c64`), the same on every kiosk of the deployment".into(),
                )
            })?),
        };
        if subject_key.is_none() && !files.is_empty() {
            return Err(cx.invalid(
                "trust.hc1",
                "dsc is set but subject_key is not: DCC holders' ids would not link across kiosks or restarts. Set subject_key = \"<64 hex>\" (`head -c32 /dev/urandom | xxd -p -c64`), the same on every kiosk of the deployment".into(),
            ));
        }
        Ok(Hc1Trust {
            dscs,
            files,
            subject_key,
        })
    }
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFormatTrust {
    #[serde(default)]
    issuers: Vec<PathBuf>,
    /// Issuer id → the only pass kinds it is trusted for.
    #[serde(default)]
    kinds: std::collections::BTreeMap<String, Vec<String>>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStorage {
    pub(super) path: Option<PathBuf>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScan {
    pub(super) repeat_seconds: Option<u64>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVisit {
    max_hours: Option<f64>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrivacy {
    retention_days: Option<u32>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDisplay {
    verdict_seconds: Option<f32>,
    large_text: Option<bool>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOperator {
    pin_hash: Option<String>,
    usb_mount_roots: Option<Vec<PathBuf>>,
}
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCamera {
    device: Option<u32>,
    width: Option<u32>,
    height: Option<u32>,
    fps: Option<u32>,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSync {
    url: String,
    token: String,
    server_key: Option<String>,
    interval_seconds: Option<u64>,
    venue_interval_seconds: Option<u64>,
    batch_size: Option<usize>,
    timeout_seconds: Option<u64>,
    /// Plain `http://` to a server that is not on this machine: off unless set, because the
    /// token and every passage would cross the network readable by anyone on the way.
    #[serde(default)]
    allow_insecure_http: bool,
}

impl RawKiosk {
    pub(super) fn build(&self, cx: &Ctx) -> Result<String, ConfigError> {
        valid_id(cx, "kiosk", self.id.clone().unwrap_or_else(|| "kiosk-1".into()))
    }
}

impl RawVenue {
    pub(super) fn id(&self, cx: &Ctx) -> Result<String, ConfigError> {
        valid_id(cx, "venue", self.id.clone().unwrap_or_else(|| "demo-venue".into()))
    }

    pub(super) fn timezone(&self, cx: &Ctx) -> Result<chrono_tz::Tz, ConfigError> {
        let name = self.timezone.as_deref().unwrap_or("Asia/Shanghai");
        name.parse().map_err(|_| {
            cx.invalid(
                "venue",
                format!("timezone {name:?} is not an IANA zone name such as \"Asia/Shanghai\""),
            )
        })
    }

    pub(super) fn capacity(&self, cx: &Ctx) -> Result<Option<u32>, ConfigError> {
        if self.capacity == Some(0) {
            return Err(cx.invalid(
                "venue",
                "capacity must be at least 1 (leave it out for no limit)".into(),
            ));
        }
        Ok(self.capacity)
    }
}

impl RawDccPolicy {
    fn build(self, cx: &Ctx) -> Result<crate::policy::DccPolicy, ConfigError> {
        let mut p = crate::policy::DccPolicy::default();
        if let Some(accept) = self.accept {
            if let Some(bad) = accept.iter().find(|t| t.parse::<passes::hc1::CertType>().is_err()) {
                return Err(cx.invalid(
                    "policy.dcc",
                    format!("accept: {bad:?} is not a certificate type (give some of \"vaccination\", \"test\", \"recovery\")"),
                ));
            }
            p.accept = accept;
        }
        if let Some(v) = self.vaccines {
            p.vaccines = v;
        }
        let hours = |v: Option<u32>, name: &str, default: u32| match v {
            Some(h) if !(1..=24 * 14).contains(&h) => {
                Err(cx.invalid("policy.dcc", format!("{name} = {h}: give 1 to 336 hours")))
            }
            Some(h) => Ok(h),
            None => Ok(default),
        };
        p.naat_max_hours = hours(self.naat_max_hours, "naat_max_hours", p.naat_max_hours)?;
        p.rapid_max_hours = hours(self.rapid_max_hours, "rapid_max_hours", p.rapid_max_hours)?;
        if let Some(d) = self.vaccination_min_days {
            p.vaccination_min_days = d;
        }
        if let Some(d) = self.vaccination_max_days {
            p.vaccination_max_days = d;
        }
        if p.vaccination_max_days > 0 && p.vaccination_max_days < p.vaccination_min_days {
            return Err(cx.invalid(
                "policy.dcc",
                "vaccination_max_days is below vaccination_min_days: no vaccination would ever count (0 = no limit)"
                    .into(),
            ));
        }
        Ok(p)
    }
}

impl RawPolicy {
    pub(super) fn build(self, cx: &Ctx) -> Result<Policy, ConfigError> {
        let mut policy = Policy::default();
        if let Some(list) = self.health_admit {
            policy.health_admit = list
                .iter()
                .map(|s| s.parse::<HealthColour>())
                .collect::<Result<_, _>>()
                .map_err(|e| cx.invalid("policy", format!("health_admit: {e}")))?;
        }
        if let Some(a) = self.travel_risk {
            policy.travel_risk = a;
        }
        if let Some(r) = self.risk_regions {
            policy.risk_regions = r;
        }
        if let Some(age) = self.max_pass_age {
            policy.max_pass_age =
                parse_duration(&age).map_err(|e| cx.invalid("policy", format!("max_pass_age: {e}")))?;
        }
        if let Some(kinds) = self.accept_kinds {
            policy.accept_kinds = kinds
                .iter()
                .map(|s| s.parse::<PassKind>())
                .collect::<Result<_, _>>()
                .map_err(|e| cx.invalid("policy", format!("accept_kinds: {e}")))?;
        }
        if let Some(days) = self.badge_max_days {
            if !(1..=3660).contains(&days) {
                return Err(cx.invalid("policy", format!("badge_max_days = {days}: give 1 to 3660")));
            }
            policy.badge_max_validity = std::time::Duration::from_secs(u64::from(days) * 86400);
        }
        if let Some(roles) = self.badge_roles {
            policy.badge_roles = roles;
        }
        if let Some(dcc) = self.dcc {
            policy.dcc = dcc.build(cx)?;
        }
        Ok(policy)
    }
}

impl RawTrust {
    /// VP1's trusted issuers (from `[trust.vp1]` and the older `[trust] issuers`) and the
    /// files they came from.
    /// The trusted keys, their files, and the kinds some issuers are limited to.
    pub(super) fn build(self, cx: &Ctx) -> Result<(TrustStore, Vec<PathBuf>, IssuerKinds), ConfigError> {
        let mut trust = TrustStore::new();
        let mut files = Vec::new();
        let (vp1_files, raw_kinds) = self.vp1.map(|t| (t.issuers, t.kinds)).unwrap_or_default();
        let mut kinds = IssuerKinds::new();
        for (issuer, names) in raw_kinds {
            let parsed = names
                .iter()
                .map(|n| n.parse::<passes::vp1::PassKind>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| {
                    cx.invalid(
                        "trust.vp1",
                        format!("kinds.{issuer}: {e} (give some of \"health\", \"travel\", \"badge\")"),
                    )
                })?;
            if parsed.is_empty() {
                return Err(cx.invalid(
                    "trust.vp1",
                    format!("kinds.{issuer} is empty: remove the issuer's key instead"),
                ));
            }
            kinds.insert(issuer, parsed);
        }
        for file in self.issuers.into_iter().chain(vp1_files) {
            let file = cx.resolve(file);
            let refused = |message: String| ConfigError::TrustKey {
                path: cx.shown.clone(),
                file: file.clone(),
                message,
            };
            let text = std::fs::read_to_string(&file).map_err(|e| refused(e.to_string()))?;
            let issuer = trust.add_public_file(&text).map_err(|e| refused(e.to_string()))?;
            if trust.get(&issuer).is_some_and(passes::vp1::is_demo_key) {
                return Err(refused(
                    "this is the demo issuer's key, whose secret is public: anyone could mint passes this kiosk admits. Remove it (`kiosk --demo` trusts it by itself)".into(),
                ));
            }
            files.push(file);
        }
        Ok((trust, files, kinds))
    }
}

impl RawVisit {
    pub(super) fn build(&self, cx: &Ctx) -> Result<Duration, ConfigError> {
        let max_hours = self.max_hours.unwrap_or(8.0);
        if !(0.1..=72.0).contains(&max_hours) {
            return Err(cx.invalid(
                "visit",
                format!("max_hours = {max_hours}: use a value between 0.1 and 72"),
            ));
        }
        Ok(Duration::from_secs_f64(max_hours * 3600.0))
    }
}

impl RawPrivacy {
    pub(super) fn build(&self, cx: &Ctx) -> Result<u32, ConfigError> {
        let days = self.retention_days.unwrap_or(28);
        if days == 0 {
            return Err(cx.invalid("privacy", "retention_days must be at least 1".into()));
        }
        Ok(days)
    }
}

impl RawDisplay {
    pub(super) fn build(&self, cx: &Ctx) -> Result<f32, ConfigError> {
        let seconds = self.verdict_seconds.unwrap_or(4.0);
        if !(1.0..=30.0).contains(&seconds) {
            return Err(cx.invalid("display", format!("verdict_seconds = {seconds}: use 1 to 30")));
        }
        Ok(seconds)
    }

    pub(super) fn large_text(&self) -> bool {
        self.large_text.unwrap_or(false)
    }
}

impl RawOperator {
    /// Where USB sticks are mounted (`/media/<user>/<label>`, `/run/media/…`): absolute paths.
    pub(super) fn usb_mount_roots(&self, cx: &Ctx) -> Result<Vec<PathBuf>, ConfigError> {
        let roots = self
            .usb_mount_roots
            .clone()
            .unwrap_or_else(|| vec![PathBuf::from("/media"), PathBuf::from("/run/media")]);
        if let Some(r) = roots.iter().find(|r| !r.is_absolute()) {
            return Err(cx.invalid(
                "operator",
                format!(
                    "usb_mount_roots: {} is not an absolute path (like \"/media\")",
                    r.display()
                ),
            ));
        }
        Ok(roots)
    }

    pub(super) fn build(self, cx: &Ctx) -> Result<Secret, ConfigError> {
        let hash = self.pin_hash.unwrap_or_default();
        if !hash.is_empty() && !hash.starts_with("$argon2") {
            return Err(cx.invalid(
                "operator",
                "pin_hash must be an argon2 hash; make one with `kiosk pin-hash`".into(),
            ));
        }
        Ok(Secret(hash))
    }
}

impl RawCamera {
    pub(super) fn build(&self, cx: &Ctx) -> Result<CameraConfig, ConfigError> {
        let camera = CameraConfig {
            device: self.device.unwrap_or(0),
            width: self.width.unwrap_or(1280),
            height: self.height.unwrap_or(720),
            fps: self.fps.unwrap_or(15),
        };
        if camera.width == 0 || camera.height == 0 || camera.fps == 0 {
            return Err(cx.invalid("camera", "width, height and fps must be positive".into()));
        }
        Ok(camera)
    }
}

/// Whether a URL's host is this machine (plain HTTP never leaves it).
fn is_loopback(url: &str) -> bool {
    let rest = url.trim_start_matches("http://");
    let host_port = rest.split('/').next().unwrap_or("");
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl RawSync {
    pub(super) fn build(self, cx: &Ctx) -> Result<SyncConfig, ConfigError> {
        let url = self.url.trim_end_matches('/').to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(cx.invalid(
                "sync",
                format!("url {url:?} must start with https:// (or http:// to this machine)"),
            ));
        }
        if self.token.is_empty() {
            return Err(cx.invalid("sync", "token is empty; get one with `trace-server kiosk add`".into()));
        }
        let batch_size = self.batch_size.unwrap_or(500);
        if !(1..=MAX_SYNC_BATCH).contains(&batch_size) {
            return Err(cx.invalid(
                "sync",
                format!("batch_size {batch_size} must be between 1 and {MAX_SYNC_BATCH} (the server's limit)"),
            ));
        }
        let timeout_seconds = self.timeout_seconds.unwrap_or(30);
        if timeout_seconds == 0 {
            return Err(cx.invalid("sync", "timeout_seconds must be at least 1".into()));
        }
        if url.starts_with("http://") && !is_loopback(&url) && !self.allow_insecure_http {
            return Err(cx.invalid(
                "sync",
                format!(
                    "url {url:?} is plain HTTP to another machine: the token and every passage would be readable on the way. Use https://, or set allow_insecure_http = true for a closed network"
                ),
            ));
        }
        Ok(SyncConfig {
            url,
            token: Secret(self.token),
            server_key: self.server_key,
            interval: Duration::from_secs(self.interval_seconds.unwrap_or(30).max(1)),
            venue_interval: Duration::from_secs(self.venue_interval_seconds.unwrap_or(5).max(1)),
            batch_size,
            timeout: Duration::from_secs(timeout_seconds),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn plain_http_is_only_for_this_machine() {
        for (url, local) in [
            ("http://127.0.0.1:8080", true),
            ("http://localhost/x", true),
            ("http://[::1]:80", true),
            ("http://127.9.9.9", true),
            ("http://10.0.0.5:8080", false),
            ("http://trace.example.org", false),
            ("http://localhost.example.org", false),
        ] {
            assert_eq!(super::is_loopback(url), local, "{url}");
        }
    }
}
