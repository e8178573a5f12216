//! The real sync worker against the real trace server behind a fault-injecting proxy: 500s,
//! lost acknowledgements, a server too slow to answer, a server killed before and after its
//! commit, while the kiosk keeps recording; the server's database (on Citus: the worker with
//! the venue's shard) going away; a server that takes smaller batches than the kiosk sends.
//! Every passage must arrive exactly once.

mod common;
mod faults;

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use common::{green_scan as scan, store_settings as settings};
use faults::{Fault, FaultProxy};
use kiosk::check::Rules;
use kiosk::clock::FixedClock;
use kiosk::config::{Secret, SyncConfig};
use kiosk::policy::Policy;
use kiosk::store::Store;
use kiosk::store::writer::StoreHandle;
use kiosk::sync::SyncStatus;
use trace_server::testkit::TestServer;

#[test]
fn every_passage_arrives_exactly_once_through_500s_slowness_and_kills() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiosk.db");
    let (store, _thread) = StoreHandle::spawn(Store::open(&db, settings()).unwrap(), || {}).unwrap();
    for i in 0..120 {
        store.record(scan(i)).recv().unwrap().unwrap();
    }

    let server = TestServer::start();
    let token = server.add_kiosk("k1", "v1");
    let slow = Duration::from_millis(1500);
    let script = vec![
        Fault::Pass,
        Fault::Fail500,
        Fault::CommitThen500,
        Fault::Slow(slow),
        Fault::Pass,
        Fault::CommitThenDrop,
        Fault::CutRequest,
        Fault::CommitThen500,
        Fault::Pass,
        Fault::Slow(slow),
        Fault::CutRequest,
    ];
    let faults_in_script = script.iter().filter(|f| **f != Fault::Pass).count();
    let proxy = FaultProxy::start(server.addr, script);
    let statuses = spawn_sync(
        (&proxy.url, &token),
        &store,
        dir.path(),
        (25, Duration::from_millis(500)),
    );

    // Scanning goes on while sync fights the faults: every record still commits at once.
    for i in 120..200 {
        let started = Instant::now();
        store.record(scan(i)).recv().unwrap().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "recording waited on sync ({:?})",
            started.elapsed()
        );
        std::thread::sleep(Duration::from_millis(5));
    }

    let deadline = Instant::now() + Duration::from_secs(90);
    let mut errors = Vec::new();
    loop {
        let status = statuses
            .recv_timeout(Duration::from_secs(30))
            .expect("the sync worker reports after every round");
        if let Some(e) = &status.last_error {
            errors.push(e.clone());
        }
        if status.pending == 0 && status.last_error.is_none() && proxy.script_left() == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "still {} pending after 90 s", status.pending);
    }
    assert_eq!(server.count("SELECT COUNT(*) FROM passages"), 200, "exactly once");
    assert_eq!(server.count("SELECT COUNT(DISTINCT event_id) FROM passages"), 200);
    assert_eq!(server.count("SELECT MAX(seq) FROM passages WHERE kiosk_id = 'k1'"), 200);
    assert_eq!(store.pending_sync().recv().unwrap().unwrap(), 0);
    let applied = proxy.seen().iter().filter(|f| **f != Fault::Pass).count();
    assert_eq!(applied, faults_in_script, "every fault was met: {:?}", proxy.seen());
    assert!(
        errors.iter().any(|e| e.contains("500")) && errors.iter().any(|e| e.contains("unreachable")),
        "the operator screen saw the failures: {errors:?}"
    );

    // The server's own gap report agrees: nothing lost.
    let status: serde_json::Value = reqwest::blocking::Client::new()
        .get(format!("{}/v1/kiosks/k1/status", server.url))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(status["gaps"], serde_json::json!([]), "{status}");
    assert_eq!(status["passages"], 200);
}

/// The sync worker as a kiosk runs it, on `store`, against `url`; its statuses come out of the
/// returned channel.
fn spawn_sync(
    (url, token): (&str, &str),
    store: &StoreHandle,
    dir: &std::path::Path,
    (batch_size, timeout): (usize, Duration),
) -> mpsc::Receiver<SyncStatus> {
    let config = SyncConfig {
        url: url.into(),
        token: Secret(token.into()),
        server_key: None,
        interval: Duration::from_millis(50),
        venue_interval: Duration::from_secs(5),
        batch_size,
        timeout,
    };
    let (tx, statuses) = mpsc::channel::<SyncStatus>();
    let clock = Arc::new(FixedClock::new(Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()));
    let base = Rules::vp1(passes::vp1::TrustStore::new(), Policy::default());
    let shared = Arc::new(std::sync::RwLock::new(base.clone()));
    kiosk::sync::spawn(
        kiosk::sync::Gate {
            kiosk_id: "k1".into(),
            capacity: None,
        },
        config,
        store.clone(),
        clock,
        (base, shared, dir.join("policy.json")),
        SyncStatus::default(),
        move |s| {
            let _ = tx.send(s);
        },
    )
    .unwrap();
    statuses
}

/// Waits for a round that left nothing pending and failed in nothing; returns every error the
/// rounds before it reported.
fn until_synced(statuses: &mpsc::Receiver<SyncStatus>, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut errors = Vec::new();
    loop {
        let status = statuses
            .recv_timeout(Duration::from_secs(30))
            .expect("the sync worker reports after every round");
        match status.last_error {
            Some(e) => errors.push(e),
            None if status.pending == 0 => return errors,
            None => {}
        }
        assert!(
            Instant::now() < deadline,
            "still {} pending: {errors:?}",
            status.pending
        );
    }
}

#[test]
fn the_database_or_the_venues_worker_going_away_mid_sync_answers_503_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _thread) =
        StoreHandle::spawn(Store::open(&dir.path().join("kiosk.db"), settings()).unwrap(), || {}).unwrap();
    let server = TestServer::start();
    let token = server.add_kiosk("k1", "v1");
    // On Citus, a kiosk whose venue lives on the other worker must not notice the outage.
    let elsewhere = server
        .venue_elsewhere("v1")
        .map(|venue| (server.add_kiosk("k9", &venue), venue));
    for i in 0..30 {
        store.record(scan(i)).recv().unwrap().unwrap();
    }
    let statuses = spawn_sync((&server.url, &token), &store, dir.path(), (10, Duration::from_secs(10)));
    until_synced(&statuses, Duration::from_secs(60));
    assert_eq!(server.count("SELECT COUNT(*) FROM passages"), 30);

    // The node goes while the kiosk keeps scanning and syncing.
    let outage = server.take_down_node_of("v1");
    let raw = reqwest::blocking::Client::new()
        .post(format!("{}/v1/passages", server.url))
        .bearer_auth(&token)
        .json(&[trace_server::testkit::passage_json(
            "k1",
            "v1",
            999,
            "sub-x",
            "entry",
            Utc::now(),
        )])
        .send()
        .unwrap();
    assert_eq!(raw.status(), 503, "a node away is not the request's fault");
    assert!(raw.headers().contains_key("retry-after"));
    let body: serde_json::Value = raw.json().unwrap();
    assert!(body["error"].as_str().unwrap().contains("send it again"), "{body}");
    if let Some((token, venue)) = &elsewhere {
        // Its clock off by two minutes: the server records the skew (a write to `kiosks`, on
        // every node), which must not turn its stored passage into a failure.
        let skewed = (Utc::now() + chrono::Duration::minutes(2)).to_rfc3339();
        let ok = reqwest::blocking::Client::new()
            .post(format!("{}/v1/passages", server.url))
            .bearer_auth(token)
            .header(wire::routes::KIOSK_CLOCK_HEADER, skewed)
            .json(&[trace_server::testkit::passage_json(
                "k9",
                venue,
                1,
                "sub-y",
                "entry",
                Utc::now(),
            )])
            .send()
            .unwrap();
        assert_eq!(ok.status(), 200, "{}", ok.text().unwrap());
        // Asked of that venue's shard only: the other worker is away.
        let stored = format!("SELECT COUNT(*) FROM passages WHERE venue_id = '{venue}' AND kiosk_id = 'k9'");
        assert_eq!(server.count(&stored), 1);
    }
    for i in 30..60 {
        store.record(scan(i)).recv().unwrap().unwrap();
    }
    // A round may fail before the new passages are queued (asking for the trust list or the
    // gap report): wait for one that failed with passages left to send.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = statuses.recv_timeout(Duration::from_secs(30)).unwrap();
        if let Some(e) = &status.last_error {
            assert!(e.contains("503"), "the kiosk saw the outage as one to retry: {e}");
            if status.pending > 0 {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no round failed with passages queued while the node was away"
        );
    }

    server.end_outage(&outage);
    let errors = until_synced(&statuses, Duration::from_secs(120));
    assert!(
        errors.iter().all(|e| e.contains("503")),
        "only the outage failed: {errors:?}"
    );
    assert_eq!(
        server.count("SELECT COUNT(*) FROM passages WHERE kiosk_id = 'k1'"),
        60,
        "every passage once"
    );
    assert_eq!(
        server.count("SELECT COUNT(DISTINCT seq) FROM passages WHERE kiosk_id = 'k1'"),
        60
    );
    assert_eq!(store.pending_sync().recv().unwrap().unwrap(), 0);
}

#[test]
fn a_batch_too_large_for_the_server_gets_413_and_the_kiosk_sends_it_in_halves() {
    let server = TestServer::start_with(trace_server::api::Limits {
        per_token_per_minute: 0,
        max_batch: 8,
        ..trace_server::api::Limits::default()
    });
    let token = server.add_kiosk("k1", "v1");
    let at = Utc::now();
    let nine: Vec<_> = (1..=9)
        .map(|seq| trace_server::testkit::passage_json("k1", "v1", seq, "sub-x", "entry", at))
        .collect();
    let raw = reqwest::blocking::Client::new()
        .post(format!("{}/v1/passages", server.url))
        .bearer_auth(&token)
        .json(&nine)
        .send()
        .unwrap();
    assert_eq!(raw.status(), 413);
    let body: serde_json::Value = raw.json().unwrap();
    assert!(body["error"].as_str().unwrap().contains("at most 8"), "{body}");
    assert_eq!(
        server.count("SELECT COUNT(*) FROM passages"),
        0,
        "nothing of a refused batch is kept"
    );

    let dir = tempfile::tempdir().unwrap();
    let (store, _thread) =
        StoreHandle::spawn(Store::open(&dir.path().join("kiosk.db"), settings()).unwrap(), || {}).unwrap();
    for i in 0..50 {
        store.record(scan(i)).recv().unwrap().unwrap();
    }
    let statuses = spawn_sync((&server.url, &token), &store, dir.path(), (40, Duration::from_secs(10)));
    let errors = until_synced(&statuses, Duration::from_secs(60));
    assert!(
        errors.is_empty(),
        "splitting is not a failure the operator sees: {errors:?}"
    );
    assert_eq!(server.count("SELECT COUNT(*) FROM passages WHERE kiosk_id = 'k1'"), 50);
    assert_eq!(
        server.count("SELECT COUNT(DISTINCT seq) FROM passages WHERE kiosk_id = 'k1'"),
        50
    );
}

#[test]
fn the_kiosk_refuses_a_batch_size_the_server_would_refuse() {
    assert_eq!(kiosk::config::MAX_SYNC_BATCH, trace_server::api::MAX_BATCH);
}
