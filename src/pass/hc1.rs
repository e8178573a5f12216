//! EU Digital COVID Certificates (`HC1:`, `crates/passes`) mapped into the kiosk's credential
//! model. A DCC carries the holder's name and date of birth, never a pseudonym: the subject
//! key is a keyed hash of them (HMAC-SHA256 under `[trust.hc1] subject_key`), so the log and
//! the server hold no name, one person's visits link across certificates (each dose or test is
//! a new certificate id), and without the key nobody can test a guessed name against the log.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use passes::hc1::{self, DscStore, Hc1Error, Statement};
use serde::Serialize;

use super::{Credential, Evidence, Format, PassError, PassFormat};

/// The secret the subject key is derived with. Every kiosk of a deployment must hold the same
/// one, or a tracer cannot join one person's visits across kiosks.
#[derive(Clone, PartialEq, Eq)]
pub struct SubjectKey([u8; 32]);

impl std::fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SubjectKey(<secret>)")
    }
}

impl SubjectKey {
    /// From 64 hex characters.
    pub fn from_hex(text: &str) -> Option<SubjectKey> {
        let bytes = hex::decode(text.trim()).ok()?;
        Some(SubjectKey(bytes.try_into().ok()?))
    }

    /// Its fingerprint, to compare with the server's (`whoami` sends it; the key itself only
    /// once per token).
    pub fn fingerprint(&self) -> String {
        hc1::subject_key_fingerprint(&self.0)
    }

    /// A key for this process only: subjects are not comparable with any other run, which is
    /// right for one-off checks (`kiosk scan --trust-dsc` without a configured key).
    pub fn ephemeral() -> SubjectKey {
        let mut key = [0u8; 32];
        // Without randomness the key is all zeros; a one-off check prints no subject anyway.
        let _ = getrandom::fill(&mut key);
        SubjectKey(key)
    }

    /// `hc1:` + 32 hex characters of HMAC-SHA256 over the transliterated name and the date of
    /// birth: stable across a person's certificates, unlinkable without the key.
    pub fn subject(&self, dcc: &hc1::Dcc) -> String {
        hc1::subject_id(&self.0, &dcc.name.family_t, dcc.name.given_t.as_deref(), &dcc.dob)
    }
}

/// What a DCC attests, as policy reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum DccStatement {
    Vaccination {
        dose: u32,
        doses: u32,
        date: NaiveDate,
        /// Medicinal product (EU/1/20/1528 …).
        product: String,
    },
    Test {
        /// LP6464-4 (NAAT/PCR) or LP217198-3 (rapid antigen).
        test_type: String,
        sampled_at: DateTime<Utc>,
        negative: bool,
    },
    Recovery {
        valid_from: NaiveDate,
        valid_until: NaiveDate,
    },
}

impl DccStatement {
    pub fn type_name(&self) -> &'static str {
        match self {
            DccStatement::Vaccination { .. } => "vaccination",
            DccStatement::Test { .. } => "test",
            DccStatement::Recovery { .. } => "recovery",
        }
    }
}

impl From<&Statement> for DccStatement {
    fn from(s: &Statement) -> DccStatement {
        match s {
            Statement::Vaccination {
                dose,
                doses,
                date,
                product,
                ..
            } => DccStatement::Vaccination {
                dose: *dose,
                doses: *doses,
                date: *date,
                product: product.clone(),
            },
            Statement::Test {
                test_type,
                sampled_at,
                result,
            } => DccStatement::Test {
                test_type: test_type.clone(),
                sampled_at: *sampled_at,
                negative: result == hc1::NOT_DETECTED,
            },
            Statement::Recovery {
                valid_from,
                valid_until,
            } => DccStatement::Recovery {
                valid_from: *valid_from,
                valid_until: *valid_until,
            },
        }
    }
}

/// HC1 with its trusted signer certificates (`[trust.hc1] dsc`, `--trust-dsc`, the server's
/// list) and the subject key. Without a key no DCC is accepted: ids keyed per run would split
/// one visitor's entry and exit into two people and could never be traced.
#[derive(Debug, Clone)]
pub struct Hc1Format {
    pub trust: DscStore,
    pub subject_key: Option<SubjectKey>,
}

impl From<Hc1Error> for PassError {
    fn from(e: Hc1Error) -> PassError {
        match e {
            Hc1Error::NotAPass => PassError::NotAPass(hc1::PREFIX.into()),
            Hc1Error::UnknownSigner(kid) => PassError::UnknownIssuer(format!("DSC key id {kid}")),
            Hc1Error::BadSignature => PassError::BadSignature,
            Hc1Error::SignerNotValidAtSigning(why) => PassError::SignerNotValid(why),
            Hc1Error::SignerNotForType { kind, allowed } => PassError::SignerNotForType { kind, allowed },
            other => PassError::Malformed(other.to_string()),
        }
    }
}

impl PassFormat for Hc1Format {
    fn format(&self) -> Format {
        Format::Hc1
    }

    fn prefix(&self) -> &'static str {
        hc1::PREFIX
    }

    fn verify(&self, text: &str) -> Result<Credential, PassError> {
        let pass = hc1::verify(text, &self.trust)?;
        let Some(key) = &self.subject_key else {
            return Err(PassError::NotConfigured(
                "EU DCCs are not accepted here: [trust.hc1] subject_key is not set in kiosk.toml".into(),
            ));
        };
        let subject = key.subject(&pass.dcc);
        super::check_subject(&subject)?;
        Ok(Credential {
            format: Format::Hc1,
            issuer: pass.issuer,
            subject,
            display_name: passes::vp1::mask_name(&pass.dcc.name.transliterated()),
            issued_at: pass.issued_at,
            // A certificate is not trusted past its signer's own expiry.
            expires_at: pass.expires_at.min(pass.signer_not_after),
            evidence: Evidence::Dcc {
                disease: pass.dcc.disease.clone(),
                statement: (&pass.dcc.statement).into(),
            },
        })
    }

    fn trusts(&self, issuer: &str) -> bool {
        self.trust.iter().any(|d| d.country.as_deref() == Some(issuer))
    }

    fn with_server_issuers(&self, section: &wire::FormatTrust) -> (Arc<dyn PassFormat>, Vec<String>) {
        let mut trust = self.trust.clone();
        let mut refused = Vec::new();
        for text in &section.issuers {
            match hc1::parse_certificates(text.as_bytes()) {
                Ok(list) => list.into_iter().for_each(|d| trust.add(d)),
                Err(e) => refused.push(format!("trust list (hc1): a signer certificate was refused: {e}")),
            }
        }
        (
            Arc::new(Hc1Format {
                trust,
                subject_key: self.subject_key.clone(),
            }),
            refused,
        )
    }
}
