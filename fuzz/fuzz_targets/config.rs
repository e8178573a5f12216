//! Fuzz the kiosk.toml parser and its validation: any text gives a configuration or an error
//! naming the problem, never a panic (durations, ids, URLs, paths, time zones, policy).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = kiosk::config::Config::from_toml(text, std::path::Path::new("/nonexistent/fuzz/kiosk.toml"));
});
