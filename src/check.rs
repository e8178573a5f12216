//! From QR text to verdict: the pass format that reads the text verifies it offline, then the
//! venue's policy decides on the credential.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::pass::{Format, Formats, Vp1Format};
use crate::policy::{Policy, Verdict};

/// Checks one QR text read from a frame or typed by staff.
pub fn check_text(text: &str, formats: &Formats, policy: &Policy, now: DateTime<Utc>) -> Verdict {
    match formats.verify(text) {
        Ok(credential) => policy.decide(credential, now),
        Err(e) => Verdict::from_pass_error(&e),
    }
}

/// Text prefixes of the pass formats this kiosk reads, for the camera thread (which picks a
/// text before any format is consulted).
pub const PASS_PREFIXES: &[&str] = &[passes::vp1::PREFIX, passes::hc1::PREFIX];

/// Picks the most useful text when a frame holds several codes: a pass if there is one.
pub fn pick_text(texts: &[String]) -> Option<&str> {
    texts
        .iter()
        .find(|t| PASS_PREFIXES.iter().any(|p| t.trim_start().starts_with(p)))
        .or_else(|| texts.first())
        .map(String::as_str)
}

/// The pass formats (with their trusted issuers) and the policy, as the scan worker sees them:
/// the configuration's, plus the server's signed list once one has been received.
#[derive(Debug, Clone)]
pub struct Rules {
    pub formats: Formats,
    pub policy: Policy,
    /// A time the true time is known to be past: when the server signed the trust list in
    /// use. A kiosk clock that reads earlier is behind (a dead clock battery after a power
    /// cut), and judging at its time would admit expired passes: passes are judged at this
    /// time instead, and the operator is told.
    pub not_before: Option<DateTime<Utc>>,
}

pub type SharedRules = std::sync::Arc<std::sync::RwLock<Rules>>;

impl Rules {
    /// Rules for a kiosk that reads VP1 passes from the issuers in `trust`.
    pub fn vp1(trust: passes::vp1::TrustStore, policy: Policy) -> Rules {
        Rules {
            formats: Formats::new(vec![Arc::new(Vp1Format::new(trust))]),
            policy,
            not_before: None,
        }
    }

    /// The verdict on `text` at `now`, or at `not_before` when the clock reads earlier.
    pub fn judge(&self, text: &str, now: DateTime<Utc>) -> Verdict {
        check_text(text, &self.formats, &self.policy, self.judged_at(now))
    }

    /// The time passes are judged at: the clock's, unless it is provably behind.
    pub fn judged_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.not_before.map_or(now, |t| now.max(t))
    }

    /// What to tell the operator when the clock reads before `not_before` by over a minute.
    pub fn clock_problem(&self, now: DateTime<Utc>) -> Option<String> {
        let t = self.not_before?;
        (t - now > chrono::Duration::minutes(1)).then(|| {
            format!(
                "the kiosk's clock ({}) is behind: the server signed the trust list at {t}; set the clock \
                 (timedatectl / NTP). Passes are judged at the list's time meanwhile",
                now.format("%Y-%m-%d %H:%M:%SZ")
            )
        })
    }

    /// [`Rules::vp1`] with some issuers trusted only for some kinds of pass.
    pub fn vp1_scoped(
        trust: passes::vp1::TrustStore,
        kinds: std::collections::BTreeMap<String, Vec<passes::vp1::PassKind>>,
        policy: Policy,
    ) -> Rules {
        Rules {
            formats: Formats::new(vec![Arc::new(Vp1Format {
                trust,
                kinds: Arc::new(kinds),
            })]),
            policy,
            not_before: None,
        }
    }

    pub fn trusts(&self, format: Format, issuer: &str) -> bool {
        self.formats.trusts(format, issuer)
    }

    /// The configuration's rules with the server's added (never removed: a kiosk's own
    /// kiosk.toml stays authoritative for what it lists, and a key it pins for an issuer wins
    /// over the server's). Also returns the server's issuer keys that could not be used, for
    /// the operator screen.
    pub fn merged(base: &Rules, server: &wire::PolicyDocument) -> (Rules, Vec<String>) {
        let (formats, refused) = base.formats.with_server_trust(server);
        let mut policy = base.policy.clone();
        for r in &server.risk_regions {
            if !policy.risk_regions.contains(r) {
                policy.risk_regions.push(r.clone());
            }
        }
        let not_before = Some(base.not_before.map_or(server.issued_at, |t| t.max(server.issued_at)));
        (
            Rules {
                formats,
                policy,
                not_before,
            },
            refused,
        )
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use wire::VerdictKind;

    use super::*;

    #[test]
    fn a_clock_behind_the_signed_list_judges_at_the_list_time() {
        let key = passes::vp1::IssuerKey::generate("gd-health").unwrap();
        let mut trust = passes::vp1::TrustStore::new();
        trust.add_public_file(&key.to_public_file()).unwrap();
        let base = Rules::vp1(trust, Policy::default());
        let signed_at = Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap();
        // A pass that expired a day before the server signed its list.
        let issued = signed_at - Duration::days(2);
        let claims = passes::vp1::Claims::health(
            "gd-health",
            "p-1",
            "A*",
            passes::vp1::HealthColour::Green,
            issued,
            issued + Duration::hours(24),
        );
        let text = passes::vp1::issue(&key, &claims).unwrap();
        // The kiosk's clock lost power and reads a day and a half before the list was signed.
        let behind = signed_at - Duration::hours(36);
        assert_eq!(
            base.judge(&text, behind).kind,
            VerdictKind::Admit,
            "alone, the clock is believed"
        );
        let list = wire::PolicyDocument {
            version: wire::POLICY_VERSION,
            issued_at: signed_at,
            expires_at: None,
            issuers: Vec::new(),
            formats: Default::default(),
            risk_regions: Vec::new(),
        };
        let (rules, _) = Rules::merged(&base, &list);
        assert_ne!(
            rules.judge(&text, behind).kind,
            VerdictKind::Admit,
            "expired at the list's time"
        );
        assert!(rules.clock_problem(behind).is_some_and(|p| p.contains("behind")));
        // A right clock is used as it is, and raises nothing.
        let right = signed_at + Duration::hours(1);
        assert_eq!(rules.judged_at(right), right);
        assert_eq!(rules.clock_problem(right), None);
    }
}
