//! A kiosk started on a damaged log never writes over it: the file is moved aside, a new log
//! starts, and `kiosk log salvage` recovers what is readable, unsynced passages still unsynced.

mod common;

use std::io::{Seek, SeekFrom, Write};

use chrono::TimeZone;
use common::{green_scan, kiosk, run_ok, store_settings};
use kiosk::store::Store;

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap()
}

/// A log of `n` passages, the first `synced` of them acknowledged by the server.
fn make_log(path: &std::path::Path, n: u32, synced: usize) {
    let mut store = Store::open(path, store_settings()).unwrap();
    for i in 0..n {
        store.record_passage(&green_scan(i)).unwrap();
    }
    let ids: Vec<String> = store
        .sync_backlog(synced)
        .unwrap()
        .into_iter()
        .map(|p| p.event_id)
        .collect();
    store.acknowledge(&ids, &[]).unwrap();
}

fn damaged_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".damaged-") && !p.to_string_lossy().ends_with("-shm"))
        .filter(|p| !p.to_string_lossy().ends_with("-wal"))
        .collect()
}

#[test]
fn a_garbage_page_moves_the_log_aside_and_salvage_recovers_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiosk.db");
    make_log(&db, 600, 400);
    // Garbage over one page in the middle of the file (SQLite pages are 4 KiB here).
    let len = std::fs::metadata(&db).unwrap().len();
    let page = (len / 4096) / 2;
    let mut f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    f.seek(SeekFrom::Start(page * 4096)).unwrap();
    f.write_all(&[0xA5; 4096]).unwrap();
    drop(f);
    let damaged_bytes = std::fs::read(&db).unwrap();

    let (store, moved) = Store::open_for_kiosk(&db, store_settings(), now()).unwrap();
    let moved = moved.expect("a damaged log is noticed");
    assert!(moved.notice().contains("kiosk log salvage"), "{}", moved.notice());
    assert_eq!(
        std::fs::read(&moved.damaged).unwrap(),
        damaged_bytes,
        "the damaged file is kept byte for byte"
    );
    assert_eq!(store.pending_sync().unwrap(), 0, "a fresh log");
    drop(store);

    let cfg = dir.path().join("kiosk.toml");
    std::fs::write(
        &cfg,
        "[kiosk]\nid = \"k1\"\n[venue]\nid = \"v1\"\n[storage]\npath = \"kiosk.db\"\n",
    )
    .unwrap();
    let out = run_ok(
        kiosk()
            .arg("--config")
            .arg(&cfg)
            .args(["log", "salvage"])
            .arg(&moved.damaged),
    );
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let recovered = report["recovered"].as_u64().unwrap();
    let unreadable = report["unreadable"].as_u64().unwrap();
    assert!(recovered >= 500, "{report}");
    assert_eq!(recovered + unreadable, 600, "{report}");
    let store = Store::open(&db, store_settings()).unwrap();
    assert_eq!(
        store.pending_sync().unwrap() as u64,
        report["unsynced"].as_u64().unwrap()
    );
    assert!(
        report["unsynced"].as_u64().unwrap() >= 150,
        "the unsynced tail is back in the queue: {report}"
    );
    assert_eq!(store.verify_chain().unwrap().1, None, "the new log's chain is whole");
    // Run twice: nothing is copied again.
    let again: serde_json::Value = serde_json::from_str(
        run_ok(
            kiosk()
                .arg("--config")
                .arg(&cfg)
                .args(["log", "salvage"])
                .arg(&moved.damaged),
        )
        .trim(),
    )
    .unwrap();
    assert_eq!(again["recovered"], 0);
    assert_eq!(again["already_here"].as_u64().unwrap(), recovered);
}

#[test]
fn a_truncated_or_foreign_file_is_moved_aside_not_written_over() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiosk.db");
    make_log(&db, 300, 0);
    let bytes = std::fs::read(&db).unwrap();
    std::fs::write(&db, &bytes[..bytes.len() / 3]).unwrap();
    let (_store, moved) = Store::open_for_kiosk(&db, store_settings(), now()).unwrap();
    let moved = moved.expect("a truncated log is noticed");
    assert_eq!(std::fs::read(&moved.damaged).unwrap().len(), bytes.len() / 3);

    let other = dir.path().join("other.db");
    std::fs::write(&other, b"this is not a database at all, it is a text file left here").unwrap();
    let (_store, moved) = Store::open_for_kiosk(&other, store_settings(), now()).unwrap();
    assert!(moved.is_some());
    assert_eq!(damaged_files(dir.path()).len(), 2);
}
