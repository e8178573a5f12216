//! What travels over HTTP between kiosk and trace server, and where.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Direction, Reason, VerdictKind};

/// Largest batch a kiosk may send in one request (the server refuses larger ones; the kiosk's
/// `[sync] batch_size` is validated against it).
pub const MAX_BATCH: usize = 5_000;

/// The route paths, as axum patterns (`{id}`) and as the kiosk builds them.
pub mod routes {
    pub const HEALTHZ: &str = "/healthz";
    pub const METRICS: &str = "/metrics";
    /// POST a JSON array of [`crate::PassageRecord`]; answers [`crate::IngestReport`]. Kiosk token.
    pub const PASSAGES: &str = "/v1/passages";
    /// GET the signed trust list ([`crate::SignedDocument`]). Kiosk token.
    pub const KIOSK_POLICY: &str = "/v1/kiosk/policy";
    /// GET [`crate::KioskIdentity`]: who the token belongs to (for `kiosk pair` and
    /// `check-config --online`). Kiosk token.
    pub const KIOSK_WHOAMI: &str = "/v1/kiosk/whoami";
    /// POST [`crate::VenueRequest`]; answers [`crate::VenueState`]: who is inside the kiosk's
    /// venue by every gate's passages, and this gate's share of the room left. Kiosk token.
    pub const VENUE: &str = "/v1/kiosk/venue";
    /// Request header in which a kiosk sends its clock (RFC 3339) with every call: the server
    /// measures skew from it, not from passage times, which may be back-dated on purpose.
    pub const KIOSK_CLOCK_HEADER: &str = "kiosk-clock";
    /// GET [`crate::KioskStatus`]; `{id}` is the kiosk's name (`[kiosk] id`). Its own kiosk
    /// token, or a tracer token.
    pub const KIOSK_STATUS: &str = "/v1/kiosks/{id}/status";
    /// POST `{"subject", "reason", "days"}`: opens a case (tracer token); contacts and venue
    /// visitor lists are asked under an open case (`?case=ID`).
    pub const CASES: &str = "/v1/cases";
    pub const TRACE_CONTACTS: &str = "/v1/trace/contacts";
    pub const TRACE_VENUE: &str = "/v1/trace/venue";
    pub const TRACE_HOTSPOTS: &str = "/v1/trace/hotspots";
    pub const TRACE_PEAKS: &str = "/v1/trace/peaks";
    /// GET the OpenAPI document of these routes.
    pub const API_DOCS: &str = "/api-docs";

    /// [`KIOSK_STATUS`] for one kiosk.
    pub fn kiosk_status(kiosk_id: &str) -> String {
        KIOSK_STATUS.replace("{id}", kiosk_id)
    }
}

/// Who a kiosk token belongs to, as the server knows it.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct KioskIdentity {
    pub kiosk_id: String,
    pub venue_id: String,
    /// The server's public key (hex), the one that signs the trust list.
    pub server_key: String,
    pub server_time: DateTime<Utc>,
    /// The deployment's secret for EU DCC holders' ids (64 hex): pairing writes it into
    /// `[trust.hc1] subject_key`, so every kiosk keys one person alike. Sent to a token only
    /// within ten minutes of the first time it was sent (pairing, and a retry of it), never
    /// after: a stolen token cannot fetch it. `trace-server kiosk rotate` opens it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_key: Option<String>,
    /// The subject key's fingerprint (`passes::hc1::subject_key_fingerprint`), always sent, so
    /// `kiosk check-config --online` can compare keys without the key. Older servers send none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_key_fingerprint: Option<String>,
}

impl std::fmt::Debug for KioskIdentity {
    // The subject key is a secret: never in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KioskIdentity")
            .field("kiosk_id", &self.kiosk_id)
            .field("venue_id", &self.venue_id)
            .field("server_key", &self.server_key)
            .field("server_time", &self.server_time)
            .field("subject_key", &self.subject_key.as_ref().map(|_| "<secret>"))
            .field("subject_key_fingerprint", &self.subject_key_fingerprint)
            .finish()
    }
}

/// One passage as a kiosk sends it. Event ids are UUIDv7 made on the kiosk, so a resend after a
/// lost acknowledgement is harmless.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct PassageRecord {
    pub event_id: String,
    /// The identity of the kiosk's passage log. A kiosk whose log was reset or replaced starts
    /// `seq` again at 1 under a new id, so its new passages are stored, not taken for
    /// duplicates of the old ones. Empty from kiosks older than this field.
    #[serde(default)]
    pub log_id: String,
    /// Gapless per log, so the server can report what never arrived.
    pub seq: i64,
    pub kiosk_id: String,
    pub venue_id: String,
    pub gate: String,
    pub direction: Direction,
    /// Pseudonymous subject id from a verified pass; `None` when the pass did not verify.
    pub subject: Option<String>,
    /// The pass format of the credential (`vp1`, later `hc1`).
    #[serde(default)]
    pub format: Option<String>,
    pub kind: Option<String>,
    pub issuer: Option<String>,
    pub health: Option<String>,
    pub verdict: VerdictKind,
    pub reason: Reason,
    /// The kiosk's clock.
    pub at: DateTime<Utc>,
    /// An exit the kiosk inferred (automatic check-out), not a scan.
    #[serde(default)]
    pub inferred: bool,
    /// The passage's link in the kiosk's hash chain (hex SHA-256). The server keeps it, so a
    /// kiosk whose newest passages were cut out of its log (and the chain re-tied) is caught
    /// against what the server received. Empty from older kiosks.
    #[serde(default)]
    pub hash: String,
}

/// The server's answer to a batch: every passage was stored, was a duplicate, or was refused
/// on its own (the rest of the batch is stored all the same, so one bad passage never blocks
/// a kiosk's queue).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct IngestReport {
    pub accepted: u64,
    pub duplicates: u64,
    /// Older than the server keeps passages (its retention period): not stored, as if stored
    /// and then purged; the kiosk counts them as sent. Absent from older servers.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub expired: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<Rejection>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One passage the server will never store, and why (the kiosk parks it and tells staff).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Rejection {
    /// Position in the batch as sent (an unreadable passage may have no event id).
    pub index: usize,
    pub event_id: Option<String>,
    pub reason: String,
    /// Refused only because it was recorded under another kiosk or venue than the token's. For
    /// a passage recorded before the kiosk was renamed or moved, that is final (the kiosk
    /// parks it); for one recorded under the kiosk's current ids, the token is wrong and the
    /// kiosk keeps the passage queued until it is fixed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub identity: bool,
}

/// What the server knows of one kiosk: how much arrived, what never did, its clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct KioskStatus {
    pub kiosk_id: String,
    pub venue_id: String,
    /// Passages stored, over all of the kiosk's logs.
    pub passages: i64,
    /// Highest sequence number of the log that sent last.
    pub max_seq: i64,
    /// Sequence ranges (inclusive) of the log that sent last that never arrived.
    pub gaps: Vec<(i64, i64)>,
    /// The log that sent last (see [`PassageRecord::log_id`]).
    #[serde(default)]
    pub log_id: String,
    /// How many of the kiosk's logs the server has seen (more than one: the kiosk was reset).
    #[serde(default)]
    pub logs: i64,
    /// The highest sequence number received from the log that sent last, with its chain hash:
    /// the anchor a kiosk checks its own log against.
    #[serde(default)]
    pub head: Option<(i64, String)>,
    pub last_received: Option<DateTime<Utc>>,
    /// Kiosk clock minus server clock, in seconds (positive: kiosk ahead), as the kiosk last
    /// reported it in the `Kiosk-Clock` header (passage times say nothing: they may be
    /// back-dated on purpose).
    pub clock_skew_seconds: Option<f64>,
}

/// Version of [`PolicyDocument`] this code writes; it reads 1 (VP1 issuers only) and 2 (one
/// section per pass format).
pub const POLICY_VERSION: u32 = 2;

/// The trust list kiosks fetch: trusted pass issuers per format, and risk regions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct PolicyDocument {
    pub version: u32,
    pub issued_at: DateTime<Utc>,
    /// After this the kiosk stops using the list (version 1 lists have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Version 1 only: `.pub` file texts of trusted VP1 issuers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issuers: Vec<String>,
    /// Version 2: each pass format's trusted issuers, by format name (`vp1`, later `hc1`).
    #[serde(default)]
    pub formats: std::collections::BTreeMap<String, FormatTrust>,
    pub risk_regions: Vec<String>,
}

/// One pass format's section of the trust list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct FormatTrust {
    /// The format's own issuer key texts (for VP1, `.pub` file texts).
    pub issuers: Vec<String>,
    /// Issuer id → the only kinds of pass it is trusted for (`trace-server issuer-add
    /// --kinds`); issuers not named: any kind. A kiosk's own `[trust.vp1] kinds` entry for an
    /// issuer wins.
    ///
    /// Servers from before `scoped` wrote this; newer ones leave it empty. Kiosks from before
    /// scopes ignore it and would trust such an issuer for every kind, which is why a scoped
    /// issuer now travels in `scoped` instead, where they do not look at all.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub kinds: std::collections::BTreeMap<String, Vec<String>>,
    /// Issuers trusted for some kinds of pass only, each key with its scope. Kept apart from
    /// `issuers` so that a kiosk too old to read scopes does not see the key at all and refuses
    /// its passes (fails closed) rather than trusting it for every kind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scoped: Vec<ScopedIssuer>,
}

/// An issuer key trusted for `kinds` of pass only (`trace-server issuer-add --kinds`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ScopedIssuer {
    /// The issuer's key text (for VP1, its `.pub` file text).
    pub key: String,
    /// The kinds of pass it may sign (`health`, `travel`, `badge`).
    pub kinds: Vec<String>,
}

impl FormatTrust {
    /// How many issuers the section trusts, scoped ones included.
    pub fn issuer_count(&self) -> usize {
        self.issuers.len() + self.scoped.len()
    }
}

impl PolicyDocument {
    /// One format's section, from either version (empty when the list has none).
    pub fn trust_for(&self, format: &str) -> FormatTrust {
        match self.formats.get(format) {
            Some(t) => t.clone(),
            None if format == "vp1" => FormatTrust {
                issuers: self.issuers.clone(),
                ..FormatTrust::default()
            },
            None => FormatTrust::default(),
        }
    }

    /// How many issuers of one format the list trusts (scoped ones included), from either
    /// version.
    pub fn issuer_count(&self, format: &str) -> usize {
        match self.formats.get(format) {
            Some(t) => t.issuer_count(),
            None if format == "vp1" => self.issuers.len(),
            None => 0,
        }
    }
}

/// A document as sent: the exact signed bytes (as a string) and the hex Ed25519 signature by
/// the server key each kiosk pins in `[sync] server_key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SignedDocument {
    pub document: String,
    pub signature: String,
}
