//! The venue's admission policy: from a verified (or refused) pass to a verdict with a reason.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use vp1::{Claims, HealthColour, PassError, PassKind};
pub use wire::{Reason, VerdictKind};

/// What to do when a travel card carries a risk flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RiskAction {
    Deny,
    Warn,
}

/// The venue's admission rules (`[policy]` in kiosk.toml).
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub health_admit: Vec<HealthColour>,
    pub travel_risk: RiskAction,
    /// Regions whose appearance in a travel card's last 14 days counts as a risk, beside the
    /// issuer's own flag. Refreshed from the trace server's signed trust list.
    pub risk_regions: Vec<String>,
    pub max_pass_age: Duration,
    pub accept_kinds: Vec<PassKind>,
    pub badge_roles: Vec<String>,
    /// Clock skew tolerated on a pass's issued-at time.
    pub clock_skew: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            health_admit: vec![HealthColour::Green],
            travel_risk: RiskAction::Deny,
            risk_regions: Vec::new(),
            max_pass_age: Duration::from_secs(24 * 3600),
            accept_kinds: vec![PassKind::Health, PassKind::Travel, PassKind::Badge],
            badge_roles: vec!["staff".into(), "member".into()],
            clock_skew: Duration::from_secs(300),
        }
    }
}

/// A decision about one pass. `reason` is a stable code (see docs/pass-format.md); the
/// screen text for it lives in assets/i18n as `reason-<code>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub kind: VerdictKind,
    pub reason: Reason,
    /// A note for staff on an admitted pass (e.g. `travel_risk` under a warn-only policy);
    /// shown through `reason-<code>_warn`.
    pub warning: Option<Reason>,
    pub claims: Option<Claims>,
    /// For invalid passes: the verifier's full explanation, for the operator log.
    pub detail: Option<String>,
}

impl Verdict {
    pub fn unreadable() -> Verdict {
        Verdict {
            kind: VerdictKind::Unreadable,
            reason: Reason::NoCode,
            warning: None,
            claims: None,
            detail: None,
        }
    }

    pub fn from_pass_error(e: &PassError) -> Verdict {
        Verdict {
            kind: VerdictKind::Invalid,
            reason: reason_of(e),
            warning: None,
            claims: None,
            detail: Some(e.to_string()),
        }
    }

    pub fn is_admit(&self) -> bool {
        self.kind == VerdictKind::Admit
    }
}

/// The reason code of a pass the verifier refused.
fn reason_of(e: &PassError) -> Reason {
    match e {
        PassError::NotAPass | PassError::Malformed(_) => Reason::Malformed,
        PassError::UnknownIssuer(_) => Reason::UnknownIssuer,
        PassError::BadSignature => Reason::BadSignature,
    }
}

/// Travel entries older than this are history the policy ignores.
const TRAVEL_WINDOW_DAYS: i64 = 14;

impl Policy {
    /// Decides on a pass whose signature has already been verified.
    pub fn decide(&self, claims: Claims, now: DateTime<Utc>) -> Verdict {
        let verdict = |kind, reason: Reason, warning, claims| Verdict {
            kind,
            reason,
            warning,
            claims: Some(claims),
            detail: None,
        };
        // Validity of the pass itself comes first: an expired red code is reported as expired.
        if claims.expires_at <= now {
            return verdict(VerdictKind::Invalid, Reason::Expired, None, claims);
        }
        let skew = chrono::Duration::from_std(self.clock_skew).unwrap_or_default();
        if claims.issued_at > now + skew {
            return verdict(VerdictKind::Invalid, Reason::NotYetValid, None, claims);
        }
        let max_age = chrono::Duration::from_std(self.max_pass_age).unwrap_or(chrono::Duration::MAX);
        // Badges are long-lived cards, so the freshness window (against screenshots of old
        // health codes) applies to health codes and travel cards only.
        if claims.kind != PassKind::Badge && now - claims.issued_at > max_age {
            return verdict(VerdictKind::Invalid, Reason::Stale, None, claims);
        }
        if !self.accept_kinds.contains(&claims.kind) {
            return verdict(VerdictKind::Deny, Reason::KindNotAccepted, None, claims);
        }
        match claims.kind {
            PassKind::Health => match claims.health {
                Some(colour) if self.health_admit.contains(&colour) => {
                    verdict(VerdictKind::Admit, Reason::Ok, None, claims)
                }
                Some(HealthColour::Red) | None => verdict(VerdictKind::Deny, Reason::RedCode, None, claims),
                Some(HealthColour::Yellow) => verdict(VerdictKind::Deny, Reason::YellowCode, None, claims),
                Some(HealthColour::Green) => verdict(VerdictKind::Deny, Reason::GreenCode, None, claims),
            },
            PassKind::Travel => {
                let cutoff = (now - chrono::Duration::days(TRAVEL_WINDOW_DAYS)).date_naive();
                let region_risk = claims
                    .travel
                    .iter()
                    .any(|e| e.date >= cutoff && self.risk_regions.iter().any(|r| r.eq_ignore_ascii_case(&e.region)));
                if claims.risk || region_risk {
                    match self.travel_risk {
                        RiskAction::Deny => verdict(VerdictKind::Deny, Reason::TravelRisk, None, claims),
                        RiskAction::Warn => verdict(VerdictKind::Admit, Reason::Ok, Some(Reason::TravelRisk), claims),
                    }
                } else {
                    verdict(VerdictKind::Admit, Reason::Ok, None, claims)
                }
            }
            PassKind::Badge => {
                let role_ok = claims
                    .badge_role
                    .as_ref()
                    .is_some_and(|r| self.badge_roles.iter().any(|a| a == r));
                if role_ok {
                    verdict(VerdictKind::Admit, Reason::Ok, None, claims)
                } else {
                    verdict(VerdictKind::Deny, Reason::BadgeNotAccepted, None, claims)
                }
            }
        }
    }
}
