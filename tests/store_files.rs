//! The passage log and its exports are private files, and purged rows do not linger on disk.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{green_scan, store_settings};
use kiosk::store::Store;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_log_its_journal_and_exports_are_readable_by_the_kiosk_user_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiosk.db");
    let mut store = Store::open(&db, store_settings()).unwrap();
    store.record_passage(&green_scan(1)).unwrap();
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(&dir.path().join("kiosk.db-wal")), 0o600);
    drop(store);

    // A log left world-readable by an older kiosk is narrowed when opened.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _store = Store::open(&db, store_settings()).unwrap();
    assert_eq!(mode(&db), 0o600);

    let csv = dir.path().join("day.csv");
    std::fs::write(&csv, "old").unwrap();
    std::fs::set_permissions(&csv, std::fs::Permissions::from_mode(0o644)).unwrap();
    drop(kiosk::store::create_private(&dir.path().join("new.csv")).unwrap());
    assert_eq!(mode(&dir.path().join("new.csv")), 0o600);
}

#[test]
fn purged_subjects_are_not_left_readable_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiosk.db");
    let mut store = Store::open(&db, store_settings()).unwrap();
    for i in 0..50 {
        store.record_passage(&green_scan(i)).unwrap();
    }
    let later = chrono::Utc::now() + chrono::Duration::days(400);
    // Everyone's visit is closed (automatic check-out) and every passage synced: all may go.
    assert_eq!(store.close_overdue_visits(later).unwrap(), 50);
    let ids: Vec<String> = store
        .sync_backlog(1000)
        .unwrap()
        .into_iter()
        .map(|p| p.event_id)
        .collect();
    store.acknowledge(&ids, &[]).unwrap();
    let report = store.purge_old(later, 1).unwrap();
    assert_eq!(report.purged, 100);
    drop(store);
    // Checkpoint the WAL into the main file, then look at every byte of it.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    drop(conn);
    let bytes = std::fs::read(&db).unwrap();
    let needle = b"s17";
    assert!(
        !bytes.windows(needle.len()).any(|w| w == needle),
        "a purged subject id is still readable in the file"
    );
}
