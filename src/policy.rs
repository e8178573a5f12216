//! The venue's admission policy: from a verified (or refused) pass to a verdict with a reason.

use chrono::{DateTime, Utc};
use serde::Serialize;
use vp1::{Claims, HealthColour, PassError, PassKind};

use crate::config::{Policy, RiskAction};

/// The four outcomes the screen and the log know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictKind {
    Admit,
    Deny,
    /// The pass itself is not valid now (forged, expired, stale, unknown issuer, damaged).
    Invalid,
    /// No code could be read at all.
    Unreadable,
}

impl VerdictKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Admit => "admit",
            VerdictKind::Deny => "deny",
            VerdictKind::Invalid => "invalid",
            VerdictKind::Unreadable => "unreadable",
        }
    }
}

/// A decision about one pass. `reason` is a stable code (see docs/pass-format.md); the
/// screen text for it lives in assets/i18n as `reason-<code>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub kind: VerdictKind,
    pub reason: &'static str,
    /// A note for staff on an admitted pass (e.g. `travel_risk` under a warn-only policy).
    pub warning: Option<&'static str>,
    pub claims: Option<Claims>,
    /// For invalid passes: the verifier's full explanation, for the operator log.
    pub detail: Option<String>,
}

impl Verdict {
    pub fn unreadable() -> Verdict {
        Verdict {
            kind: VerdictKind::Unreadable,
            reason: "no_code",
            warning: None,
            claims: None,
            detail: None,
        }
    }

    pub fn from_pass_error(e: &PassError) -> Verdict {
        Verdict {
            kind: VerdictKind::Invalid,
            reason: e.reason(),
            warning: None,
            claims: None,
            detail: Some(e.to_string()),
        }
    }

    pub fn is_admit(&self) -> bool {
        self.kind == VerdictKind::Admit
    }
}

/// Travel entries older than this are history the policy ignores.
const TRAVEL_WINDOW_DAYS: i64 = 14;

impl Policy {
    /// Decides on a pass whose signature has already been verified.
    pub fn decide(&self, claims: Claims, now: DateTime<Utc>) -> Verdict {
        let verdict = |kind, reason: &'static str, warning, claims| Verdict {
            kind,
            reason,
            warning,
            claims: Some(claims),
            detail: None,
        };
        // Validity of the pass itself comes first: an expired red code is reported as expired.
        if claims.expires_at <= now {
            return verdict(VerdictKind::Invalid, "expired", None, claims);
        }
        let skew = chrono::Duration::from_std(self.clock_skew).unwrap_or_default();
        if claims.issued_at > now + skew {
            return verdict(VerdictKind::Invalid, "not_yet_valid", None, claims);
        }
        let max_age = chrono::Duration::from_std(self.max_pass_age).unwrap_or(chrono::Duration::MAX);
        // Badges are long-lived cards, so the freshness window (against screenshots of old
        // health codes) applies to health codes and travel cards only.
        if claims.kind != PassKind::Badge && now - claims.issued_at > max_age {
            return verdict(VerdictKind::Invalid, "stale", None, claims);
        }
        if !self.accept_kinds.contains(&claims.kind) {
            return verdict(VerdictKind::Deny, "kind_not_accepted", None, claims);
        }
        match claims.kind {
            PassKind::Health => match claims.health {
                Some(colour) if self.health_admit.contains(&colour) => verdict(VerdictKind::Admit, "ok", None, claims),
                Some(HealthColour::Red) | None => verdict(VerdictKind::Deny, "red_code", None, claims),
                Some(HealthColour::Yellow) => verdict(VerdictKind::Deny, "yellow_code", None, claims),
                Some(HealthColour::Green) => verdict(VerdictKind::Deny, "green_code", None, claims),
            },
            PassKind::Travel => {
                let cutoff = (now - chrono::Duration::days(TRAVEL_WINDOW_DAYS)).date_naive();
                let region_risk = claims
                    .travel
                    .iter()
                    .any(|e| e.date >= cutoff && self.risk_regions.iter().any(|r| r.eq_ignore_ascii_case(&e.region)));
                if claims.risk || region_risk {
                    match self.travel_risk {
                        RiskAction::Deny => verdict(VerdictKind::Deny, "travel_risk", None, claims),
                        RiskAction::Warn => verdict(VerdictKind::Admit, "ok", Some("travel_risk"), claims),
                    }
                } else {
                    verdict(VerdictKind::Admit, "ok", None, claims)
                }
            }
            PassKind::Badge => {
                let role_ok = claims
                    .badge_role
                    .as_ref()
                    .is_some_and(|r| self.badge_roles.iter().any(|a| a == r));
                if role_ok {
                    verdict(VerdictKind::Admit, "ok", None, claims)
                } else {
                    verdict(VerdictKind::Deny, "badge_not_accepted", None, claims)
                }
            }
        }
    }
}
