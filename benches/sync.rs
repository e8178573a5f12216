//! Sync benchmark: a kiosk backlog sent to the real trace server over loopback, beside a raw
//! `COPY` of the same rows into the same table (the ceiling for ingest).
//!
//! `DATABASE_URL=postgres://… cargo bench --bench sync -- [--rows N] [--batch B]`
//! (scripts/test.sh prints how it starts its throwaway PostgreSQL.)

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use futures_util::SinkExt;
use kiosk::config::{Secret, SyncConfig};
use kiosk::gate::GateMode;
use kiosk::policy::Policy;
use kiosk::store::{ScanInput, Store, StoreSettings};
use trace_server::testkit::{TestServer, fresh_database};

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut rows, mut batch) = (200_000u32, 1000usize);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rows" => rows = args.next().and_then(|v| v.parse().ok()).unwrap_or(rows),
            "--batch" => batch = args.next().and_then(|v| v.parse().ok()).unwrap_or(batch),
            _ => {}
        }
    }
    if std::env::var("DATABASE_URL").is_err() {
        eprintln!("set DATABASE_URL to a PostgreSQL server (see scripts/test.sh)");
        return;
    }
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        std::path::PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let db = dir.join(format!("sync-bench-{}.db", std::process::id()));
    let settings = StoreSettings {
        kiosk_id: "k1".into(),
        venue_id: "v1".into(),
        gate: "g".into(),
        gate_mode: GateMode::Entry,
        capacity: None,
        repeat_window: Duration::ZERO,
        visit_max: Duration::from_secs(72 * 3600),
        shares_room: false,
    };
    let mut store = Store::open(&db, settings).expect("store");
    let t0 = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).single().unwrap_or_default();
    let start = Instant::now();
    for i in 0..rows {
        let at = t0 + chrono::Duration::milliseconds(i as i64 * 200);
        let claims = passes::vp1::Claims::health(
            "iss",
            format!("s{}", i % 100_000),
            "A*",
            passes::vp1::HealthColour::Green,
            at,
            at + chrono::Duration::hours(2),
        );
        let input = ScanInput {
            verdict: Policy::default().decide(claims, at),
            text: String::new(),
            at,
        };
        store.record_passage(&input).expect("record");
    }
    println!("kiosk backlog of {rows} built in {:.1}s", start.elapsed().as_secs_f64());

    let server = TestServer::start();
    let token = server.add_kiosk("k1", "v1");
    let client = kiosk::sync::SyncClient::new(&SyncConfig {
        url: server.url.clone(),
        token: Secret(token),
        server_key: None,
        interval: Duration::from_secs(1),
        venue_interval: std::time::Duration::from_secs(5),
        batch_size: batch,
        timeout: Duration::from_secs(120),
    })
    .expect("client");
    let start = Instant::now();
    let sent = client.sync_once(&mut store).expect("sync");
    let sync_secs = start.elapsed().as_secs_f64();
    assert_eq!(server.count("SELECT COUNT(*) FROM passages"), rows as i64);
    let sync_rate = sent as f64 / sync_secs;
    println!("sync over loopback (batch {batch}): {sent} passages in {sync_secs:.1}s = {sync_rate:.0}/s");

    // Baseline: the same rows, COPY'd straight into a fresh database's passages table.
    let passages = store
        .passages_between(t0 - chrono::Duration::days(1), t0 + chrono::Duration::days(30))
        .expect("read");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let copy_secs = runtime.block_on(async {
        let url = fresh_database().await;
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(conn);
        client.execute("INSERT INTO kiosks (id, venue_id, token_hash) VALUES ('k1', 'v1', 'x')", &[]).await.expect("kiosk");
        let mut text = String::with_capacity(passages.len() * 200);
        for p in &passages {
            text.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                p.event_id, p.kiosk_id, p.venue_id, p.seq, p.gate, p.direction,
                p.subject.as_deref().unwrap_or("\\N"), p.kind.as_deref().unwrap_or("\\N"),
                p.issuer.as_deref().unwrap_or("\\N"), p.health.as_deref().unwrap_or("\\N"),
                p.verdict, p.reason, p.at.to_rfc3339(), p.inferred
            ));
        }
        let start = Instant::now();
        let sink = client
            .copy_in("COPY passages (event_id, kiosk_id, venue_id, seq, gate, direction, subject, kind, issuer, health, verdict, reason, at, inferred) FROM STDIN")
            .await
            .expect("copy");
        futures_util::pin_mut!(sink);
        sink.send(bytes::Bytes::from(text)).await.expect("send");
        sink.finish().await.expect("finish");
        start.elapsed().as_secs_f64()
    });
    let copy_rate = passages.len() as f64 / copy_secs;
    println!(
        "raw COPY of the same rows: {copy_secs:.1}s = {copy_rate:.0}/s; sync/COPY = {:.2}x",
        sync_rate / copy_rate
    );
    for s in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{s}", db.display()));
    }
}
