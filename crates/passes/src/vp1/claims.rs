//! The pass claim set (version 1) and the name masking applied before anything is signed.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// What kind of pass this is; decides which other claims matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PassKind {
    Health,
    Travel,
    Badge,
}

impl PassKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PassKind::Health => "health",
            PassKind::Travel => "travel",
            PassKind::Badge => "badge",
        }
    }
}

impl std::str::FromStr for PassKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "health" => Ok(PassKind::Health),
            "travel" => Ok(PassKind::Travel),
            "badge" => Ok(PassKind::Badge),
            other => Err(format!(
                "unknown pass kind {other:?} (expected health, travel or badge)"
            )),
        }
    }
}

/// Health code colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthColour {
    Green,
    Yellow,
    Red,
}

impl HealthColour {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthColour::Green => "green",
            HealthColour::Yellow => "yellow",
            HealthColour::Red => "red",
        }
    }
}

impl std::str::FromStr for HealthColour {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "green" => Ok(HealthColour::Green),
            "yellow" => Ok(HealthColour::Yellow),
            "red" => Ok(HealthColour::Red),
            other => Err(format!(
                "unknown health colour {other:?} (expected green, yellow or red)"
            )),
        }
    }
}

/// One region visited on one day, as listed on a travel card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TravelEntry {
    pub region: String,
    pub date: NaiveDate,
}

/// The verified content of a pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub issuer: String,
    /// Pseudonymous subject id chosen by the issuer; the only identity the kiosk stores.
    pub subject: String,
    /// Masked name for the screen (张*三, J*** D**); never the full name.
    pub display_name: String,
    pub kind: PassKind,
    pub health: Option<HealthColour>,
    pub travel: Vec<TravelEntry>,
    /// Issuer-set flag: the travel history includes a risk region.
    pub risk: bool,
    /// For badges: the role the badge grants (e.g. "staff", "member").
    pub badge_role: Option<String>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Claims {
    /// A health code of `colour` with no travel history: the commonest pass, and the one
    /// demos, tests and benchmarks mostly need. Other kinds start from this and set fields.
    pub fn health(
        issuer: impl Into<String>,
        subject: impl Into<String>,
        display_name: impl Into<String>,
        colour: HealthColour,
        issued_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Claims {
        Claims {
            issuer: issuer.into(),
            subject: subject.into(),
            display_name: display_name.into(),
            kind: PassKind::Health,
            health: Some(colour),
            travel: Vec::new(),
            risk: false,
            badge_role: None,
            issued_at,
            expires_at,
        }
    }
}

/// Masks a full name so that the holder recognises it and a bystander learns little.
///
/// Han names keep the first and the last character (`张小三` → `张*三`, `张三` → `张*`);
/// Latin names keep each word's initial (`John Doe` → `J*** D**`).
pub fn mask_name(full: &str) -> String {
    let full = full.trim();
    let is_han = full
        .chars()
        .any(|c| !c.is_ascii() && c.is_alphabetic() && !c.is_whitespace())
        && !full.contains(' ');
    if is_han {
        let chars: Vec<char> = full.chars().collect();
        return match chars.len() {
            0 => String::new(),
            1 => "*".to_string(),
            2 => format!("{}*", chars[0]),
            n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
        };
    }
    full.split_whitespace()
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => {
                    let rest = chars.count();
                    format!("{first}{}", "*".repeat(rest))
                }
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_han_and_latin_names() {
        assert_eq!(mask_name("张小三"), "张*三");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳小明"), "欧**明");
        assert_eq!(mask_name("John Doe"), "J*** D**");
        assert_eq!(mask_name("  Ann  "), "A**");
        assert_eq!(mask_name(""), "");
    }
}
