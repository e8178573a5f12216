//! Offline verification cost per pass: VP1 (Ed25519) as the baseline, run in the same process
//! as HC1 with ES256 and PS256 signers from the EU conformance vectors (../shared/dcc-testdata
//! or $DCC_TESTDATA). Prints µs per verify and the ratio to VP1: `cargo bench -p passes`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

fn per_call_us(n: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..n / 10 {
        f(); // warm-up
    }
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

fn vector(name: &str) -> Option<(String, passes::hc1::DscStore)> {
    let dir = std::env::var("DCC_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/dcc-testdata"));
    let case: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("common/2DCode/raw").join(name)).ok()?).ok()?;
    let mut trust = passes::hc1::DscStore::new();
    for dsc in passes::hc1::parse_certificates(case["TESTCTX"]["CERTIFICATE"].as_str()?.as_bytes()).ok()? {
        trust.add(dsc);
    }
    Some((case["PREFIX"].as_str()?.to_string(), trust))
}

fn main() {
    let n = 2_000;
    let key = passes::vp1::IssuerKey::from_seed("bench", [5; 32]);
    let now = chrono::Utc::now();
    let claims = passes::vp1::Claims::health("bench", "p-1", "A*", passes::vp1::HealthColour::Green, now, now);
    let text = passes::vp1::issue(&key, &claims).expect("issue");
    let mut trust = passes::vp1::TrustStore::new();
    trust.add("bench", key.public_key());
    let vp1 = per_call_us(n, || {
        black_box(passes::vp1::verify(black_box(&text), &trust)).ok();
    });
    println!("{:<24} {vp1:8.1} µs/verify   1.00×", "vp1 (Ed25519)");
    for (label, file) in [
        ("hc1 ES256 (CO3)", "CO3.json"),
        ("hc1 PS256 RSA-2048 (CO1)", "CO1.json"),
    ] {
        let Some((text, trust)) = vector(file) else {
            println!("{label}: vector missing (set DCC_TESTDATA)");
            continue;
        };
        assert!(passes::hc1::verify(&text, &trust).is_ok(), "{label} must verify");
        let us = per_call_us(n, || {
            black_box(passes::hc1::verify(black_box(&text), &trust)).ok();
        });
        println!("{label:<24} {us:8.1} µs/verify   {:.2}×", us / vp1);
    }
}
