//! Tracing queries at scale, over real HTTP against a real PostgreSQL.
//!
//! `DATABASE_URL=postgres://… cargo bench -p trace-server --bench trace -- [--passages N]
//!  [--venues N] [--subjects N] [--days N] [--queries N] [--ingest N] [--fresh]`
//!
//! Generates the data once into a database named after the spec (`bench_trace_…`) and reuses
//! it on later runs (`--fresh` drops it first). Prints p50/p95 of the contacts query over a
//! 14-day window for random subjects, a day's hotspots, a day's peaks, a venue's day; the
//! baseline is an HTTP round trip to `/healthz` in the same run. Then the ingest rate: `--ingest`
//! passages (default 100 000) through the real path (HTTP, token, checks, counts), against
//! `COPY` of as many rows into the same table in the same run. Pointed at a Citus coordinator
//! (`scripts/citus.sh`), the same figures for the cluster.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use trace_server::auth;
use trace_server::db::Db;
use trace_server::db::synth::Spec;
use trace_server::testkit::{TestServer, admin_url, create_database, passage_json};

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentiles(mut ms: Vec<f64>) -> (f64, f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((ms.len() as f64 - 1.0) * p).round() as usize];
    (at(0.5), at(0.95), at(1.0))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let spec = Spec {
        passages: arg(&args, "--passages", 10_000_000u64),
        venues: arg(&args, "--venues", 2_000u32),
        subjects: arg(&args, "--subjects", 1_000_000u32),
        days: arg(&args, "--days", 14u32),
        start: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
    };
    let queries: usize = arg(&args, "--queries", 100);
    let name = format!(
        "bench_trace_{}_{}_{}_{}",
        spec.passages, spec.venues, spec.subjects, spec.days
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let admin = admin_url();
    let url = runtime.block_on(async {
        let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        if args.iter().any(|a| a == "--fresh") {
            client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
                .await
                .unwrap();
        }
        let exists = client
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .await
            .unwrap()
            .is_some();
        if !exists {
            // On a Citus coordinator, a cluster of its own: the migrations distribute passages.
            create_database(&name).await;
        }
        let mut config: tokio_postgres::Config = admin.parse().unwrap();
        config.dbname(&name);
        let url = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => format!(
                "postgres://{}@{h}:{}/{name}",
                config.get_user().unwrap_or("postgres"),
                config.get_ports().first().copied().unwrap_or(5432)
            ),
            _ => panic!("DATABASE_URL must name a TCP host"),
        };
        let db = Db::connect(&url).unwrap();
        db.migrate().await.unwrap();
        let client = db.pool().get().await.unwrap();
        let citus: Option<String> = client
            .query_one(
                "SELECT (SELECT extversion FROM pg_extension WHERE extname = 'citus')",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        match citus {
            Some(version) => {
                let workers: i64 = client
                    .query_one("SELECT COUNT(*) FROM pg_dist_node WHERE groupid <> 0", &[])
                    .await
                    .unwrap()
                    .get(0);
                println!("engine: Citus {version}, coordinator + {workers} workers");
            }
            None => println!("engine: PostgreSQL, one node"),
        }
        drop(client);
        let have: i64 = db
            .pool()
            .get()
            .await
            .unwrap()
            .query_one("SELECT COUNT(*) FROM passages", &[])
            .await
            .unwrap()
            .get(0);
        if have == 0 {
            println!("generating {spec:?} into {name}");
            let started = Instant::now();
            let n = db
                .generate_synthetic(spec, |done| {
                    eprintln!("  {done} passages, {:.0} s", started.elapsed().as_secs_f64())
                })
                .await
                .unwrap();
            let secs = started.elapsed().as_secs_f64();
            println!(
                "generated {n} passages in {secs:.0} s ({:.0}/s, indexes included)",
                n as f64 / secs
            );
        } else {
            println!("reusing {name}: {have} passages (--fresh to regenerate)");
        }
        url
    });
    let subjects = runtime.block_on(async { Db::connect(&url).unwrap().some_subjects(queries as i64).await.unwrap() });
    let server = TestServer::start_on(runtime, url, None);
    let tracer = format!("bench-{}", auth::new_token("").unwrap());
    let token = server.add_tracer(&tracer);
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let timed = |path: &str| {
        let started = Instant::now();
        let response = http
            .get(format!("{}{path}", server.url))
            .bearer_auth(&token)
            .send()
            .unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.status());
        let body = response.text().unwrap();
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        (ms, serde_json::from_str::<serde_json::Value>(&body).unwrap_or_default())
    };
    let day = |d: u32| {
        let from = spec.start + chrono::Duration::days(d as i64);
        (from.to_rfc3339(), (from + chrono::Duration::days(1)).to_rfc3339())
    };
    let enc = |s: String| s.replace('+', "%2B");
    let window = (
        enc(spec.start.to_rfc3339()),
        enc((spec.start + chrono::Duration::days(spec.days as i64)).to_rfc3339()),
    );

    let (base, _, _) = percentiles((0..50).map(|_| timed("/healthz").0).collect());
    println!("\nbaseline: /healthz round trip p50 {base:.2} ms");

    let mut found = Vec::new();
    let times: Vec<f64> = subjects
        .iter()
        .map(|s| {
            let (ms, body) = timed(&format!(
                "/v1/trace/contacts?case={}&from={}&to={}",
                server.open_case(&tracer, s),
                window.0,
                window.1
            ));
            found.push(body.as_array().map_or(0, |a| a.len()));
            ms
        })
        .collect();
    let (p50, p95, max) = percentiles(times);
    found.sort();
    println!(
        "contacts, {}-day window, {} subjects: p50 {p50:.1} ms  p95 {p95:.1} ms  max {max:.1} ms  ({:.0}x / {:.0}x baseline); contacts per case: median {}, max {}",
        spec.days,
        subjects.len(),
        p50 / base,
        p95 / base,
        found.get(found.len() / 2).copied().unwrap_or(0),
        found.last().copied().unwrap_or(0)
    );

    let days = spec.days.min(7);
    for (label, path) in [
        ("hotspots, one day", "/v1/trace/hotspots"),
        ("peaks, one day", "/v1/trace/peaks"),
    ] {
        let times: Vec<f64> = (0..days)
            .map(|d| {
                let (from, to) = day(d);
                timed(&format!("{path}?from={}&to={}&limit=20", enc(from), enc(to))).0
            })
            .collect();
        let (p50, p95, max) = percentiles(times);
        println!("{label} ({days} days): p50 {p50:.1} ms  p95 {p95:.1} ms  max {max:.1} ms");
    }
    // The console's day: midnight to midnight in Shanghai (whole hours, not UTC days).
    let times: Vec<f64> = (1..days)
        .map(|d| {
            let from = spec.start + chrono::Duration::days(d as i64) - chrono::Duration::hours(8);
            let to = from + chrono::Duration::days(1);
            timed(&format!(
                "/v1/trace/hotspots?from={}&to={}&limit=20",
                enc(from.to_rfc3339()),
                enc(to.to_rfc3339())
            ))
            .0
        })
        .collect();
    let (p50, p95, max) = percentiles(if times.is_empty() { vec![f64::NAN] } else { times });
    println!(
        "hotspots, one Shanghai day ({} days): p50 {p50:.1} ms  p95 {p95:.1} ms  max {max:.1} ms",
        days - 1
    );
    let (ms, _) = timed(&format!(
        "/v1/trace/hotspots?from={}&to={}&limit=20",
        window.0, window.1
    ));
    println!("hotspots, whole {}-day window: {ms:.0} ms", spec.days);
    // A venue's visitor list is asked under a case whose subject was there that day.
    let times: Vec<f64> = (0..days)
        .map(|d| {
            let (from, to) = day(d);
            let start = spec.start + chrono::Duration::days(d as i64);
            let subject: String = server.with_db(|db| async move {
                let client = db.pool().get().await.unwrap();
                client
                    .query_one(
                        "SELECT subject FROM passages WHERE venue_id = 'synth-v1' AND at >= $1 AND at < $2 LIMIT 1",
                        &[&start, &(start + chrono::Duration::days(1))],
                    )
                    .await
                    .unwrap()
                    .get(0)
            });
            timed(&format!(
                "/v1/trace/venue?venue=synth-v1&case={}&from={}&to={}",
                server.open_case(&tracer, &subject),
                enc(from),
                enc(to)
            ))
            .0
        })
        .collect();
    let (p50, p95, _) = percentiles(times);
    println!("visitors of the busiest venue, one day: p50 {p50:.1} ms  p95 {p95:.1} ms");

    ingest_rates(&server, arg(&args, "--ingest", 100_000usize));
}

/// Passages a second through the real ingest path (4 kiosks sending batches of 1 000 at once,
/// as a fleet does) and rows a second through `COPY` into the same table, in this run.
fn ingest_rates(server: &TestServer, n: usize) {
    const KIOSKS: usize = 4;
    const BATCH: usize = 1_000;
    let run = Utc::now().timestamp_millis();
    let kiosks: Vec<(String, String, String)> = (0..KIOSKS)
        .map(|k| {
            let (kiosk, venue) = (format!("ingest-{run}-k{k}"), format!("ingest-{run}-v{k}"));
            let token = server.add_kiosk(&kiosk, &venue);
            (kiosk, venue, token)
        })
        .collect();
    let now = Utc::now();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for (kiosk, venue, token) in &kiosks {
            scope.spawn(move || {
                let http = reqwest::blocking::Client::new();
                let per_kiosk = n / KIOSKS;
                for first in (0..per_kiosk).step_by(BATCH) {
                    let batch: Vec<serde_json::Value> = (first..per_kiosk.min(first + BATCH))
                        .map(|i| {
                            let direction = if i % 2 == 0 { "entry" } else { "exit" };
                            let at = now - chrono::Duration::seconds((per_kiosk - i) as i64);
                            passage_json(kiosk, venue, i as i64 + 1, &format!("sub-{}", i / 2), direction, at)
                        })
                        .collect();
                    let response = http
                        .post(format!("{}/v1/passages", server.url))
                        .bearer_auth(token)
                        .json(&batch)
                        .send()
                        .unwrap();
                    assert!(response.status().is_success(), "ingest: {}", response.status());
                }
            });
        }
    });
    let sent = (n / KIOSKS) * KIOSKS;
    let http_rate = sent as f64 / started.elapsed().as_secs_f64();

    let copied = server.with_db(|db| async move {
        use futures_util::SinkExt;
        let client = db.pool().get().await.unwrap();
        let sink = client
            .copy_in("COPY passages (event_id, kiosk_id, venue_id, seq, gate, direction, subject, kind, issuer, health, verdict, reason, at, inferred, log_id) FROM STDIN")
            .await
            .unwrap();
        let mut sink = std::pin::pin!(sink);
        let started = Instant::now();
        let (kiosk, venue) = (&kiosks[0].0, &kiosks[0].1);
        let mut chunk = String::new();
        for i in 0..sent {
            let direction = if i % 2 == 0 { "entry" } else { "exit" };
            let at = (now - chrono::Duration::seconds(i as i64)).to_rfc3339();
            chunk.push_str(&format!(
                "{}\t{kiosk}\t{venue}\t{}\tMain\t{direction}\tsub-{}\thealth\tiss\tgreen\tadmit\tok\t{at}\tf\tcopy\n",
                uuid::Uuid::new_v4(),
                i + 1,
                i / 2
            ));
            if chunk.len() > 1 << 20 {
                sink.as_mut().send(bytes::Bytes::from(std::mem::take(&mut chunk))).await.unwrap();
            }
        }
        sink.as_mut().send(bytes::Bytes::from(chunk)).await.unwrap();
        let rows = sink.as_mut().finish().await.unwrap();
        let secs = started.elapsed().as_secs_f64();
        // The next run measures the same data set: this run's ingest leaves nothing behind.
        for table in ["passages", "venue_hours", "venue_days", "venue_day_visitors", "visits"] {
            client
                .execute(&format!("DELETE FROM {table} WHERE venue_id LIKE 'ingest-%'"), &[])
                .await
                .unwrap();
        }
        (rows, secs)
    });
    let copy_rate = copied.0 as f64 / copied.1;
    println!(
        "ingest: {sent} passages through HTTP (4 kiosks, batches of {BATCH}, checks and counts included): {http_rate:.0}/s; \
         COPY of {} rows into the same table: {copy_rate:.0}/s (the real path runs at {:.2}x COPY's rate)",
        copied.0,
        http_rate / copy_rate
    );
}
