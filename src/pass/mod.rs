//! The pass-format seam: every format the kiosk reads (VP1, and the EU DCC's `HC1:`)
//! turns a QR text into one kiosk-owned [`Credential`]. Policy, store, screens and the CLI see
//! only that, never a format's own claim set.

mod hc1;
mod vp1;

use std::sync::Arc;

pub use ::passes::vp1::{HealthColour, PassKind, TravelEntry};
use chrono::{DateTime, Utc};
use serde::Serialize;
use wire::Reason;

pub use self::hc1::{DccStatement, Hc1Format, SubjectKey};
pub use self::vp1::Vp1Format;

/// The formats this kiosk can read (the log's `format` column, the trust list's sections).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Vp1,
    Hc1,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Vp1 => "vp1",
            Format::Hc1 => "hc1",
        }
    }
}

/// What a pass attests, whatever its format; the policy decides on this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Evidence {
    /// A health code; a pass that names no colour is treated as red.
    Health { colour: Option<HealthColour> },
    /// A travel card: regions visited by day, and the issuer's own risk flag.
    Travel { entries: Vec<TravelEntry>, risk: bool },
    /// A venue badge and the role it grants.
    Badge { role: Option<String> },
    /// An EU Digital COVID Certificate: vaccination, test or recovery.
    Dcc {
        /// `tg`: 840539006 is COVID-19.
        disease: String,
        statement: DccStatement,
    },
}

/// A verified pass as the kiosk understands it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Credential {
    pub format: Format,
    pub issuer: String,
    /// Pseudonymous subject key, chosen by the format (never a name): the only identity the
    /// kiosk stores.
    pub subject: String,
    /// Masked name for the screen (张*三, J*** D**).
    pub display_name: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub evidence: Evidence,
}

impl Credential {
    pub fn kind(&self) -> PassKind {
        match self.evidence {
            Evidence::Health { .. } => PassKind::Health,
            Evidence::Travel { .. } => PassKind::Travel,
            Evidence::Badge { .. } => PassKind::Badge,
            // A health credential: `accept_kinds = ["health"]` covers it.
            Evidence::Dcc { .. } => PassKind::Health,
        }
    }

    pub fn health(&self) -> Option<HealthColour> {
        match self.evidence {
            Evidence::Health { colour } => colour,
            _ => None,
        }
    }
}

/// Why a QR text is not a valid pass, in any format. Each maps to a stable [`Reason`]; the
/// message says what the holder or operator can do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PassError {
    #[error("not a pass this kiosk reads (it reads {0}); ask the visitor to open their pass code")]
    NotAPass(String),
    #[error("the pass text is damaged ({0}); ask the visitor to refresh the code and scan again")]
    Malformed(String),
    #[error(
        "issuer \"{0}\" is not trusted here; add its public key under [trust.<format>] in kiosk.toml if it should be"
    )]
    UnknownIssuer(String),
    #[error("the pass signature does not verify: the pass was altered or forged")]
    BadSignature,
    #[error(
        "issuer \"{issuer}\" is trusted here only for {allowed}, not for a {kind} pass ([trust.<format>] kinds in kiosk.toml)"
    )]
    IssuerNotForKind {
        issuer: String,
        kind: String,
        allowed: String,
    },
    #[error("the signer certificate may sign only {allowed} certificates, not a {kind} certificate")]
    SignerNotForType { kind: String, allowed: String },
    #[error("the signer certificate was not valid when it signed ({0})")]
    SignerNotValid(String),
    #[error("{0}")]
    NotConfigured(String),
}

impl PassError {
    pub fn reason(&self) -> Reason {
        match self {
            PassError::NotAPass(_) | PassError::Malformed(_) => Reason::Malformed,
            PassError::UnknownIssuer(_) => Reason::UnknownIssuer,
            PassError::BadSignature => Reason::BadSignature,
            PassError::IssuerNotForKind { .. } => Reason::IssuerNotForKind,
            PassError::SignerNotForType { .. } => Reason::DccSignerNotForType,
            PassError::SignerNotValid(_) => Reason::DccSignerNotValid,
            // To the visitor: this kind of pass is not accepted at this kiosk.
            PassError::NotConfigured(_) => Reason::KindNotAccepted,
        }
    }
}

/// Longest subject key a pass may carry.
const MAX_SUBJECT: usize = 128;

/// A subject key is stored, synced and shown to tracers: it may hold no control characters
/// (U+0000 breaks the server's database) and no bidirectional overrides (they make a report
/// show something other than what is stored). Every format checks its subjects with this.
pub fn check_subject(subject: &str) -> Result<(), PassError> {
    let bad = |c: char| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if subject.is_empty() || subject.chars().count() > MAX_SUBJECT || subject.chars().any(bad) {
        return Err(PassError::Malformed(format!(
            "the subject id is empty, longer than {MAX_SUBJECT} characters, or holds control characters"
        )));
    }
    Ok(())
}

impl From<&PassError> for PassError {
    fn from(e: &PassError) -> PassError {
        e.clone()
    }
}

/// One pass format: how to recognise its texts, verify them offline, and take its section of
/// the server's signed trust list.
pub trait PassFormat: std::fmt::Debug + Send + Sync {
    fn format(&self) -> Format;
    /// The text prefix that marks this format (`VP1:`, `HC1:`).
    fn prefix(&self) -> &'static str;
    /// Checks the signature against this format's trusted issuers and maps the claims.
    fn verify(&self, text: &str) -> Result<Credential, PassError>;
    /// Whether `issuer` is trusted.
    fn trusts(&self, issuer: &str) -> bool;
    /// This format with the server's section of the trust list added (keys and scopes set
    /// locally win), and what of it could not be used.
    fn with_server_issuers(&self, trust: &wire::FormatTrust) -> (Arc<dyn PassFormat>, Vec<String>);
}

/// The formats a kiosk reads, built from its configuration (a trust section per format).
#[derive(Debug, Clone)]
pub struct Formats {
    formats: Vec<Arc<dyn PassFormat>>,
}

impl Formats {
    pub fn new(formats: Vec<Arc<dyn PassFormat>>) -> Formats {
        Formats { formats }
    }

    /// These formats and `format` (replacing one of the same format).
    pub fn with(&self, format: Arc<dyn PassFormat>) -> Formats {
        let mut formats: Vec<_> = self
            .formats
            .iter()
            .filter(|f| f.format() != format.format())
            .cloned()
            .collect();
        formats.push(format);
        Formats { formats }
    }

    /// Dispatches by prefix to the format that reads the text.
    pub fn verify(&self, text: &str) -> Result<Credential, PassError> {
        let text = text.trim();
        match self.formats.iter().find(|f| text.starts_with(f.prefix())) {
            Some(f) => f.verify(text),
            None => Err(PassError::NotAPass(self.prefixes().join(", "))),
        }
    }

    /// Whether a text looks like a pass of one of these formats (to pick it among several
    /// codes in one frame).
    pub fn recognises(&self, text: &str) -> bool {
        let text = text.trim_start();
        self.formats.iter().any(|f| text.starts_with(f.prefix()))
    }

    pub fn prefixes(&self) -> Vec<&'static str> {
        self.formats.iter().map(|f| f.prefix()).collect()
    }

    pub fn trusts(&self, format: Format, issuer: &str) -> bool {
        self.formats.iter().any(|f| f.format() == format && f.trusts(issuer))
    }

    /// Each format with its section of the server's trust list applied.
    pub fn with_server_trust(&self, list: &wire::PolicyDocument) -> (Formats, Vec<String>) {
        let mut problems = Vec::new();
        let formats = self
            .formats
            .iter()
            .map(|f| {
                let (merged, refused) = f.with_server_issuers(&list.trust_for(f.format().as_str()));
                problems.extend(refused);
                merged
            })
            .collect();
        (Formats { formats }, problems)
    }
}
