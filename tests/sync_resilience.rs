//! Sync that never loses or blocks: a kiosk whose log was reset, a passage the server will
//! never take (a poison pill), a kiosk moved to another venue. Real HTTP on 127.0.0.1, real
//! PostgreSQL, real SQLite files.

mod common;

use common::{record, store_settings as settings, sync_client as client};
use kiosk::store::Store;
use trace_server::testkit::TestServer;

#[test]
fn a_reset_kiosk_keeps_every_passage_on_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiosk.db");
    let server = TestServer::start();
    let c = client(&server.url, &server.add_kiosk("k1", "v1"));

    let mut store = Store::open(&db, settings()).unwrap();
    record(&mut store, 0, 5);
    assert_eq!(c.sync_once(&mut store).unwrap(), 5);
    let first_log = store.log_id().unwrap();
    drop(store);

    // The kiosk is reset (its log wiped, as a re-imaged SD card would be): its sequence
    // starts at 1 again. Those passages are new, not duplicates of the old seq 1..5.
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
    }
    let mut store = Store::open(&db, settings()).unwrap();
    assert_ne!(store.log_id().unwrap(), first_log, "a new log has a new identity");
    record(&mut store, 100, 3);
    assert_eq!(c.sync_once(&mut store).unwrap(), 3);
    assert_eq!(store.pending_sync().unwrap(), 0);
    assert_eq!(server.count("SELECT COUNT(*) FROM passages"), 8, "nothing dropped");
    assert_eq!(
        server.count("SELECT COUNT(DISTINCT log_id) FROM passages WHERE kiosk_id = 'k1'"),
        2
    );
    assert_eq!(c.missing_on_server("k1").unwrap(), vec![], "the new log has no gap");
}

#[test]
fn a_refused_passage_is_parked_and_never_blocks_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiosk.db");
    let server = TestServer::start();
    let c = client(&server.url, &server.add_kiosk("k1", "v1"));
    let mut store = Store::open(&db, settings()).unwrap();
    record(&mut store, 0, 6);
    // A subject holding U+0000 (a damaged row, or a pass crafted to break the server): the
    // server refuses that passage alone.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE passages SET subject = 'bad' || char(0) || 'id' WHERE seq = 2",
            [],
        )
        .unwrap();

    assert_eq!(c.sync_once(&mut store).unwrap(), 6, "the server answered for all six");
    assert_eq!(server.count("SELECT COUNT(*) FROM passages"), 5);
    assert_eq!(store.pending_sync().unwrap(), 0, "nothing is stuck in the queue");
    let parked = store.parked().unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].0, 2);
    assert!(parked[0].1.contains("control"), "{parked:?}");
    assert_eq!(server.count("SELECT rejected FROM kiosks WHERE id = 'k1'"), 1);

    // Later passages still flow; the parked one is not sent again, and it is kept locally
    // through retention (the operator decides about it).
    record(&mut store, 10, 4);
    assert_eq!(c.sync_once(&mut store).unwrap(), 4);
    assert_eq!(server.count("SELECT COUNT(*) FROM passages"), 9);
    store
        .purge_old(chrono::Utc::now() + chrono::Duration::days(400), 1)
        .unwrap();
    assert_eq!(store.parked().unwrap().len(), 1);
}

#[test]
fn a_kiosk_moved_to_another_venue_parks_its_old_backlog_and_syncs_the_new() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiosk.db");
    let server = TestServer::start();
    // Registered at its new venue; three passages from the old one were never synced.
    let c = client(&server.url, &server.add_kiosk("k1", "v2"));
    let mut store = Store::open(&db, settings()).unwrap();
    record(&mut store, 0, 3);
    drop(store);
    let mut moved = settings();
    moved.venue_id = "v2".into();
    let mut store = Store::open(&db, moved).unwrap();
    record(&mut store, 10, 2);

    assert_eq!(c.sync_once(&mut store).unwrap(), 5);
    assert_eq!(server.count("SELECT COUNT(*) FROM passages WHERE venue_id = 'v2'"), 2);
    assert_eq!(store.pending_sync().unwrap(), 0);
    let parked = store.parked().unwrap();
    assert_eq!(parked.iter().map(|p| p.0).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(parked[0].1.contains("venue \"v1\""), "{parked:?}");
}

#[test]
fn cutting_the_newest_passages_out_of_the_log_is_caught_against_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiosk.db");
    let server = TestServer::start();
    let c = client(&server.url, &server.add_kiosk("k1", "v1"));
    let mut store = Store::open(&db, settings()).unwrap();
    record(&mut store, 0, 10);
    assert_eq!(c.sync_once(&mut store).unwrap(), 10);
    let view = c.server_view("k1").unwrap();
    assert_eq!(view.head.as_ref().map(|h| h.0), Some(10));
    assert_eq!(store.check_against_server(&view).unwrap(), None, "in agreement");

    // Someone with the disk removes the last three passages and re-ties the chain head, so
    // the log verifies on its own.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let hash7: String = conn
        .query_row("SELECT hash FROM passages WHERE seq = 7", [], |r| r.get(0))
        .unwrap();
    conn.execute_batch("DELETE FROM passages WHERE seq > 7; UPDATE meta SET value = '7' WHERE key = 'last_seq'")
        .unwrap();
    conn.execute("UPDATE meta SET value = ?1 WHERE key = 'last_hash'", [&hash7])
        .unwrap();
    drop(conn);
    assert_eq!(
        store.verify_chain().unwrap(),
        (7, None),
        "the local chain alone sees nothing"
    );
    let problem = store
        .check_against_server(&c.server_view("k1").unwrap())
        .unwrap()
        .expect("the server's head catches it");
    assert!(problem.contains("#10"), "{problem}");

    // An edited and re-chained row is caught the same way.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE passages SET hash = 'x' || substr(hash, 2) WHERE seq = 7", [])
        .unwrap();
    drop(conn);
    let view = wire::KioskStatus {
        head: Some((7, hash7)),
        ..c.server_view("k1").unwrap()
    };
    assert!(store.check_against_server(&view).unwrap().unwrap().contains("differs"));
}
