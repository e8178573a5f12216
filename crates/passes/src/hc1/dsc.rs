//! Document Signer Certificates (DSCs): the X.509 certificates whose keys sign DCCs, how
//! they are read (DER, PEM, base64, or a JSON list of them), their key id, validity and the
//! certificate types their extended key usage allows.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};

/// The three kinds of DCC (one per certificate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CertType {
    Test,
    Vaccination,
    Recovery,
}

impl CertType {
    pub fn as_str(self) -> &'static str {
        match self {
            CertType::Test => "test",
            CertType::Vaccination => "vaccination",
            CertType::Recovery => "recovery",
        }
    }

    /// The extended-key-usage OIDs that limit a DSC to this type; the hcert specification
    /// names two arcs (with and without the `.0` after the enterprise number) and signers use
    /// both.
    fn oids(self) -> [&'static str; 2] {
        match self {
            CertType::Test => ["1.3.6.1.4.1.1847.2021.1.1", "1.3.6.1.4.1.0.1847.2021.1.1"],
            CertType::Vaccination => ["1.3.6.1.4.1.1847.2021.1.2", "1.3.6.1.4.1.0.1847.2021.1.2"],
            CertType::Recovery => ["1.3.6.1.4.1.1847.2021.1.3", "1.3.6.1.4.1.0.1847.2021.1.3"],
        }
    }
}

impl std::str::FromStr for CertType {
    type Err = String;
    fn from_str(s: &str) -> Result<CertType, String> {
        match s {
            "test" => Ok(CertType::Test),
            "vaccination" => Ok(CertType::Vaccination),
            "recovery" => Ok(CertType::Recovery),
            other => Err(format!(
                "unknown certificate type {other:?} (use vaccination, test or recovery)"
            )),
        }
    }
}

/// Why a certificate could not be used as a DSC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DscError {
    #[error("not an X.509 certificate ({0}); give a DER or PEM file, or a JSON list of base64 certificates")]
    NotACertificate(String),
    #[error("the certificate's key is neither EC P-256 nor RSA; DCC signers use ES256 or PS256")]
    UnsupportedKey,
    #[error("no certificate found in the input")]
    Empty,
}

#[derive(Clone)]
pub(crate) enum DscKey {
    P256(p256::ecdsa::VerifyingKey),
    Rsa(rsa::RsaPublicKey),
}

/// One trusted signer certificate.
#[derive(Clone)]
pub struct Dsc {
    der: Vec<u8>,
    kid: [u8; 8],
    pub subject: String,
    /// The subject's country (C=), the country whose authority signs with it.
    pub country: Option<String>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// The types its extended key usage allows; empty = every type.
    pub types: Vec<CertType>,
    pub(crate) key: DscKey,
}

impl fmt::Debug for Dsc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dsc")
            .field("kid", &self.kid_base64())
            .field("subject", &self.subject)
            .field("not_after", &self.not_after)
            .field("types", &self.types)
            .finish_non_exhaustive()
    }
}

impl Dsc {
    pub fn from_der(der: &[u8]) -> Result<Dsc, DscError> {
        let (rest, cert) = X509Certificate::from_der(der).map_err(|e| DscError::NotACertificate(e.to_string()))?;
        // Bytes after the certificate (a trailing newline in a .der file) are not part of it:
        // the key id is the hash of the certificate alone.
        let der = &der[..der.len() - rest.len()];
        let time = |t: i64| DateTime::from_timestamp(t, 0).unwrap_or(DateTime::<Utc>::MIN_UTC);
        let spki = cert.public_key().raw;
        let key = {
            use p256::pkcs8::DecodePublicKey;
            if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(spki) {
                DscKey::P256(k)
            } else if let Ok(k) = rsa::RsaPublicKey::from_public_key_der(spki) {
                DscKey::Rsa(k)
            } else {
                return Err(DscError::UnsupportedKey);
            }
        };
        // A key usage that cannot be read must not read as "no limits".
        let eku: Vec<String> = match cert.extended_key_usage() {
            Ok(Some(ext)) => ext.value.other.iter().map(|o| o.to_id_string()).collect(),
            Ok(None) => Vec::new(),
            Err(e) => {
                return Err(DscError::NotACertificate(format!(
                    "its extended key usage is damaged: {e}"
                )));
            }
        };
        let types = [CertType::Test, CertType::Vaccination, CertType::Recovery]
            .into_iter()
            .filter(|t| t.oids().iter().any(|o| eku.iter().any(|e| e == o)))
            .collect();
        let country = cert
            .subject()
            .iter_country()
            .next()
            .and_then(|c| c.as_str().ok())
            .map(str::to_string);
        Ok(Dsc {
            kid: kid_of(der),
            der: der.to_vec(),
            subject: cert.subject().to_string(),
            country,
            not_before: time(cert.validity().not_before.timestamp()),
            not_after: time(cert.validity().not_after.timestamp()),
            types,
            key,
        })
    }

    /// The COSE key id: the first 8 bytes of the SHA-256 of the DER certificate.
    pub fn kid(&self) -> [u8; 8] {
        self.kid
    }

    pub fn kid_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.kid)
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate as one line of base64 (the trust list's form).
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.der)
    }

    /// Whether its extended key usage lets it sign this type (no DCC OIDs: every type).
    pub fn allows(&self, t: CertType) -> bool {
        self.types.is_empty() || self.types.contains(&t)
    }
}

pub fn kid_of(der: &[u8]) -> [u8; 8] {
    let digest = Sha256::digest(der);
    let mut kid = [0u8; 8];
    kid.copy_from_slice(&digest[..8]);
    kid
}

/// Every certificate in `input`: DER, one or more PEM blocks, bare base64, or a JSON list
/// (of base64 or PEM strings, or of objects holding one under a key such as `rawData`).
pub fn parse_certificates(input: &[u8]) -> Result<Vec<Dsc>, DscError> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    if input.first() == Some(&0x30) {
        return Ok(vec![Dsc::from_der(input)?]);
    }
    let text = std::str::from_utf8(input).map_err(|_| DscError::NotACertificate("neither DER nor text".into()))?;
    let trimmed = text.trim();
    if trimmed.starts_with('[') || trimmed.starts_with('{') {
        let json: serde_json::Value =
            serde_json::from_str(trimmed).map_err(|e| DscError::NotACertificate(format!("bad JSON: {e}")))?;
        let mut found = Vec::new();
        collect_json(&json, &mut found)?;
        return if found.is_empty() {
            Err(DscError::Empty)
        } else {
            Ok(found)
        };
    }
    let found = text_certificates(trimmed)?;
    if found.is_empty() {
        Err(DscError::Empty)
    } else {
        Ok(found)
    }
}

fn collect_json(v: &serde_json::Value, out: &mut Vec<Dsc>) -> Result<(), DscError> {
    match v {
        serde_json::Value::String(s) => out.extend(text_certificates(s)?),
        serde_json::Value::Array(items) => {
            for item in items {
                collect_json(item, out)?;
            }
        }
        serde_json::Value::Object(map) => {
            // A gateway trust-list export also lists CSCA, upload and authentication
            // certificates: only document signers sign DCCs.
            let kind = map.iter().find(|(k, _)| k.eq_ignore_ascii_case("certificateType"));
            if kind.is_some_and(|(_, v)| v.as_str().is_some_and(|t| !t.eq_ignore_ascii_case("DSC"))) {
                return Ok(());
            }
            for item in map.values() {
                if matches!(item, serde_json::Value::String(s) if s.len() < 200) {
                    continue; // names, kids, countries: not certificates
                }
                collect_json(item, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// PEM blocks, or else one base64 certificate.
fn text_certificates(text: &str) -> Result<Vec<Dsc>, DscError> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    if text.contains(BEGIN) {
        for block in text.split(BEGIN).skip(1) {
            let body = block.split(END).next().unwrap_or_default();
            out.push(Dsc::from_der(&base64_decode(body)?)?);
        }
    } else {
        out.push(Dsc::from_der(&base64_decode(text)?)?);
    }
    Ok(out)
}

fn base64_decode(text: &str) -> Result<Vec<u8>, DscError> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean.trim_end_matches('='))
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(clean.trim_end_matches('=')))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(clean.trim_end_matches('=')))
        .map_err(|_| DscError::NotACertificate("not base64".into()))
}

/// The DSCs a kiosk trusts, by key id (two certificates may share one: each is tried).
#[derive(Debug, Clone, Default)]
pub struct DscStore {
    by_kid: BTreeMap<[u8; 8], Vec<Dsc>>,
}

impl DscStore {
    pub fn new() -> DscStore {
        DscStore::default()
    }

    pub fn add(&mut self, dsc: Dsc) {
        let same = self.by_kid.entry(dsc.kid()).or_default();
        if !same.iter().any(|d| d.der == dsc.der) {
            same.push(dsc);
        }
    }

    pub fn get(&self, kid: &[u8]) -> &[Dsc] {
        <[u8; 8]>::try_from(kid)
            .ok()
            .and_then(|k| self.by_kid.get(&k))
            .map_or(&[], Vec::as_slice)
    }

    pub fn len(&self) -> usize {
        self.by_kid.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_kid.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Dsc> {
        self.by_kid.values().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(oids: &[&[u64]]) -> rcgen::Certificate {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(rcgen::DnType::CountryName, "AT");
        params.extended_key_usages = oids
            .iter()
            .map(|o| rcgen::ExtendedKeyUsagePurpose::Other(o.to_vec()))
            .collect();
        params.self_signed(&key).unwrap()
    }

    #[test]
    fn key_id_types_and_every_input_form() {
        let test_only = cert(&[&[1, 3, 6, 1, 4, 1, 0, 1847, 2021, 1, 1]]);
        let der = test_only.der().to_vec();
        let dsc = Dsc::from_der(&der).unwrap();
        assert_eq!(dsc.types, vec![CertType::Test]);
        assert!(dsc.allows(CertType::Test) && !dsc.allows(CertType::Vaccination));
        assert_eq!(dsc.country.as_deref(), Some("AT"));
        assert_eq!(dsc.kid(), kid_of(&der));
        // A trailing newline after the DER does not change the key id.
        let mut padded = der.clone();
        padded.push(b'\n');
        assert_eq!(parse_certificates(&padded).unwrap()[0].kid(), dsc.kid());
        // PEM, bare base64, and a gateway-style JSON list in which only DSCs count.
        assert_eq!(
            parse_certificates(test_only.pem().as_bytes()).unwrap()[0].kid(),
            dsc.kid()
        );
        assert_eq!(
            parse_certificates(dsc.to_base64().as_bytes()).unwrap()[0].kid(),
            dsc.kid()
        );
        let any = cert(&[]);
        let list = serde_json::json!([
            {"certificateType": "DSC", "rawData": dsc.to_base64()},
            {"certificateType": "CSCA", "rawData": Dsc::from_der(any.der()).unwrap().to_base64()},
        ]);
        let found = parse_certificates(list.to_string().as_bytes()).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kid(), dsc.kid());
        // No DCC OIDs: every type.
        assert!(Dsc::from_der(any.der()).unwrap().allows(CertType::Recovery));
        assert!(parse_certificates(b"not a certificate").is_err());
    }
}
