//! `kiosk scan --record` and `kiosk log ...` through the real binary.

mod common;

use common::*;

#[test]
fn record_then_view_summarise_export_and_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    keygen(&dir.join("keys"), "gd");
    let key = dir.join("keys/gd.key");
    let issued = ["--issued-at", "2026-11-22T01:00:00Z"];
    issue(
        dir,
        &key,
        "green",
        &[&["--kind", "health", "--health", "green"][..], &issued].concat(),
    );
    issue(
        dir,
        &key,
        "red",
        &[&["--kind", "health", "--health", "red"][..], &issued].concat(),
    );
    std::fs::write(
        dir.join("kiosk.toml"),
        "[venue]\ntimezone = \"Asia/Shanghai\"\ncapacity = 10\n[trust]\nissuers = [\"keys/gd.pub\"]\n[storage]\npath = \"data/log.db\"\n",
    )
    .unwrap();
    std::fs::create_dir(dir.join("data")).unwrap();
    let cfg = dir.join("kiosk.toml");
    let scan_at = |at: &str, files: &[&str]| {
        let mut c = kiosk();
        c.current_dir(dir)
            .arg("--config")
            .arg(&cfg)
            .args(["scan", "--record", "--at", at])
            .args(files);
        json_lines(&run_ok(&mut c))
    };
    let first = scan_at("2026-11-22T02:00:00Z", &["green.png", "red.png"]);
    assert_eq!(first[0]["direction"], "entry");
    assert_eq!(first[0]["seq"], 1);
    assert_eq!(first[0]["event_id"].as_str().unwrap().len(), 36);
    assert_eq!(first[1]["verdict"], "deny");
    let out = scan_at("2026-11-22T03:30:00Z", &["green.png"]);
    assert_eq!(out[0]["direction"], "exit");
    assert_eq!(out[0]["occupancy"], 0);

    let log = |args: &[&str]| run_ok(kiosk().arg("--config").arg(&cfg).arg("log").args(args));
    let day = log(&["day", "2026-11-22", "--format", "json"]);
    assert_eq!(json_lines(&day).len(), 3);
    let summary: serde_json::Value =
        serde_json::from_str(&log(&["summary", "2026-11-22", "--format", "json"])).unwrap();
    assert_eq!(summary["entries"], 1);
    assert_eq!(summary["exits"], 1);
    assert_eq!(summary["denied_by_reason"]["red_code"], 1);
    assert_eq!(summary["peak_hour"], 10, "02:00 UTC is 10:00 in Shanghai");
    let table = log(&["summary", "2026-11-22"]);
    assert!(table.contains("peak hour        10:00-11:00"), "{table}");
    let csv_path = dir.join("out.csv");
    log(&[
        "export",
        "--from",
        "2026-11-22",
        "--to",
        "2026-11-22",
        "--out",
        csv_path.to_str().unwrap(),
    ]);
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    assert_eq!(csv.lines().count(), 4);
    assert!(csv.contains("2026-11-22 10:00:00,entry,admit,ok,subj-green"), "{csv}");
    assert!(!csv.contains("张小三"), "no full name is ever stored");
    assert!(log(&["verify"]).contains("chain ok: 3 passages"));
}
