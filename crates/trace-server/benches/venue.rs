//! The venue round a gate makes every few seconds (`POST /v1/kiosk/venue`: open visits,
//! gates, conflicts and a share, under the venue's lock), over real HTTP against a real
//! PostgreSQL, as the venue's day grows.
//!
//! `DATABASE_URL=postgres://… cargo bench -p trace-server --features testkit --bench venue --
//!  [--gates 4] [--sizes 1000,10000,50000] [--rounds 200]`
//!
//! For each size, that many passages of the last day at one venue (a third of the visitors
//! still inside), then p50/p95 of the round; the baseline is an HTTP round trip to `/healthz`
//! in the same run, so the figures read as ratios on a shared, noisy machine.

use std::time::Instant;

use chrono::{Duration, Utc};
use serde_json::json;
use trace_server::testkit::TestServer;

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

fn percentiles(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((ms.len() as f64 - 1.0) * p).round() as usize];
    (at(0.5), at(0.95))
}

fn timed(rounds: usize, mut f: impl FnMut()) -> (f64, f64) {
    let ms = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    percentiles(ms)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let gates: usize = arg(&args, "--gates", "4").parse().unwrap();
    let rounds: usize = arg(&args, "--rounds", "200").parse().unwrap();
    let sizes: Vec<usize> = arg(&args, "--sizes", "1000,10000,50000")
        .split(',')
        .map(|s| s.parse().unwrap())
        .collect();
    let http = reqwest::blocking::Client::new();
    println!("gates {gates}, {rounds} rounds per size");
    println!(
        "{:>10} {:>10} {:>10} {:>12} {:>12}",
        "passages", "p50 ms", "p95 ms", "p50/healthz", "p95/healthz"
    );
    for size in sizes {
        let server = TestServer::start();
        let tokens: Vec<String> = (0..gates).map(|g| server.add_kiosk(&format!("g{g}"), "mall")).collect();
        // `size` passages over the last 20 hours, spread over the gates: visitors enter, and
        // two in three leave again by some gate.
        let start = Utc::now() - Duration::hours(20);
        let mut seq = vec![0i64; gates];
        let mut batches: Vec<Vec<serde_json::Value>> = vec![Vec::new(); gates];
        let visitors = size * 3 / 5;
        let mut made = 0;
        for v in 0..visitors {
            for (k, direction) in [(v % gates, "entry"), ((v + 1) % gates, "exit")] {
                if made == size || (direction == "exit" && v % 3 == 0) {
                    continue;
                }
                made += 1;
                seq[k] += 1;
                let at = start
                    + Duration::milliseconds(
                        (v as i64 * 72_000_000 / visitors as i64) + (direction == "exit") as i64 * 60_000,
                    );
                batches[k].push(trace_server::testkit::passage_json(
                    &format!("g{k}"),
                    "mall",
                    seq[k],
                    &format!("s{v}"),
                    direction,
                    at,
                ));
            }
        }
        for (k, batch) in batches.iter().enumerate() {
            for chunk in batch.chunks(wire::MAX_BATCH) {
                let r = http
                    .post(format!("{}/v1/passages", server.url))
                    .bearer_auth(&tokens[k])
                    .json(&chunk)
                    .send()
                    .unwrap();
                assert!(r.status().is_success());
            }
        }
        let (h50, h95) = timed(rounds, || {
            assert!(
                http.get(format!("{}/healthz", server.url))
                    .send()
                    .unwrap()
                    .status()
                    .is_success()
            );
        });
        let mut g = 0;
        let (v50, v95) = timed(rounds, || {
            let k = g % gates;
            g += 1;
            let r = http
                .post(format!("{}/v1/kiosk/venue", server.url))
                .bearer_auth(&tokens[k])
                .json(&json!({ "log_id": "ab", "capacity": 100000 }))
                .send()
                .unwrap();
            assert!(r.status().is_success(), "{}", r.text().unwrap_or_default());
        });
        println!(
            "{size:>10} {v50:>10.2} {v95:>10.2} {:>12.1} {:>12.1}",
            v50 / h50.max(0.001),
            v95 / h95.max(0.001)
        );
    }
}
