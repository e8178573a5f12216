//! The domain words the kiosk, its screens and the server all name: one enum each, one
//! spelling each (the snake_case string is what is stored, sent and looked up in .ftl files).

use serde::{Deserialize, Serialize};

/// A word from outside that none of the enums here knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownWord {
    pub what: &'static str,
    pub found: String,
    pub expected: &'static [&'static str],
}

impl std::fmt::Display for UnknownWord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown {} {:?} (expected one of: {})",
            self.what,
            self.found,
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for UnknownWord {}

/// Declares a string-backed enum: `as_str`, `ALL`, `FromStr` and serde in the same spelling.
macro_rules! words {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order (for tests that every word has a message).
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                // `pad`, so table widths such as `{:<8}` apply.
                f.pad(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownWord;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(UnknownWord {
                        what: $what,
                        found: other.to_string(),
                        expected: &[$($text,)+],
                    }),
                }
            }
        }
    };
}

words! {
    /// Which way a passage went through the gate.
    Direction, "direction" {
        Entry = "entry",
        Exit = "exit",
    }
}

words! {
    /// The four outcomes the screen and the log know.
    VerdictKind, "verdict" {
        Admit = "admit",
        Deny = "deny",
        /// The pass itself is not valid now (forged, expired, stale, unknown issuer, damaged).
        Invalid = "invalid",
        /// No code could be read at all.
        Unreadable = "unreadable",
    }
}

words! {
    /// Why a passage got its verdict: a stable code (docs/pass-format.md) that is logged, sent
    /// to the server, and shown through `reason-<code>` in assets/i18n.
    Reason, "reason" {
        Ok = "ok",
        /// A verified holder leaving: exits are never refused.
        OkExit = "ok_exit",
        /// A verified holder let out at an exit gate with no entry of theirs open at the venue
        /// (a missed entry scan, or a copied pass): let out all the same, and flagged.
        ExitWithoutEntry = "exit_without_entry",
        /// A visit left open past `[visit] max_hours`, closed by the kiosk.
        AutoCheckout = "auto_checkout",
        /// A visitor who left without scanning, checked out by staff on the operator screen.
        StaffCheckout = "staff_checkout",
        /// Everyone still inside, checked out by staff at closing time.
        ClosingCheckout = "closing_checkout",
        RedCode = "red_code",
        YellowCode = "yellow_code",
        GreenCode = "green_code",
        TravelRisk = "travel_risk",
        Expired = "expired",
        Stale = "stale",
        /// Valid for longer than the policy allows (`[policy] badge_max_days`): a badge
        /// signed for years would outlive its holder's job and any revocation.
        TooLongLived = "too_long_lived",
        NotYetValid = "not_yet_valid",
        BadSignature = "bad_signature",
        UnknownIssuer = "unknown_issuer",
        /// A trusted issuer signed a kind of pass it is not trusted for here (a worksite's
        /// badge key minting health codes).
        IssuerNotForKind = "issuer_not_for_kind",
        Malformed = "malformed",
        /// EU DCC (HC1): the signer certificate's extended key usage does not allow this
        /// type (a test lab's key signing a vaccination).
        DccSignerNotForType = "dcc_signer_not_for_type",
        /// EU DCC: the signer certificate was not valid when it signed.
        DccSignerNotValid = "dcc_signer_not_valid",
        /// EU DCC: not a COVID-19 certificate.
        DccWrongDisease = "dcc_wrong_disease",
        /// EU DCC: the certificate type is not among `[policy.dcc] accept`.
        DccTypeNotAccepted = "dcc_type_not_accepted",
        /// EU DCC: the vaccine is not among `[policy.dcc] vaccines`.
        DccVaccineNotAccepted = "dcc_vaccine_not_accepted",
        /// EU DCC: fewer doses than the series needs (dn < sd).
        DccSeriesIncomplete = "dcc_series_incomplete",
        /// EU DCC: the last dose is more recent than `[policy.dcc] vaccination_min_days`.
        DccVaccinationTooRecent = "dcc_vaccination_too_recent",
        /// EU DCC: the last dose is older than `[policy.dcc] vaccination_max_days`.
        DccVaccinationTooOld = "dcc_vaccination_too_old",
        /// EU DCC: the test sample is older than the policy's hours for its test type.
        DccTestTooOld = "dcc_test_too_old",
        /// EU DCC: the test found the virus.
        DccTestPositive = "dcc_test_positive",
        /// EU DCC: today is outside the recovery certificate's valid-from..valid-until.
        DccRecoveryNotValid = "dcc_recovery_not_valid",
        KindNotAccepted = "kind_not_accepted",
        BadgeNotAccepted = "badge_not_accepted",
        CapacityFull = "capacity_full",
        /// The pass's holder is inside already: a copy of a pass does not let a second
        /// person in.
        AlreadyInside = "already_inside",
        NoCode = "no_code",
        /// Shown, never stored: the passage could not be committed, so the gate stays shut.
        NotRecorded = "not_recorded",
    }
}

impl Reason {
    /// Reasons a visitor is let out with (the exit side of a visit).
    pub fn is_exit(self) -> bool {
        matches!(
            self,
            Reason::OkExit
                | Reason::ExitWithoutEntry
                | Reason::AutoCheckout
                | Reason::StaffCheckout
                | Reason::ClosingCheckout
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_round_trips_through_text_and_json() {
        for r in Reason::ALL {
            assert_eq!(r.as_str().parse::<Reason>(), Ok(*r));
            assert_eq!(serde_json::to_string(r).unwrap(), format!("\"{r}\""));
            assert_eq!(serde_json::from_str::<Reason>(&format!("\"{r}\"")).unwrap(), *r);
        }
        for d in Direction::ALL {
            assert_eq!(d.as_str().parse::<Direction>(), Ok(*d));
            assert_eq!(serde_json::to_string(d).unwrap(), format!("\"{d}\""));
        }
        for v in VerdictKind::ALL {
            assert_eq!(v.as_str().parse::<VerdictKind>(), Ok(*v));
        }
        let e = "sideways".parse::<Direction>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown direction \"sideways\" (expected one of: entry, exit)"
        );
    }
}
