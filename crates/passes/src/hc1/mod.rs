//! HC1, the EU Digital COVID Certificate's QR form: `HC1:` + base45(zlib(COSE_Sign1(CWT)))
//! signed ES256 or PS256 by a Document Signer Certificate (DSC) named by its key id (the first
//! 8 bytes of the SHA-256 of the DER certificate); the DCC payload sits in claim -260/1.

pub mod conformance;
mod dsc;
mod payload;
mod valuesets;

use base64::Engine;
use chrono::{DateTime, Utc};
use ciborium::Value as Cbor;
use coset::{CoseSign1, CoseSign1Builder, HeaderBuilder, iana};

pub use dsc::{CertType, Dsc, DscError, DscStore, kid_of, parse_certificates};
pub use payload::{
    COVID_19, Dcc, NAAT, NOT_DETECTED, Name, RAPID_ANTIGEN, SchemaError, Statement, cbor_to_json, is_dob,
    is_transliteration, json_to_cbor, same_payload, validate, validate_strict,
};

use crate::envelope::{self, EnvelopeError};

pub const PREFIX: &str = "HC1:";

/// CWT claim keys (RFC 8392) and the DCC's own.
const ISS: i64 = 1;
const EXP: i64 = 4;
const IAT: i64 = 6;
const HCERT: i64 = -260;
const EU_DCC_V1: i64 = 1;

/// Why a text is not a valid HC1 certificate. Messages say what staff can do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Hc1Error {
    #[error("not an HC1 certificate (the text does not start with \"HC1:\")")]
    NotAPass,
    #[error("the certificate text is damaged ({0}); ask the holder to show the code again")]
    Envelope(#[from] EnvelopeError),
    #[error("the certificate is signed with {0}, not ES256 or PS256")]
    Algorithm(String),
    #[error("the certificate names no signer key id")]
    NoKeyId,
    #[error(
        "no trusted signer certificate has key id {0}; add the country's DSC (`kiosk scan --trust-dsc`, `trace-server dsc-add`)"
    )]
    UnknownSigner(String),
    #[error("the certificate's signature does not verify: it was altered or forged")]
    BadSignature,
    #[error("the certificate's claims are damaged ({0})")]
    Claims(String),
    #[error("the certificate does not follow the DCC schema ({0})")]
    Schema(#[from] SchemaError),
    #[error("the signer certificate was not valid when it signed ({0}); the certificate cannot be trusted")]
    SignerNotValidAtSigning(String),
    #[error("the signer certificate may sign only {allowed} certificates, not a {kind} certificate")]
    SignerNotForType { kind: String, allowed: String },
}

/// The CWT around a DCC, before the payload is validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Cwt {
    /// `iss`: the issuing country.
    pub issuer: Option<String>,
    pub issued_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The `hcert` claim's `eu_dcc_v1` entry, as CBOR.
    pub hcert: Cbor,
}

/// A verified, schema-valid HC1 certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct Hc1Pass {
    /// Issuing country from the CWT (else the payload's `co`).
    pub issuer: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The key id, base64 (as the EU gateway lists them).
    pub kid: String,
    /// When the signer certificate itself expires: a certificate is not trusted past it.
    pub signer_not_after: DateTime<Utc>,
    pub dcc: Dcc,
}

/// The pseudonymous id of a DCC holder under a deployment's secret `key`: `hc1:` + 32 hex of
/// HMAC-SHA256 over the transliterated family and given names and the date of birth, as the
/// certificate spells them. The kiosk logs this; a tracer who knows a case's name and birth date
/// computes the same (`trace-server dcc-subject`).
pub fn subject_id(key: &[u8; 32], family_t: &str, given_t: Option<&str>, dob: &str) -> String {
    use hmac::{Hmac, Mac};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return String::new(); // HMAC takes a key of any length
    };
    let given = given_t.unwrap_or_default();
    mac.update(format!("dcc-subject:v1\n{family_t}\n{given}\n{dob}").as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("hc1:{hex}")
}

/// A short fingerprint of a subject key (16 hex of SHA-256 over a label and the key): lets a
/// kiosk check it holds the deployment's key without the server sending the key again.
pub fn subject_key_fingerprint(key: &[u8; 32]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"dcc-subject-key-fingerprint:v1\n");
    h.update(key);
    h.finalize()[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The QR text to its COSE_Sign1; `Err(NotAPass)` for any other prefix.
pub fn open(text: &str) -> Result<CoseSign1, Hc1Error> {
    envelope::open(text, PREFIX).map_err(|e| match e {
        EnvelopeError::Prefix(_) => Hc1Error::NotAPass,
        other => Hc1Error::Envelope(other),
    })
}

/// The key id: the protected header's when it has one (an unprotected one could be swapped by
/// anyone), else the unprotected header's.
pub fn key_id(sign1: &CoseSign1) -> Option<&[u8]> {
    let protected = &sign1.protected.header.key_id;
    let unprotected = &sign1.unprotected.key_id;
    if !protected.is_empty() {
        Some(protected)
    } else if !unprotected.is_empty() {
        Some(unprotected)
    } else {
        None
    }
}

/// Checks the signature against the trusted DSC with the certificate's key id and returns it.
pub fn verify_signature<'a>(sign1: &CoseSign1, trust: &'a DscStore) -> Result<&'a Dsc, Hc1Error> {
    let kid = key_id(sign1).ok_or(Hc1Error::NoKeyId)?;
    let candidates = trust.get(kid);
    if candidates.is_empty() {
        return Err(Hc1Error::UnknownSigner(
            base64::engine::general_purpose::STANDARD.encode(kid),
        ));
    }
    // The algorithm belongs in the protected header; some signers put it in the unprotected
    // one. Either way the key's type must match it (an EC key only verifies ES256).
    let alg = match sign1.protected.header.alg.as_ref().or(sign1.unprotected.alg.as_ref()) {
        Some(coset::RegisteredLabelWithPrivate::Assigned(a)) => *a,
        other => return Err(Hc1Error::Algorithm(format!("{other:?}"))),
    };
    if !matches!(alg, iana::Algorithm::ES256 | iana::Algorithm::PS256) {
        return Err(Hc1Error::Algorithm(format!("{alg:?}")));
    }
    candidates
        .iter()
        .find(|dsc| {
            sign1
                .verify_signature(b"", |sig, data| check(alg, &dsc.key, sig, data))
                .is_ok()
        })
        .ok_or(Hc1Error::BadSignature)
}

fn check(alg: iana::Algorithm, key: &dsc::DscKey, sig: &[u8], data: &[u8]) -> Result<(), ()> {
    use p256::ecdsa::signature::Verifier;
    match (alg, key) {
        (iana::Algorithm::ES256, dsc::DscKey::P256(k)) => {
            let sig = p256::ecdsa::Signature::from_slice(sig).map_err(|_| ())?;
            k.verify(data, &sig).map_err(|_| ())
        }
        (iana::Algorithm::PS256, dsc::DscKey::Rsa(k)) => {
            let vk = rsa::pss::VerifyingKey::<sha2::Sha256>::new(k.clone());
            let sig = rsa::pss::Signature::try_from(sig).map_err(|_| ())?;
            vk.verify(data, &sig).map_err(|_| ())
        }
        _ => Err(()),
    }
}

/// The CWT claims of a COSE_Sign1 (not yet verified).
pub fn claims(sign1: &CoseSign1) -> Result<Cwt, Hc1Error> {
    let bad = |m: &str| Hc1Error::Claims(m.to_string());
    let payload = sign1.payload.as_deref().ok_or_else(|| bad("no payload"))?;
    let cbor: Cbor = ciborium::from_reader(payload).map_err(|_| bad("the payload is not CBOR"))?;
    let Cbor::Map(entries) = cbor else {
        return Err(bad("the payload is not a CWT claim map"));
    };
    let get = |key: i64| {
        entries
            .iter()
            .find(|(k, _)| k.as_integer().is_some_and(|i| i128::from(i) == key as i128))
            .map(|(_, v)| v)
    };
    let time = |key: i64, name: &str| -> Result<Option<DateTime<Utc>>, Hc1Error> {
        let Some(v) = get(key) else { return Ok(None) };
        let secs = match v {
            Cbor::Integer(i) => i64::try_from(i128::from(*i)).ok(),
            Cbor::Float(f) if f.is_finite() => Some(*f as i64),
            _ => None,
        };
        secs.and_then(|s| DateTime::from_timestamp(s, 0))
            .map(Some)
            .ok_or_else(|| Hc1Error::Claims(format!("{name} is not a time")))
    };
    let issuer = match get(ISS) {
        None => None,
        Some(Cbor::Text(t)) => Some(t.clone()),
        Some(_) => return Err(bad("the issuer is not text")),
    };
    let hcert = match get(HCERT) {
        Some(Cbor::Map(m)) => m
            .iter()
            .find(|(k, _)| k.as_integer().is_some_and(|i| i128::from(i) == EU_DCC_V1 as i128))
            .map(|(_, v)| v.clone())
            .ok_or_else(|| bad("the hcert claim holds no eu_dcc_v1 entry"))?,
        Some(_) => return Err(bad("the hcert claim is not a map")),
        None => return Err(bad("no hcert claim (-260)")),
    };
    Ok(Cwt {
        issuer,
        issued_at: time(IAT, "issued-at")?,
        expires_at: time(EXP, "expiry")?,
        hcert,
    })
}

/// Verifies an HC1 text offline: signature against the trusted DSCs, the DSC's validity at
/// signing and its key usage for the certificate's type, the CWT and the payload schema.
/// Expiry against the current time is the policy's (it needs the kiosk's clock); the pass's
/// expiry is capped at the signer's.
pub fn verify(text: &str, trust: &DscStore) -> Result<Hc1Pass, Hc1Error> {
    let sign1 = open(text)?;
    let signer = verify_signature(&sign1, trust)?;
    let cwt = claims(&sign1)?;
    let json = cbor_to_json(&cwt.hcert).map_err(Hc1Error::Claims)?;
    let dcc = validate(&json)?;
    let issued_at = cwt.issued_at.ok_or_else(|| Hc1Error::Claims("no issued-at".into()))?;
    let expires_at = cwt.expires_at.ok_or_else(|| Hc1Error::Claims("no expiry".into()))?;
    if issued_at < signer.not_before || issued_at > signer.not_after {
        return Err(Hc1Error::SignerNotValidAtSigning(format!(
            "signed {issued_at}, signer valid {} to {}",
            signer.not_before, signer.not_after
        )));
    }
    let kind = dcc.statement.cert_type();
    if !signer.allows(kind) {
        return Err(Hc1Error::SignerNotForType {
            kind: kind.as_str().into(),
            allowed: signer.types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "),
        });
    }
    Ok(Hc1Pass {
        issuer: cwt.issuer.unwrap_or_else(|| dcc.country.clone()),
        issued_at,
        expires_at,
        kid: signer.kid_base64(),
        signer_not_after: signer.not_after,
        dcc,
    })
}

/// A DSC's private half, for issuing test certificates (ES256 only).
pub struct Signer {
    pub key: p256::ecdsa::SigningKey,
    pub kid: [u8; 8],
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// Issues an HC1 text: the payload (JSON) in a CWT signed ES256 by `signer`.
pub fn issue(
    signer: &Signer,
    country: &str,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    dcc: &serde_json::Value,
) -> Result<String, Hc1Error> {
    use p256::ecdsa::signature::Signer as _;
    let cwt = Cbor::Map(vec![
        (Cbor::Integer(ISS.into()), Cbor::Text(country.into())),
        (Cbor::Integer(IAT.into()), Cbor::Integer(issued_at.timestamp().into())),
        (Cbor::Integer(EXP.into()), Cbor::Integer(expires_at.timestamp().into())),
        (
            Cbor::Integer(HCERT.into()),
            Cbor::Map(vec![(Cbor::Integer(EU_DCC_V1.into()), json_to_cbor(dcc))]),
        ),
    ]);
    let mut payload = Vec::new();
    ciborium::into_writer(&cwt, &mut payload).map_err(|e| Hc1Error::Claims(e.to_string()))?;
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::ES256)
        .key_id(signer.kid.to_vec())
        .build();
    let sign1 = CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .create_signature(b"", |data| {
            let sig: p256::ecdsa::Signature = signer.key.sign(data);
            sig.to_bytes().to_vec()
        })
        .build();
    Ok(envelope::seal(sign1, PREFIX)?)
}
