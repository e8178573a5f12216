//! VP1 passes (`crates/vp1`) mapped into the kiosk's credential model. A VP1 issuer assigns
//! the pseudonymous subject id itself, so that id is the subject key.

use std::sync::Arc;

use ::passes::vp1::{Claims, PassKind, TrustStore};

use super::{Credential, Evidence, Format, PassError, PassFormat};

/// VP1 with its trusted issuers (`[trust.vp1]`) and, for some of them, the only kinds of
/// pass they are trusted for (`[trust.vp1] kinds`): a worksite's badge key is not a health
/// authority.
#[derive(Debug, Clone)]
pub struct Vp1Format {
    pub trust: TrustStore,
    pub kinds: Arc<std::collections::BTreeMap<String, Vec<PassKind>>>,
}

impl Vp1Format {
    /// Every trusted issuer for every kind.
    pub fn new(trust: TrustStore) -> Vp1Format {
        Vp1Format {
            trust,
            kinds: Arc::default(),
        }
    }
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

impl From<::passes::vp1::PassError> for PassError {
    fn from(e: ::passes::vp1::PassError) -> PassError {
        match e {
            ::passes::vp1::PassError::NotAPass => PassError::NotAPass(::passes::vp1::PREFIX.into()),
            ::passes::vp1::PassError::Malformed(m) => PassError::Malformed(m),
            ::passes::vp1::PassError::UnknownIssuer(i) => PassError::UnknownIssuer(i),
            ::passes::vp1::PassError::BadSignature => PassError::BadSignature,
        }
    }
}

impl From<&::passes::vp1::PassError> for PassError {
    fn from(e: &::passes::vp1::PassError) -> PassError {
        e.clone().into()
    }
}

impl PassFormat for Vp1Format {
    fn format(&self) -> Format {
        Format::Vp1
    }

    fn prefix(&self) -> &'static str {
        ::passes::vp1::PREFIX
    }

    fn verify(&self, text: &str) -> Result<Credential, PassError> {
        let claims = ::passes::vp1::verify(text, &self.trust)?;
        if let Some(allowed) = self.kinds.get(&claims.issuer)
            && !allowed.contains(&claims.kind)
        {
            return Err(PassError::IssuerNotForKind {
                issuer: claims.issuer.clone(),
                kind: claims.kind.as_str().to_string(),
                allowed: match allowed.as_slice() {
                    [] => "no kind".into(),
                    some => some.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "),
                },
            });
        }
        let credential: Credential = claims.into();
        super::check_subject(&credential.subject)?;
        Ok(credential)
    }

    fn trusts(&self, issuer: &str) -> bool {
        self.trust.get(issuer).is_some()
    }

    fn with_server_issuers(&self, section: &wire::FormatTrust) -> (Arc<dyn PassFormat>, Vec<String>) {
        let mut trust = self.trust.clone();
        let mut kinds = (*self.kinds).clone();
        let mut refused = Vec::new();
        // The server's scopes, for issuers kiosk.toml does not scope itself. A scope naming no
        // kind this kiosk knows leaves the issuer trusted for nothing rather than everything.
        let mut scope = |issuer: &str, names: &[String], refused: &mut Vec<String>| {
            if kinds.contains_key(issuer) {
                return;
            }
            let parsed: Vec<PassKind> = names.iter().filter_map(|n| n.parse().ok()).collect();
            if parsed.len() < names.len() {
                refused.push(format!(
                    "trust list (vp1): unknown kinds in the scope of {issuer}: {names:?}"
                ));
            }
            kinds.insert(issuer.to_string(), parsed);
        };
        // An older server's spelling: scopes in a map beside the keys.
        for (issuer, names) in &section.kinds {
            scope(issuer, names, &mut refused);
        }
        let keys = section.issuers.iter().map(|k| (k, None));
        for (text, names) in keys.chain(section.scoped.iter().map(|s| (&s.key, Some(&s.kinds)))) {
            let mut probe = TrustStore::new();
            let issuer = match probe.add_public_file(text) {
                Ok(issuer) => issuer,
                Err(e) => {
                    refused.push(format!("trust list (vp1): an issuer key was refused: {e}"));
                    continue;
                }
            };
            if let Some(names) = names {
                scope(&issuer, names, &mut refused);
            }
            // A key pinned in kiosk.toml for this issuer wins over the server's.
            if self.trust.get(&issuer).is_none() {
                let _same_text_parsed_above = trust.add_public_file(text);
            }
        }
        (
            Arc::new(Vp1Format {
                trust,
                kinds: Arc::new(kinds),
            }),
            refused,
        )
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::pass::{Formats, HealthColour};

    #[test]
    fn a_signed_pass_with_a_hostile_subject_is_refused_as_malformed() {
        let key = ::passes::vp1::IssuerKey::from_seed("iss", [3; 32]);
        let mut trust = TrustStore::new();
        trust.add("iss", key.public_key());
        let formats = Formats::new(vec![Arc::new(Vp1Format::new(trust))]);
        let at = chrono::Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap();
        let pass = |subject: &str| {
            let claims = Claims::health("iss", subject, "A*", HealthColour::Green, at, at);
            ::passes::vp1::issue(&key, &claims).unwrap()
        };
        assert_eq!(formats.verify(&pass("p-001")).unwrap().subject, "p-001");
        for hostile in ["p\u{0}1", "p\u{202E}1", "line\nbreak", ""] {
            let err = formats.verify(&pass(hostile)).unwrap_err();
            assert_eq!(err.reason(), wire::Reason::Malformed, "{hostile:?}: {err}");
        }
        assert!(formats.verify(&pass(&"x".repeat(129))).is_err());
        assert!(matches!(formats.verify("HC1:xyz"), Err(PassError::NotAPass(p)) if p == "VP1:"));
    }

    #[test]
    fn scopes_are_read_from_both_spellings_of_the_servers_list() {
        let key = ::passes::vp1::IssuerKey::from_seed("site", [4; 32]);
        let at = chrono::Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap();
        let health =
            ::passes::vp1::issue(&key, &Claims::health("site", "w-1", "A*", HealthColour::Green, at, at)).unwrap();
        let mut claims = Claims::health("site", "w-1", "A*", HealthColour::Green, at, at);
        claims.kind = PassKind::Badge;
        claims.health = None;
        claims.badge_role = Some("staff".into());
        let badge = ::passes::vp1::issue(&key, &claims).unwrap();
        let base = Vp1Format::new(TrustStore::new());
        let badge_only = vec!["badge".to_string()];
        // This server: the key with its scope, apart from unscoped keys.
        let scoped = wire::FormatTrust {
            scoped: vec![wire::ScopedIssuer {
                key: key.to_public_file(),
                kinds: badge_only.clone(),
            }],
            ..wire::FormatTrust::default()
        };
        // An older server: the key among the others, its scope in a map beside them.
        let older = wire::FormatTrust {
            issuers: vec![key.to_public_file()],
            kinds: [("site".to_string(), badge_only)].into(),
            ..wire::FormatTrust::default()
        };
        for section in [scoped, older] {
            let (merged, refused) = base.with_server_issuers(&section);
            assert!(refused.is_empty(), "{refused:?}");
            assert!(merged.trusts("site"));
            let err = merged.verify(&health).unwrap_err();
            assert_eq!(err.reason(), wire::Reason::IssuerNotForKind, "{err}");
            assert_eq!(merged.verify(&badge).unwrap().subject, "w-1", "trusted for badges");
        }
    }
}
