//! Soak: weeks of a kiosk's life in minutes. 200 000 scans of freshly signed passes go through
//! the scan worker's path (`workers::scan_one`: signature, policy, the store thread's durable
//! commit), one in a hundred first through the live decoder on a camera-like frame; an
//! accelerated clock runs housekeeping (retention purges) every simulated hour and syncs to a
//! real trace server every simulated ten minutes. Prints resident memory and the log's size
//! on disk at the start (after a warm-up), the middle and the end, and their growth.
//!
//! `DATABASE_URL=postgres://… cargo bench --bench soak -- [--scans N] [--days D] [--retention-days R]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use kiosk::check::Rules;
use kiosk::clock::{Clock, FixedClock};
use kiosk::config::{Secret, SyncConfig};
use kiosk::decode::LiveScanner;
use kiosk::framegen::{Difficulty, Rng, camera_frame};
use kiosk::gate::{GateMode, WhenNotRecorded};
use kiosk::policy::Policy;
use kiosk::store::writer::StoreHandle;
use kiosk::store::{Store, StoreSettings};
use kiosk::workers::{Origin, ScanContext, scan_one};
use trace_server::testkit::TestServer;

/// Resident set size of this process, in KiB (Linux).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The log and its WAL, in KiB.
fn db_kib(path: &std::path::Path) -> u64 {
    let size = |p: std::path::PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    (size(path.to_path_buf()) + size(wal.into())) / 1024
}

struct Mark {
    name: &'static str,
    scans: u32,
    rss: u64,
    db: u64,
    day: i64,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut scans, mut days, mut retention) = (200_000u32, 30i64, 7u32);
    while let Some(a) = args.next() {
        let mut value = || args.next().and_then(|v| v.parse::<i64>().ok());
        match a.as_str() {
            "--scans" => scans = value().map_or(scans, |v| v as u32),
            "--days" => days = value().unwrap_or(days),
            "--retention-days" => retention = value().map_or(retention, |v| v as u32),
            _ => {}
        }
    }
    if std::env::var("DATABASE_URL").is_err() {
        eprintln!("set DATABASE_URL to a PostgreSQL server (see scripts/test.sh)");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("soak.db");
    let settings = StoreSettings {
        kiosk_id: "k1".into(),
        venue_id: "v1".into(),
        gate: "g".into(),
        gate_mode: GateMode::Auto,
        capacity: None,
        repeat_window: Duration::from_secs(10),
        visit_max: Duration::from_secs(8 * 3600),
        shares_room: false,
    };
    let (mut store, _thread) = StoreHandle::spawn(Store::open(&db, settings).expect("store"), || {}).expect("thread");
    let key = passes::vp1::IssuerKey::generate("soak-health").expect("key");
    let mut trust = passes::vp1::TrustStore::new();
    trust.add_public_file(&key.to_public_file()).expect("trust");
    let rules = Arc::new(std::sync::RwLock::new(Rules::vp1(trust, Policy::default())));

    // The simulated weeks end now, so the server takes every passage as recent.
    let start_at = Utc::now() - chrono::Duration::days(days);
    let clock = Arc::new(FixedClock::new(start_at));
    let step = chrono::Duration::milliseconds(days * 86_400_000 / scans.max(1) as i64);
    let ctx = ScanContext {
        rules,
        clock: clock.clone(),
        store: store.clone(),
        when_not_recorded: WhenNotRecorded::Refuse,
    };
    let server = TestServer::start();
    let client = kiosk::sync::SyncClient::new(&SyncConfig {
        url: server.url.clone(),
        token: Secret(server.add_kiosk("k1", "v1")),
        server_key: None,
        interval: Duration::from_secs(1),
        venue_interval: std::time::Duration::from_secs(5),
        batch_size: 1000,
        timeout: Duration::from_secs(120),
    })
    .expect("client")
    .with_clock(clock.clone());

    // One camera-like frame of a pass, decoded every hundredth scan (the decoder's memory
    // belongs in the soak too).
    let frame_text = passes::vp1::issue(
        &key,
        &passes::vp1::Claims::health(
            "soak-health",
            "frame",
            "A*",
            passes::vp1::HealthColour::Green,
            start_at,
            start_at,
        ),
    )
    .expect("pass");
    // A frame the live path reads (the soak measures memory over time, not the read rate).
    let mut scanner = LiveScanner::new();
    let frame = (1..50)
        .filter_map(|seed| camera_frame(&frame_text, &mut Rng::new(seed), &Difficulty::default()).ok())
        .find(|f| LiveScanner::new().decode(f).texts.contains(&frame_text))
        .expect("no readable frame in 50 seeds");

    let visitors = 5_000u32;
    let (mut next_sync, mut next_housekeeping) = (start_at, start_at);
    let (mut admitted, mut decoded, mut synced) = (0u64, 0u64, 0usize);
    let mut marks: Vec<Mark> = Vec::new();
    let started = Instant::now();
    for i in 0..scans {
        clock.advance(step);
        let now = clock.now();
        if i % 100 == 0 && scanner.decode(&frame).texts.contains(&frame_text) {
            decoded += 1;
        }
        let claims = passes::vp1::Claims::health(
            "soak-health",
            format!("p-{}", (i.wrapping_mul(2_654_435_761)) % visitors),
            "A*",
            passes::vp1::HealthColour::Green,
            now - chrono::Duration::minutes(30),
            now + chrono::Duration::hours(12),
        );
        let text = passes::vp1::issue(&key, &claims).expect("pass");
        let outcome = scan_one(&ctx, &text, Origin::Camera);
        if outcome.shown().kind == wire::VerdictKind::Admit {
            admitted += 1;
        }
        if now >= next_housekeeping {
            next_housekeeping = now + chrono::Duration::hours(1);
            if let Ok(Err(e)) = store.housekeeping(now, retention).recv() {
                eprintln!("housekeeping failed: {e}");
            }
        }
        if now >= next_sync {
            next_sync = now + chrono::Duration::minutes(10);
            match client.sync_once(&mut store) {
                Ok(n) => synced += n,
                Err(e) => eprintln!("sync failed: {e}"),
            }
        }
        // `warm`: the first scan once retention has begun to purge — from there on the log
        // should hold its size and memory its level (SQLite's page cache is full by then).
        let warm_now = (now - start_at).num_days() >= retention as i64 && !marks.iter().any(|m| m.name == "warm");
        let name = match i + 1 {
            n if n == (scans / 100).max(1) => Some("start"),
            n if n == scans / 2 => Some("middle"),
            n if n == scans => Some("end"),
            _ if warm_now => Some("warm"),
            _ => None,
        };
        if let Some(name) = name {
            marks.push(Mark {
                name,
                scans: i + 1,
                rss: rss_kib(),
                db: db_kib(&db),
                day: (now - start_at).num_days(),
            });
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "soak: {scans} scans over {days} simulated days ({:.0} scans/s real time), retention {retention} days, \
         {admitted} admitted, {decoded} frames decoded, {synced} passages synced",
        scans as f64 / elapsed
    );
    println!(
        "{:<8} {:>8} {:>5} {:>10} {:>10}",
        "mark", "scans", "day", "RSS KiB", "log KiB"
    );
    for m in &marks {
        println!("{:<8} {:>8} {:>5} {:>10} {:>10}", m.name, m.scans, m.day, m.rss, m.db);
    }
    let at = |name: &str| marks.iter().find(|m| m.name == name);
    if let (Some(start), Some(warm), Some(end)) = (at("start"), at("warm"), at("end")) {
        let ratio = |a: u64, b: u64| a as f64 / b.max(1) as f64;
        println!(
            "growth: RSS end/warm {:.3} (goal < 1.10), end/start {:.3} (start includes warm-up); \
             log end/warm {:.3} (levels off once retention purges from day {retention})",
            ratio(end.rss, warm.rss),
            ratio(end.rss, start.rss),
            ratio(end.db, warm.db)
        );
    }
}
