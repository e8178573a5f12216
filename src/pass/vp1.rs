//! VP1 passes (`crates/vp1`) mapped into the kiosk's credential model. A VP1 issuer assigns
//! the pseudonymous subject id itself, so that id is the subject key.

use std::sync::Arc;

use ::vp1::{Claims, PassKind, TrustStore};

use super::{Credential, Evidence, Format, PassError, PassFormat};

/// VP1 with its trusted issuers (`[trust.vp1]`).
#[derive(Debug, Clone)]
pub struct Vp1Format {
    pub trust: TrustStore,
}

impl From<Claims> for Credential {
    fn from(c: Claims) -> Credential {
        let evidence = match c.kind {
            PassKind::Health => Evidence::Health { colour: c.health },
            PassKind::Travel => Evidence::Travel {
                entries: c.travel,
                risk: c.risk,
            },
            PassKind::Badge => Evidence::Badge { role: c.badge_role },
        };
        Credential {
            format: Format::Vp1,
            issuer: c.issuer,
            subject: c.subject,
            display_name: c.display_name,
            issued_at: c.issued_at,
            expires_at: c.expires_at,
            evidence,
        }
    }
}

impl From<::vp1::PassError> for PassError {
    fn from(e: ::vp1::PassError) -> PassError {
        match e {
            ::vp1::PassError::NotAPass => PassError::NotAPass(::vp1::PREFIX.into()),
            ::vp1::PassError::Malformed(m) => PassError::Malformed(m),
            ::vp1::PassError::UnknownIssuer(i) => PassError::UnknownIssuer(i),
            ::vp1::PassError::BadSignature => PassError::BadSignature,
        }
    }
}

impl From<&::vp1::PassError> for PassError {
    fn from(e: &::vp1::PassError) -> PassError {
        e.clone().into()
    }
}

impl PassFormat for Vp1Format {
    fn format(&self) -> Format {
        Format::Vp1
    }

    fn prefix(&self) -> &'static str {
        ::vp1::PREFIX
    }

    fn verify(&self, text: &str) -> Result<Credential, PassError> {
        Ok(::vp1::verify(text, &self.trust)?.into())
    }

    fn trusts(&self, issuer: &str) -> bool {
        self.trust.get(issuer).is_some()
    }

    fn with_server_issuers(&self, issuers: &[String]) -> (Arc<dyn PassFormat>, Vec<String>) {
        let mut trust = self.trust.clone();
        let mut refused = Vec::new();
        for text in issuers {
            let mut probe = TrustStore::new();
            match probe.add_public_file(text) {
                // A key pinned in kiosk.toml for this issuer wins over the server's.
                Ok(issuer) if self.trust.get(&issuer).is_some() => {}
                Ok(_) => {
                    let _same_text_parsed_above = trust.add_public_file(text);
                }
                Err(e) => refused.push(format!("trust list (vp1): an issuer key was refused: {e}")),
            }
        }
        (Arc::new(Vp1Format { trust }), refused)
    }
}
