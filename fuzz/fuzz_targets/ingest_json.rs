//! Fuzz the trace server's ingest checks: any request body a kiosk token can send must give
//! stored passages or per-passage refusals, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(items) = serde_json::from_slice::<Vec<serde_json::Value>>(data) else { return };
    let now = chrono::Utc::now();
    let _ = trace_server::ingest::check_batch(items, "gate-01", "mall-1", now);
});
