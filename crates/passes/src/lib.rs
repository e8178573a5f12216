//! Signed visitor passes read offline: VP1 (this project's own, Ed25519) and the EU Digital
//! COVID Certificate's HC1 (ES256/PS256 under X.509 Document Signer Certificates).
//!
//! Both travel as `PREFIX:` + base45(zlib(COSE_Sign1(CWT claims))); that shared layering
//! lives in [`envelope`]. This crate owns the formats only: whether a valid pass admits its
//! holder is the kiosk's policy, not ours.

pub mod envelope;
pub mod hc1;
pub mod vp1;
