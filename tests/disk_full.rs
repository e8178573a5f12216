//! A full disk: nothing is shown as recorded, nothing already committed is lost, and the log
//! recovers by itself when space returns. SQLite reports the full disk for real (a page cap on
//! the log's own connection), through the same error path as a full filesystem.

mod common;

use common::{green_scan, store_settings};
use kiosk::store::{Store, StoreError};

fn page_count(store_path: &std::path::Path) -> u64 {
    let conn = rusqlite::Connection::open(store_path).unwrap();
    conn.query_row("PRAGMA page_count", [], |r| r.get::<_, i64>(0)).unwrap() as u64
}

#[test]
fn a_full_disk_records_nothing_loses_nothing_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiosk.db");
    let mut store = Store::open(&db, store_settings()).unwrap();
    for i in 0..40 {
        store.record_passage(&green_scan(i)).unwrap();
    }
    // Checkpoint so the file holds every page, then cap the log where it stands.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    store.cap_pages(Some(page_count(&db))).unwrap();
    let mut refused = 0;
    for i in 40..400 {
        match store.record_passage(&green_scan(i)) {
            Ok(_) => {}
            Err(StoreError::DiskFull) => refused += 1,
            Err(e) => panic!("a full disk must be reported as such, got: {e}"),
        }
    }
    assert!(refused > 0, "the cap was never reached");
    assert!(
        StoreError::DiskFull.to_string().contains("NOT recorded"),
        "the message says nothing was recorded"
    );
    let kept = store.verify_chain().unwrap();
    assert_eq!(kept.1, None, "what was committed before is intact");
    let before = kept.0;

    // Space returns: the next scan is recorded, in sequence, with nothing in between lost.
    store.cap_pages(None).unwrap();
    let next = store.record_passage(&green_scan(1000)).unwrap();
    assert_eq!(next.seq, Some(before as i64 + 1));
    assert_eq!(store.verify_chain().unwrap(), (before + 1, None));
    assert_eq!(store.pending_sync().unwrap() as usize, before + 1);
}
