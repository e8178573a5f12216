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
pub const PASS_PREFIXES: &[&str] = &[vp1::PREFIX];

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
}

pub type SharedRules = std::sync::Arc<std::sync::RwLock<Rules>>;

impl Rules {
    /// Rules for a kiosk that reads VP1 passes from the issuers in `trust`.
    pub fn vp1(trust: vp1::TrustStore, policy: Policy) -> Rules {
        Rules {
            formats: Formats::new(vec![Arc::new(Vp1Format { trust })]),
            policy,
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
        (Rules { formats, policy }, refused)
    }
}
