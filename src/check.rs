//! From QR text to verdict: verify the signature offline, then apply the venue's policy.

use chrono::{DateTime, Utc};
use vp1::TrustStore;

use crate::config::Policy;
use crate::policy::Verdict;

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
