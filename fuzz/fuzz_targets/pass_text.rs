//! Fuzz the QR-text → claims parser: any input must give claims or a `PassError`, never a
//! panic, hang or huge allocation (the zlib layer is bounded).
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = passes::vp1::decode_unverified(text);
        // Also exercise the layers below the prefix with arbitrary bytes as base45 text.
        let _ = passes::vp1::decode_unverified(&format!("VP1:{text}"));
    }
    // Mutated bytes rarely survive zlib's checksum, so also wrap the input as a well-formed
    // zlib stream: that reaches the COSE and CWT parsers with arbitrary bytes.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    if z.write_all(data).is_ok() {
        if let Ok(zipped) = z.finish() {
            let _ = passes::vp1::decode_unverified(&format!("VP1:{}", base45::encode(zipped)));
        }
    }
});
