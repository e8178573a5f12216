//! From QR text to verdict: verify the signature offline, then apply the venue's policy.

use chrono::{DateTime, Utc};
use vp1::TrustStore;

use crate::policy::{Policy, Verdict};

/// Checks one QR text read from a frame or typed by staff.
pub fn check_text(text: &str, trust: &TrustStore, policy: &Policy, now: DateTime<Utc>) -> Verdict {
    match vp1::verify(text, trust) {
        Ok(claims) => policy.decide(claims, now),
        Err(e) => Verdict::from_pass_error(&e),
    }
}

/// Picks the most useful text when a frame holds several codes: a VP1 pass if there is one.
pub fn pick_text(texts: &[String]) -> Option<&str> {
    texts
        .iter()
        .find(|t| t.trim_start().starts_with(vp1::PREFIX))
        .or_else(|| texts.first())
        .map(String::as_str)
}

/// Trusted issuers and policy as the scan worker sees them: the configuration's, plus the
/// server's signed list once one has been received.
#[derive(Debug, Clone)]
pub struct Rules {
    pub trust: vp1::TrustStore,
    pub policy: Policy,
}

pub type SharedRules = std::sync::Arc<std::sync::RwLock<Rules>>;

impl Rules {
    /// The configuration's rules with the server's added (never removed: a kiosk's own
    /// kiosk.toml stays authoritative for what it lists, and a key it pins for an issuer wins
    /// over the server's). Also returns the server's issuer keys that could not be used, for
    /// the operator screen.
    pub fn merged(base: &Rules, server: &wire::PolicyDocument) -> (Rules, Vec<String>) {
        let mut rules = base.clone();
        let mut refused = Vec::new();
        for text in &server.issuers {
            let mut probe = vp1::TrustStore::new();
            match probe.add_public_file(text) {
                Ok(issuer) if base.trust.get(&issuer).is_some() => {}
                Ok(_) => {
                    let _added = rules.trust.add_public_file(text);
                }
                Err(e) => refused.push(format!("trust list: an issuer key was refused: {e}")),
            }
        }
        for r in &server.risk_regions {
            if !rules.policy.risk_regions.contains(r) {
                rules.policy.risk_regions.push(r.clone());
            }
        }
        (rules, refused)
    }
}
