//! The layers VP1 and HC1 share: a text prefix, base45, zlib with a size cap, COSE_Sign1.

use std::io::{Read, Write};

use coset::{CborSerializable, CoseSign1, TaggedCborSerializable};
use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;

/// A QR code holds at most ~4 KB, so anything inflating past this is hostile (a zip bomb).
pub const MAX_INFLATED: u64 = 16 * 1024;

/// Which layer of the envelope is broken; messages name the layer so a tester can tell
/// a damaged print from a wrong key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the text does not start with {0:?}")]
    Prefix(&'static str),
    #[error("not valid base45")]
    Base45,
    #[error("compressed data is corrupt (not zlib)")]
    Compression,
    #[error("payload too large")]
    TooLarge,
    #[error("not a COSE_Sign1 structure")]
    Cose,
}

/// The text after `prefix` (surrounding whitespace ignored).
pub fn unprefix<'a>(text: &'a str, prefix: &'static str) -> Result<&'a str, EnvelopeError> {
    text.trim().strip_prefix(prefix).ok_or(EnvelopeError::Prefix(prefix))
}

pub fn base45_decode(body: &str) -> Result<Vec<u8>, EnvelopeError> {
    base45::decode(body).map_err(|_| EnvelopeError::Base45)
}

/// zlib-inflates at most [`MAX_INFLATED`] bytes.
pub fn inflate(zipped: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    let mut out = Vec::new();
    ZlibDecoder::new(zipped)
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut out)
        .map_err(|_| EnvelopeError::Compression)?;
    if out.len() as u64 > MAX_INFLATED {
        return Err(EnvelopeError::TooLarge);
    }
    Ok(out)
}

pub fn deflate(bytes: &[u8]) -> Vec<u8> {
    let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
    // Writing into a Vec cannot fail.
    let _ = z.write_all(bytes);
    z.finish().unwrap_or_default()
}

/// A COSE_Sign1, tagged (18) or not. A CWT tag (61) around it is accepted too: the DCC
/// vectors carry both forms.
pub fn parse_sign1(bytes: &[u8]) -> Result<CoseSign1, EnvelopeError> {
    let bytes = strip_cwt_tag(bytes);
    CoseSign1::from_tagged_slice(bytes)
        .or_else(|_| CoseSign1::from_slice(bytes))
        .map_err(|_| EnvelopeError::Cose)
}

/// CBOR tag 61 (CWT) is the two bytes D8 3D.
fn strip_cwt_tag(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(&[0xD8, 0x3D]).unwrap_or(bytes)
}

/// From QR text to the COSE_Sign1: prefix, base45, zlib, COSE.
pub fn open(text: &str, prefix: &'static str) -> Result<CoseSign1, EnvelopeError> {
    parse_sign1(&inflate(&base45_decode(unprefix(text, prefix)?)?)?)
}

/// The reverse of [`open`] for a signed COSE_Sign1.
pub fn seal(sign1: CoseSign1, prefix: &str) -> Result<String, EnvelopeError> {
    let cose = sign1.to_tagged_vec().map_err(|_| EnvelopeError::Cose)?;
    Ok(format!("{prefix}{}", base45::encode(deflate(&cose))))
}
