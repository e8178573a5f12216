//! Fuzz verify + policy with a trusted key: the input is the claim set of a pass signed by an
//! issuer the kiosk trusts, so the claim parsing and every policy rule see hostile contents a
//! forger could never get signed, but a careless or compromised issuer could.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = passes::vp1::IssuerKey::from_seed("fuzz-issuer", [7; 32]);
    let Ok(text) = passes::vp1::issue_raw(&key, data.to_vec()) else { return };
    let mut trust = passes::vp1::TrustStore::new();
    trust.add("fuzz-issuer", key.public_key());
    let rules = kiosk::check::Rules::vp1(trust, kiosk::policy::Policy::default());
    for secs in [0, 1_700_000_000, i64::from(i32::MAX), 253_402_300_799] {
        if let Some(now) = chrono::DateTime::from_timestamp(secs, 0) {
            let _ = rules.judge(&text, now);
        }
    }
});
