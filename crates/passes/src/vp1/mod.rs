//! VP1 visitor passes: the claim set, its signed QR text form, and issuer keys.
//!
//! A pass travels as `VP1:` + base45(zlib(COSE_Sign1(CWT claims))), the same layering as the
//! EU Digital COVID Certificate's `HC1:`, signed with Ed25519. This crate owns the format
//! only: whether a valid pass admits its holder is the kiosk's policy, not ours.

mod claims;
mod codec;
mod error;
mod keys;

pub use claims::{Claims, HealthColour, PassKind, TravelEntry, mask_name};
pub use codec::{PREFIX, decode_unverified, issue, issue_raw, verify};
pub use error::PassError;
pub use keys::{
    DEMO_ISSUER, IssuerKey, KeyError, TrustStore, is_demo_key, sign_document, valid_issuer_id, verify_document,
};
