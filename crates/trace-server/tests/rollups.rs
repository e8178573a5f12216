//! The counts kept at ingest (`db/rollup.rs`) answer hotspots and peaks exactly as the passages
//! do, through resent batches, refused and anonymous passages, several kiosks and venues; a
//! recount gives the same counts, and the same visits though passages arrive out of order;
//! retention takes the counts and the visits with the passages.

use chrono::{DateTime, Duration, TimeZone, Utc};
use trace_server::testkit::{TestServer, passage_json};

/// A small deterministic generator: the same passages on every run.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn post(s: &TestServer, token: &str, batch: &[serde_json::Value]) {
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/v1/passages", s.url))
        .bearer_auth(token)
        .json(batch)
        .send()
        .unwrap();
    assert!(response.status().is_success());
    let report: serde_json::Value = response.json().unwrap();
    assert!(
        report.get("rejected").is_none_or(|r| r == &serde_json::json!([])),
        "{report}"
    );
}

/// The rows of a rollup table, in order, as text (to compare a recount with the kept counts).
fn dump(s: &TestServer, table: &'static str) -> Vec<String> {
    s.with_db(|db| async move {
        let client = db.pool().get().await.unwrap();
        client
            .query(&format!("SELECT t::text FROM {table} t ORDER BY 1"), &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    })
}

/// A passage waiting at its gate: subject, direction, time, and what is odd about it (0:
/// refused, 1: no subject).
type Queued = (String, &'static str, DateTime<Utc>, u64);

#[test]
fn counts_kept_at_ingest_answer_hotspots_and_peaks_like_the_passages() {
    let s = TestServer::start();
    let kiosks = [("k1", "v1"), ("k2", "v1"), ("k3", "v2"), ("k4", "v3")];
    let tokens: Vec<String> = kiosks.iter().map(|(k, v)| s.add_kiosk(k, v)).collect();
    let now = Utc::now();
    let day0 = Utc.from_utc_datetime(&(now - Duration::days(3)).date_naive().and_hms_opt(0, 0, 0).unwrap());
    let mut rng = Lcg(7);
    // Visits of 5 minutes to 3 hours (one in six without an exit), entering by one gate and
    // leaving by any gate of the venue; a few refused or anonymous passages.
    let mut queued: [Vec<Queued>; 4] = Default::default();
    for _ in 0..300 {
        let venue = ["v1", "v2", "v3"][rng.below(3) as usize];
        let gates: Vec<usize> = (0..4).filter(|k| kiosks[*k].1 == venue).collect();
        let gate = |rng: &mut Lcg| gates[rng.below(gates.len() as u64) as usize];
        let subject = format!("sub-{}", rng.below(25));
        let t_in = day0 + Duration::seconds(rng.below(3 * 86_400) as i64);
        let t_out = t_in + Duration::seconds(300 + rng.below(3 * 3600 - 300) as i64);
        let oddity = rng.below(12);
        queued[gate(&mut rng)].push((subject.clone(), "entry", t_in.min(now), oddity));
        // A visitor refused (or read with no id) does not leave through the gate.
        if rng.below(6) != 0 && oddity > 1 {
            queued[gate(&mut rng)].push((subject, "exit", t_out.min(now), 99));
        }
    }
    // Each gate sends in batches of its own size, gates interleaved, so an exit often arrives
    // before its entry.
    let mut seqs = [0i64; 4];
    let mut batches: Vec<(usize, Vec<serde_json::Value>)> = Vec::new();
    while queued.iter().any(|q| !q.is_empty()) {
        let k = rng.below(4) as usize;
        let n = (1 + rng.below(30) as usize).min(queued[k].len());
        let batch: Vec<serde_json::Value> = queued[k]
            .drain(..n)
            .map(|(subject, direction, at, oddity)| {
                seqs[k] += 1;
                let mut p = passage_json(kiosks[k].0, kiosks[k].1, seqs[k], &subject, direction, at);
                match oddity {
                    0 => {
                        p["verdict"] = "deny".into();
                        p["reason"] = "red_code".into();
                    }
                    1 => p["subject"] = serde_json::Value::Null,
                    _ => {}
                }
                p
            })
            .collect();
        if !batch.is_empty() {
            post(&s, &tokens[k], &batch);
            batches.push((k, batch));
        }
    }
    // Lost acknowledgements: kiosks send some batches again. Nothing may be counted twice.
    for (k, batch) in batches.iter().step_by(3) {
        post(&s, &tokens[*k], batch);
    }
    let stored = s.count("SELECT COUNT(*) FROM passages");
    assert_eq!(stored, seqs.iter().sum::<i64>());
    assert!(
        s.count("SELECT COUNT(*) FROM passages WHERE verdict = 'deny'") > 0
            && s.count("SELECT COUNT(*) FROM passages WHERE subject IS NULL") > 0
    );

    let h = |d: i64, hour: i64| day0 + Duration::days(d) + Duration::hours(hour);
    let windows = [
        (h(0, 0), h(1, 0)),
        (h(1, 0), h(2, 0)),
        (h(2, 0), h(3, 0)),
        (h(0, 0), h(3, 0)),
        (h(1, 0), h(3, 0)),
        (h(1, 8), h(1, 20)),
        (h(0, 23), h(2, 1)),
        // A day in Shanghai, as the console asks.
        (h(0, 16), h(1, 16)),
        // Not on the hour: read from the passages (the same function must still agree).
        (h(1, 8) + Duration::minutes(30), h(2, 0)),
    ];
    for (from, to) in windows {
        for limit in [2, 100] {
            s.with_db(|db| async move {
                let counted = db.hotspots(from, to, limit).await.unwrap();
                assert_eq!(
                    counted,
                    db.hotspots_scanned(from, to, limit).await.unwrap(),
                    "hotspots {from}–{to}"
                );
                for venue in [None, Some("v1"), Some("v3")] {
                    let counted = db.peaks(from, to, venue, limit).await.unwrap();
                    let scanned = db.peaks_scanned(from, to, venue, limit).await.unwrap();
                    assert_eq!(counted, scanned, "peaks {from}–{to} at {venue:?} (limit {limit})");
                }
            });
        }
    }
    let busiest = s.with_db(|db| async move { db.hotspots(h(0, 0), h(3, 0), 100).await.unwrap() });
    assert_eq!(busiest.len(), 3, "{busiest:?}");
    assert!(
        busiest
            .iter()
            .all(|b| b.unique_visitors <= 25 && b.unique_visitors <= b.visits)
    );

    // A recount from the passages finds the counts and the visits kept at ingest, though
    // passages arrived out of order (an exit before its entry, a gate's entry between another
    // gate's entry and exit) and some twice.
    let tables = ["venue_hours", "venue_days", "venue_day_visitors", "visits"];
    let kept: Vec<_> = tables.into_iter().map(|t| dump(&s, t)).collect();
    assert!(!kept[2].is_empty());
    assert!(kept[3].len() > 200, "{} visits", kept[3].len());
    s.with_db(|db| async move { db.rebuild_rollups().await.unwrap() });
    for (i, t) in tables.into_iter().enumerate() {
        assert_eq!(dump(&s, t), kept[i], "{t}");
    }

    // Retention: the counts and visitor sets of the purged days go with the passages, so
    // windows reaching back past the cutoff still agree with the passages.
    s.with_db(|db| async move { db.purge_before(h(1, 0)).await.unwrap() });
    assert_eq!(
        s.count(&format!(
            "SELECT COUNT(*) FROM venue_day_visitors WHERE day < '{}'",
            h(1, 0).date_naive()
        )),
        0
    );
    assert!(s.count("SELECT COUNT(*) FROM venue_day_visitors") > 0);
    assert_eq!(
        s.count(&format!(
            "SELECT COUNT(*) FROM visits WHERE t_in < '{}'",
            h(1, 0).to_rfc3339()
        )),
        0
    );
    assert!(s.count("SELECT COUNT(*) FROM visits") > 0);
    for (from, to) in [(h(0, 0), h(1, 0)), (h(0, 0), h(3, 0)), (h(0, 12), h(2, 0))] {
        s.with_db(|db| async move {
            let counted = db.hotspots(from, to, 100).await.unwrap();
            assert_eq!(
                counted,
                db.hotspots_scanned(from, to, 100).await.unwrap(),
                "after purge, {from}–{to}"
            );
            let counted = db.peaks(from, to, None, 100).await.unwrap();
            assert_eq!(
                counted,
                db.peaks_scanned(from, to, None, 100).await.unwrap(),
                "after purge, {from}–{to}"
            );
        });
    }
}

#[test]
fn ties_at_the_cut_are_broken_by_visitors_on_every_path() {
    let s = TestServer::start();
    let day = Utc.from_utc_datetime(
        &(Utc::now() - Duration::days(2))
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .unwrap(),
    );
    let at = |m: i64| day + Duration::hours(9) + Duration::minutes(m);
    // "va" and "vb" tie on visits (3); "vb" has more visitors and sorts later by name; "vn"'s
    // entries carry no subject; "vc" is behind.
    for (kiosk, venue, subjects) in [
        ("ka", "va", vec!["a", "a", "a"]),
        ("kb", "vb", vec!["b1", "b2", "b3"]),
        ("kn", "vn", vec!["", "", ""]),
        ("kc", "vc", vec!["c"]),
    ] {
        let token = s.add_kiosk(kiosk, venue);
        let batch: Vec<serde_json::Value> = subjects
            .iter()
            .enumerate()
            .map(|(i, subject)| {
                let mut p = passage_json(kiosk, venue, i as i64 + 1, subject, "entry", at(i as i64 * 5));
                if subject.is_empty() {
                    p["subject"] = serde_json::Value::Null;
                }
                p
            })
            .collect();
        post(&s, &token, &batch);
    }
    let windows = [
        (day, day + Duration::days(1)),
        (day + Duration::hours(8), day + Duration::hours(20)),
        (day - Duration::hours(8), day + Duration::hours(16)),
    ];
    for (from, to) in windows {
        for limit in 1..=4 {
            let (counted, scanned) = s.with_db(|db| async move {
                (
                    db.hotspots(from, to, limit).await.unwrap(),
                    db.hotspots_scanned(from, to, limit).await.unwrap(),
                )
            });
            assert_eq!(counted, scanned, "{from}–{to}, limit {limit}");
            assert_eq!(counted[0].venue_id, "vb", "{counted:?}");
            if limit >= 3 {
                let vn = counted.iter().find(|h| h.venue_id == "vn").unwrap();
                assert_eq!((vn.visits, vn.unique_visitors), (3, 0));
            }
        }
    }
}
