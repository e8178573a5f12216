//! Passage-log benchmark: durable inserts per second, and the day view / summary on a large log.
//!
//! `cargo bench --bench store -- [--rows N] [--dir DIR]`
//! Inserts go through `record_passage` (one durable transaction each). The insert rate on DIR
//! (default: the system temp folder, a real disk here) is compared with the same run on
//! /dev/shm (RAM: fsync is free), to show what durability costs.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use kiosk::gate::GateMode;
use kiosk::policy::Policy;
use kiosk::store::{ScanInput, Store, StoreSettings};

fn settings() -> StoreSettings {
    StoreSettings {
        kiosk_id: "bench".into(),
        venue_id: "v".into(),
        gate: "g".into(),
        gate_mode: GateMode::Auto,
        capacity: None,
        repeat_window: Duration::from_secs(0),
        visit_max: Duration::from_secs(8 * 3600),
        shares_room: false,
    }
}

fn input(i: u64, at: chrono::DateTime<Utc>) -> ScanInput {
    let colour = if i.is_multiple_of(17) {
        passes::vp1::HealthColour::Yellow
    } else {
        passes::vp1::HealthColour::Green
    };
    let claims = passes::vp1::Claims::health(
        "iss",
        format!("s{:06}", i % 50_000),
        "A*",
        colour,
        at - chrono::Duration::minutes(1),
        at + chrono::Duration::hours(1),
    );
    ScanInput {
        verdict: Policy::default().decide(claims, at),
        text: String::new(),
        at,
    }
}

fn insert_rate(dir: &Path, n: u64) -> f64 {
    let path = dir.join(format!("bench-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut store = Store::open(&path, settings()).expect("open");
    let t0 = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).single().unwrap_or_default();
    let start = Instant::now();
    for i in 0..n {
        store
            .record_passage(&input(i, t0 + chrono::Duration::seconds(i as i64)))
            .expect("insert");
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    drop(store);
    for s in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{s}", path.display()));
    }
    rate
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut rows: u64 = 1_000_000;
    let mut dir = std::env::temp_dir();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rows" => rows = args.next().and_then(|v| v.parse().ok()).unwrap_or(rows),
            "--dir" => dir = args.next().map(PathBuf::from).unwrap_or(dir),
            _ => {}
        }
    }
    let shm = Path::new("/dev/shm");
    let disk_rate = insert_rate(&dir, 2_000);
    println!("durable inserts on {}: {disk_rate:.0}/s", dir.display());
    if shm.is_dir() {
        let ram_rate = insert_rate(shm, 2_000);
        println!(
            "same inserts on /dev/shm (no fsync cost): {ram_rate:.0}/s; disk/ram = {:.2}x",
            disk_rate / ram_rate
        );
    }

    // A large log: `rows` passages over 30 days, built on /dev/shm when present (speed), then
    // queried for one busy day.
    let big_dir = if shm.is_dir() { shm.to_path_buf() } else { dir.clone() };
    let path = big_dir.join(format!("bench-big-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut store = Store::open(&path, settings()).expect("open");
    let t0 = Utc.with_ymd_and_hms(2026, 10, 24, 0, 0, 0).single().unwrap_or_default();
    let step = (30 * 86_400_000 / rows.max(1)) as i64;
    let start = Instant::now();
    for i in 0..rows {
        store
            .record_passage(&input(i, t0 + chrono::Duration::milliseconds(step * i as i64)))
            .expect("insert");
    }
    println!("built {rows} passages in {:.1}s", start.elapsed().as_secs_f64());
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 10).unwrap_or_default();
    let tz = chrono_tz::Asia::Shanghai;
    let time = |f: &mut dyn FnMut() -> usize| {
        let mut ms = Vec::new();
        let mut n = 0;
        for _ in 0..7 {
            let s = Instant::now();
            n = f();
            ms.push(s.elapsed().as_secs_f64() * 1000.0);
        }
        ms.sort_by(f64::total_cmp);
        (ms[3], n)
    };
    let (day_ms, day_rows) = time(&mut || store.day_passages(day, tz).map(|v| v.len()).unwrap_or(0));
    let (sum_ms, _) = time(&mut || store.day_summary(day, tz).map(|s| s.entries as usize).unwrap_or(0));
    println!("day view ({day_rows} passages of {rows}): median {day_ms:.1} ms");
    println!(
        "day summary: median {sum_ms:.1} ms ({:.2}x the day view)",
        sum_ms / day_ms.max(1e-9)
    );
    drop(store);
    for s in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{s}", path.display()));
    }
}
