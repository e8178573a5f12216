//! Fuzz the QR-text parsers (VP1 and HC1, down to the DCC schema) and the signer-certificate
//! reader: any input must give a result or an error, never a panic, hang or huge allocation
//! (the zlib layer is bounded).
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = passes::vp1::decode_unverified(text);
        // Also exercise the layers below the prefix with arbitrary bytes as base45 text.
        let _ = passes::vp1::decode_unverified(&format!("VP1:{text}"));
        // HC1 runs the same layers, then its own CWT, CBOR→JSON and schema code; with no
        // trusted signer it stops at the key id, so the payload is also parsed on its own.
        let _ = passes::hc1::verify(&format!("HC1:{text}"), &passes::hc1::DscStore::new());
        if let Ok(sign1) = passes::hc1::open(&format!("HC1:{text}")) {
            if let Ok(cwt) = passes::hc1::claims(&sign1) {
                if let Ok(json) = passes::hc1::cbor_to_json(&cwt.hcert) {
                    let _ = passes::hc1::validate_strict(&json);
                }
            }
        }
    }
    // Signer certificates arrive as files and in the server's list: DER, PEM or JSON.
    let _ = passes::hc1::parse_certificates(data);
    // Mutated bytes rarely survive zlib's checksum, so also wrap the input as a well-formed
    // zlib stream: that reaches the COSE and CWT parsers with arbitrary bytes.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    if z.write_all(data).is_ok() {
        if let Ok(zipped) = z.finish() {
            let body = base45::encode(zipped);
            let _ = passes::vp1::decode_unverified(&format!("VP1:{body}"));
            if let Ok(sign1) = passes::hc1::open(&format!("HC1:{body}")) {
                if let Ok(cwt) = passes::hc1::claims(&sign1) {
                    if let Ok(json) = passes::hc1::cbor_to_json(&cwt.hcert) {
                        let _ = passes::hc1::validate_strict(&json);
                    }
                }
            }
        }
    }
});
