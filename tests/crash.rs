//! Durability: a recording process killed with SIGKILL mid-burst, many times. Every passage
//! it printed (printing happens only after the commit) must be in the database afterwards,
//! and the file must pass `PRAGMA integrity_check` and the hash-chain check.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use chrono::{TimeZone, Utc};

#[test]
fn sigkill_mid_burst_loses_no_printed_passage() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let key = passes::vp1::IssuerKey::from_seed("crash-test", [4; 32]);
    std::fs::write(dir.join("issuer.pub"), key.to_public_file()).unwrap();
    let at = Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap();
    let mut images = Vec::new();
    for i in 0..12 {
        let claims = passes::vp1::Claims::health(
            "crash-test",
            format!("s{i:03}"),
            "A**",
            passes::vp1::HealthColour::Green,
            at - chrono::Duration::minutes(5),
            at + chrono::Duration::hours(12),
        );
        let path = dir.join(format!("p{i}.png"));
        kiosk::render::write_qr_png(&passes::vp1::issue(&key, &claims).unwrap(), &path).unwrap();
        images.push(path);
    }
    std::fs::write(
        dir.join("kiosk.toml"),
        "[trust]\nissuers = [\"issuer.pub\"]\n[storage]\npath = \"log.db\"\n[scan]\nrepeat_seconds = 0\n",
    )
    .unwrap();

    let mut printed = Vec::new();
    for (round, stop_after) in [3usize, 17, 1, 40, 9, 25].into_iter().enumerate() {
        let mut cmd = common::kiosk();
        cmd.arg("--config")
            .arg(dir.join("kiosk.toml"))
            .args(["scan", "--record", "--at", &at.to_rfc3339()]);
        for _ in 0..10 {
            cmd.args(&images);
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        for _ in 0..stop_after {
            let line = lines.next().expect("a line").unwrap();
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(v["verdict"], "admit", "round {round}: {v}");
            printed.push(v["event_id"].as_str().unwrap().to_string());
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }

    let conn = rusqlite::Connection::open(dir.join("log.db")).unwrap();
    let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");
    for id in &printed {
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM passages WHERE event_id = ?1", [id], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1, "printed passage {id} is missing after SIGKILL");
    }
    drop(conn);
    let out = common::run_ok(
        common::kiosk()
            .arg("--config")
            .arg(dir.join("kiosk.toml"))
            .args(["log", "verify"]),
    );
    assert!(out.contains("chain ok"), "{out}");
}
