//! Issuer signing keys, their public halves, and the set of issuers a kiosk trusts.

use std::collections::BTreeMap;
use std::fmt;

use ed25519_dalek::{SigningKey, VerifyingKey};

const SECRET_TAG: &str = "vp1-secret-key:v1";
const PUBLIC_TAG: &str = "vp1-public-key:v1";

/// Problems with key material. Messages say which file to fix and how.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("issuer id {0:?} is not valid: use 1-64 characters from A-Z a-z 0-9 . _ -")]
    BadIssuerId(String),
    #[error(
        "not a VP1 {expected} key file (expected a line \"{expected_tag}:ISSUER:HEX\"); was it made by `kiosk pass keygen`?"
    )]
    BadFormat {
        expected: &'static str,
        expected_tag: &'static str,
    },
    #[error("the key bytes are not valid hex of 32 bytes")]
    BadKeyBytes,
    #[error("the public key is not a valid Ed25519 point")]
    BadPoint,
    #[error("the document's signature does not verify against the pinned key")]
    BadSignature,
    #[error("could not get randomness from the operating system: {0}")]
    Random(String),
}

/// Issuer ids appear in file names and in the COSE key id, so they are kept to a safe alphabet.
/// The demo issuer's id.
pub const DEMO_ISSUER: &str = "demo-issuer";
const DEMO_SEED: [u8; 32] = *b"venue-kiosk demo issuer, public!";

/// Whether `key` is the demo issuer's public key (whose secret anyone has).
pub fn is_demo_key(key: &VerifyingKey) -> bool {
    *key == IssuerKey::demo().public_key()
}

pub fn valid_issuer_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A secret issuing key with the issuer id it signs for.
pub struct IssuerKey {
    pub issuer: String,
    pub(crate) key: SigningKey,
}

impl fmt::Debug for IssuerKey {
    // Never print secret bytes, even in debug logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerKey")
            .field("issuer", &self.issuer)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl IssuerKey {
    /// Makes a fresh key from the operating system's randomness.
    pub fn generate(issuer: &str) -> Result<Self, KeyError> {
        if !valid_issuer_id(issuer) {
            return Err(KeyError::BadIssuerId(issuer.to_string()));
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Self::from_seed(issuer, seed))
    }

    /// The demo issuer's key. Its seed is public (it is in this source), so a pass it signs
    /// proves nothing: kiosks refuse to trust it outside `--demo`, the trace server refuses to
    /// list it.
    pub fn demo() -> Self {
        IssuerKey::from_seed(DEMO_ISSUER, DEMO_SEED)
    }

    /// A key from a fixed seed: for demos and tests that must be reproducible.
    pub fn from_seed(issuer: &str, seed: [u8; 32]) -> Self {
        IssuerKey {
            issuer: issuer.to_string(),
            key: SigningKey::from_bytes(&seed),
        }
    }

    pub fn public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Text for the `.key` file (secret: the caller writes it with mode 0600).
    pub fn to_secret_file(&self) -> String {
        format!("{SECRET_TAG}:{}:{}\n", self.issuer, hex::encode(self.key.to_bytes()))
    }

    /// Text for the `.pub` file.
    pub fn to_public_file(&self) -> String {
        public_file_text(&self.issuer, &self.public_key())
    }

    pub fn parse_secret_file(text: &str) -> Result<Self, KeyError> {
        let (issuer, bytes) = parse_key_line(text, SECRET_TAG, "secret")?;
        Ok(Self::from_seed(&issuer, bytes))
    }
}

pub fn public_file_text(issuer: &str, key: &VerifyingKey) -> String {
    format!("{PUBLIC_TAG}:{issuer}:{}\n", hex::encode(key.to_bytes()))
}

fn parse_key_line(text: &str, tag: &'static str, expected: &'static str) -> Result<(String, [u8; 32]), KeyError> {
    let bad = || KeyError::BadFormat {
        expected,
        expected_tag: tag,
    };
    let line = text.trim();
    let rest = line
        .strip_prefix(tag)
        .and_then(|r| r.strip_prefix(':'))
        .ok_or_else(bad)?;
    let (issuer, hex_part) = rest.split_once(':').ok_or_else(bad)?;
    if !valid_issuer_id(issuer) {
        return Err(KeyError::BadIssuerId(issuer.to_string()));
    }
    let bytes = hex::decode(hex_part).map_err(|_| KeyError::BadKeyBytes)?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| KeyError::BadKeyBytes)?;
    Ok((issuer.to_string(), bytes))
}

/// The issuers a kiosk accepts passes from, by issuer id (which is also the COSE key id).
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    keys: BTreeMap<String, VerifyingKey>,
}

impl TrustStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, issuer: &str, key: VerifyingKey) {
        self.keys.insert(issuer.to_string(), key);
    }

    /// Adds the key in a `.pub` file's text; returns the issuer id it names.
    pub fn add_public_file(&mut self, text: &str) -> Result<String, KeyError> {
        let (issuer, bytes) = parse_key_line(text, PUBLIC_TAG, "public")?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::BadPoint)?;
        self.add(&issuer, key);
        Ok(issuer)
    }

    pub fn get(&self, issuer: &str) -> Option<&VerifyingKey> {
        self.keys.get(issuer)
    }

    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Signs an arbitrary document (the trace server's trust list) with a key; hex signature.
pub fn sign_document(key: &IssuerKey, document: &[u8]) -> String {
    use ed25519_dalek::Signer;
    hex::encode(key.key.sign(document).to_bytes())
}

/// Verifies a document signature against a public key given as hex (a pinned server key).
pub fn verify_document(public_hex: &str, document: &[u8], signature_hex: &str) -> Result<(), KeyError> {
    let bytes: [u8; 32] = hex::decode(public_hex.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(KeyError::BadKeyBytes)?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::BadPoint)?;
    let sig: [u8; 64] = hex::decode(signature_hex.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(KeyError::BadSignature)?;
    key.verify_strict(document, &ed25519_dalek::Signature::from_bytes(&sig))
        .map_err(|_| KeyError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_and_reject_garbage() {
        let key = IssuerKey::from_seed("gd-health", [7; 32]);
        let again = IssuerKey::parse_secret_file(&key.to_secret_file()).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        assert!(!format!("{key:?}").contains(&hex::encode([7u8; 32])));

        let mut trust = TrustStore::new();
        assert_eq!(trust.add_public_file(&key.to_public_file()).unwrap(), "gd-health");
        assert_eq!(trust.get("gd-health"), Some(&key.public_key()));

        assert!(matches!(
            trust.add_public_file(&key.to_secret_file()),
            Err(KeyError::BadFormat { .. })
        ));
        assert_eq!(
            trust.add_public_file("vp1-public-key:v1:x:abcd"),
            Err(KeyError::BadKeyBytes)
        );
        assert!(matches!(IssuerKey::generate("bad id"), Err(KeyError::BadIssuerId(_))));
    }
}
