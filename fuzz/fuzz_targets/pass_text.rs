//! Fuzz the QR-text → claims parser: any input must give claims or a `PassError`, never a
//! panic, hang or huge allocation (the zlib layer is bounded).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = vp1::decode_unverified(text);
        // Also exercise the layers below the prefix with arbitrary bytes as base45 text.
        let _ = vp1::decode_unverified(&format!("VP1:{text}"));
    }
});
