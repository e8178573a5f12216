//! The venue's admission policy: from a verified (or refused) pass to a verdict with a reason.

mod dcc;

use std::time::Duration;

use crate::pass::{Credential, Evidence, HealthColour, PassError, PassKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
pub use wire::{Reason, VerdictKind};

pub use self::dcc::DccPolicy;

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
    /// Longest validity (expiry − issue) a badge may have.
    pub badge_max_validity: Duration,
    /// EU DCC rules (`[policy.dcc]`).
    pub dcc: DccPolicy,
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
            badge_max_validity: Duration::from_secs(366 * 86400),
            dcc: DccPolicy::default(),
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
    /// The verified pass, whatever its format; `None` when it did not verify.
    pub credential: Option<Credential>,
    /// For invalid passes: the verifier's full explanation, for the operator log.
    pub detail: Option<String>,
}

impl Verdict {
    pub fn unreadable() -> Verdict {
        Verdict {
            kind: VerdictKind::Unreadable,
            reason: Reason::NoCode,
            warning: None,
            credential: None,
            detail: None,
        }
    }

    pub fn from_pass_error(e: impl Into<PassError>) -> Verdict {
        let e: PassError = e.into();
        Verdict {
            kind: VerdictKind::Invalid,
            reason: e.reason(),
            warning: None,
            credential: None,
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
    /// Decides on a pass whose signature has already been verified, by what it attests.
    pub fn decide(&self, credential: impl Into<Credential>, now: DateTime<Utc>) -> Verdict {
        let c: Credential = credential.into();
        let (kind, reason, warning) = self.judge(&c, now);
        Verdict {
            kind,
            reason,
            warning,
            credential: Some(c),
            detail: None,
        }
    }

    fn judge(&self, c: &Credential, now: DateTime<Utc>) -> (VerdictKind, Reason, Option<Reason>) {
        use VerdictKind::{Admit, Deny, Invalid};
        // Validity of the pass itself comes first: an expired red code is reported as expired.
        if c.expires_at <= now {
            return (Invalid, Reason::Expired, None);
        }
        let skew = chrono::Duration::from_std(self.clock_skew).unwrap_or_default();
        if c.issued_at > now + skew {
            return (Invalid, Reason::NotYetValid, None);
        }
        let max_age = chrono::Duration::from_std(self.max_pass_age).unwrap_or(chrono::Duration::MAX);
        // Badges are long-lived cards, so the freshness window (against screenshots of old
        // health codes) applies to health codes and travel cards only.
        // A DCC is valid for months by design; its own rules say what is too old.
        let is_dcc = matches!(c.evidence, Evidence::Dcc { .. });
        if c.kind() != PassKind::Badge && !is_dcc && now - c.issued_at > max_age {
            return (Invalid, Reason::Stale, None);
        }
        // …and long-lived ones may not be signed for ever.
        let max_validity = chrono::Duration::from_std(self.badge_max_validity).unwrap_or(chrono::Duration::MAX);
        if c.kind() == PassKind::Badge && c.expires_at - c.issued_at > max_validity {
            return (Invalid, Reason::TooLongLived, None);
        }
        if !self.accept_kinds.contains(&c.kind()) {
            return (Deny, Reason::KindNotAccepted, None);
        }
        match &c.evidence {
            Evidence::Health { colour } => match colour {
                Some(colour) if self.health_admit.contains(colour) => (Admit, Reason::Ok, None),
                Some(HealthColour::Red) | None => (Deny, Reason::RedCode, None),
                Some(HealthColour::Yellow) => (Deny, Reason::YellowCode, None),
                Some(HealthColour::Green) => (Deny, Reason::GreenCode, None),
            },
            Evidence::Travel { entries, risk } => {
                let cutoff = (now - chrono::Duration::days(TRAVEL_WINDOW_DAYS)).date_naive();
                let region_risk = entries
                    .iter()
                    .any(|e| e.date >= cutoff && self.risk_regions.iter().any(|r| r.eq_ignore_ascii_case(&e.region)));
                match (*risk || region_risk, self.travel_risk) {
                    (false, _) => (Admit, Reason::Ok, None),
                    (true, RiskAction::Deny) => (Deny, Reason::TravelRisk, None),
                    (true, RiskAction::Warn) => (Admit, Reason::Ok, Some(Reason::TravelRisk)),
                }
            }
            Evidence::Dcc { disease, statement } => {
                let (kind, reason) = self.dcc.judge(disease, statement, now, self.clock_skew);
                (kind, reason, None)
            }
            Evidence::Badge { role } => {
                if role.as_ref().is_some_and(|r| self.badge_roles.iter().any(|a| a == r)) {
                    (Admit, Reason::Ok, None)
                } else {
                    (Deny, Reason::BadgeNotAccepted, None)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn badge(valid_days: i64, now: DateTime<Utc>) -> passes::vp1::Claims {
        let mut c = passes::vp1::Claims::health("site", "w-1", "A*", passes::vp1::HealthColour::Green, now, now);
        c.kind = PassKind::Badge;
        c.health = None;
        c.badge_role = Some("staff".into());
        c.issued_at = now - Duration::days(30);
        c.expires_at = c.issued_at + Duration::days(valid_days);
        c
    }

    #[test]
    fn a_badge_signed_for_years_is_refused() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap();
        let policy = Policy::default();
        let year = policy.decide(badge(365, now), now);
        assert_eq!((year.kind, year.reason), (VerdictKind::Admit, Reason::Ok));
        let decade = policy.decide(badge(3650, now), now);
        assert_eq!(
            (decade.kind, decade.reason),
            (VerdictKind::Invalid, Reason::TooLongLived)
        );
        let tight = Policy {
            badge_max_validity: std::time::Duration::from_secs(90 * 86400),
            ..Policy::default()
        };
        assert_eq!(tight.decide(badge(365, now), now).reason, Reason::TooLongLived);
    }
}
