//! Helpers shared by the integration tests: run the real binary, parse its JSON lines.
#![allow(dead_code)]

pub mod kiosk_ui;
pub mod panels;

use std::path::Path;
use std::process::{Command, Output};

pub fn kiosk() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kiosk"));
    c.env_remove("RUST_BACKTRACE");
    c
}

pub fn run_ok(cmd: &mut Command) -> String {
    let out: Output = cmd.output().expect("run kiosk");
    assert!(
        out.status.success(),
        "kiosk failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

pub fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

/// Issues a pass with the CLI into `dir/NAME.png`; returns the QR text.
pub fn issue(dir: &Path, key: &Path, name: &str, extra: &[&str]) -> String {
    let png = dir.join(format!("{name}.png"));
    let text = run_ok(
        kiosk()
            .args(["pass", "issue", "--key"])
            .arg(key)
            .args(["--subject", &format!("subj-{name}"), "--name", "张小三", "--png"])
            .arg(&png)
            .args(extra),
    );
    text.trim().to_string()
}

pub fn keygen(dir: &Path, issuer: &str) {
    run_ok(kiosk().args(["pass", "keygen", "--issuer", issuer, "--out"]).arg(dir));
}

/// Store settings of kiosk k1 at venue v1: automatic direction, no repeat window.
pub fn store_settings() -> kiosk::store::StoreSettings {
    kiosk::store::StoreSettings {
        kiosk_id: "k1".into(),
        venue_id: "v1".into(),
        gate: "g".into(),
        gate_mode: kiosk::gate::GateMode::Auto,
        capacity: None,
        repeat_window: std::time::Duration::from_secs(0),
        visit_max: std::time::Duration::from_secs(8 * 3600),
        shares_room: false,
    }
}

/// The i-th scan of a day: subject `s{i}` with a green code, one second after the previous.
pub fn green_scan(i: u32) -> kiosk::store::ScanInput {
    use chrono::TimeZone;
    let at = chrono::Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap() + chrono::Duration::seconds(i as i64);
    let claims = passes::vp1::Claims::health(
        "iss",
        format!("s{i}"),
        "A*",
        passes::vp1::HealthColour::Green,
        at,
        at + chrono::Duration::hours(2),
    );
    kiosk::store::ScanInput {
        verdict: kiosk::policy::Policy::default().decide(claims, at),
        text: String::new(),
        at,
    }
}

/// Records the scans `from..from + n` (see [`green_scan`]).
pub fn record(store: &mut kiosk::store::Store, from: u32, n: u32) {
    for i in from..from + n {
        store.record_passage(&green_scan(i)).unwrap();
    }
}

/// A sync client for `url` with `token`: batches of 40, a 10 s timeout.
pub fn sync_client(url: &str, token: &str) -> kiosk::sync::SyncClient {
    kiosk::sync::SyncClient::new(&kiosk::config::SyncConfig {
        url: url.into(),
        token: kiosk::config::Secret(token.into()),
        server_key: None,
        interval: std::time::Duration::from_secs(1),
        venue_interval: std::time::Duration::from_secs(5),
        batch_size: 40,
        timeout: std::time::Duration::from_secs(10),
    })
    .unwrap()
}
