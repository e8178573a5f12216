//! The one error type of the pass boundary, with a stable reason code per variant.

/// Why a QR text is not a valid VP1 pass. Each variant maps to a stable reason code that the
/// kiosk logs and shows; the message says what the holder or operator can do about it.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PassError {
    #[error("not a VP1 pass (the text does not start with \"VP1:\"); ask the visitor to open their pass code")]
    NotAPass,
    #[error("the pass text is damaged ({0}); ask the visitor to refresh the code and scan again")]
    Malformed(String),
    #[error("issuer \"{0}\" is not trusted here; add its public key under [trust] in kiosk.toml if it should be")]
    UnknownIssuer(String),
    #[error("the pass signature does not verify: the pass was altered or forged")]
    BadSignature,
}

impl PassError {
    /// Stable machine-readable reason code, used in logs, JSON output and on the server.
    pub fn reason(&self) -> &'static str {
        match self {
            PassError::NotAPass | PassError::Malformed(_) => "malformed",
            PassError::UnknownIssuer(_) => "unknown_issuer",
            PassError::BadSignature => "bad_signature",
        }
    }
}
