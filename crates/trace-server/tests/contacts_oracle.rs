//! The contacts query against a plain-Rust oracle on generated data: every contact, its
//! minutes of overlap, its order and its inferred flag must match a brute-force computation
//! over all passages. Dense on purpose (few venues, many overlaps, missing exits).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value;
use trace_server::db::Db;
use trace_server::db::synth::Spec;
use trace_server::testkit::TestServer;

/// The server's default visit length in the test server: 4 h.
const VISIT_SECS: i64 = 4 * 3600;

#[derive(Debug, Clone)]
struct Visit {
    venue: String,
    t_in: DateTime<Utc>,
    t_out: DateTime<Utc>,
    inferred: bool,
}

/// A passage as the oracle reads it: subject, venue, direction, at, seq.
type Row = (String, String, String, DateTime<Utc>, i64);
/// One subject's passages at one venue: at, seq, direction.
type Trail = Vec<(DateTime<Utc>, i64, String)>;

/// Visits per subject, by the rules in trace.rs, computed the obvious way.
fn visits(rows: &[Row]) -> HashMap<String, Vec<Visit>> {
    let mut by_key: BTreeMap<(String, String), Trail> = BTreeMap::new();
    for (subject, venue, direction, at, seq) in rows {
        by_key
            .entry((subject.clone(), venue.clone()))
            .or_default()
            .push((*at, *seq, direction.clone()));
    }
    let mut out: HashMap<String, Vec<Visit>> = HashMap::new();
    for ((subject, venue), mut list) in by_key {
        list.sort();
        for (i, (at, _, direction)) in list.iter().enumerate() {
            if direction != "entry" {
                continue;
            }
            let next = list.get(i + 1);
            let (t_out, inferred) = match next {
                Some((next_at, _, d)) if d == "exit" => (*next_at, false),
                Some((next_at, _, _)) => ((*at + Duration::seconds(VISIT_SECS)).min(*next_at), true),
                None => (*at + Duration::seconds(VISIT_SECS), true),
            };
            out.entry(subject.clone()).or_default().push(Visit {
                venue: venue.clone(),
                t_in: *at,
                t_out,
                inferred,
            });
        }
    }
    out
}

#[test]
fn contacts_match_a_brute_force_oracle() {
    let server = TestServer::start();
    let start = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let spec = Spec {
        passages: 4_000,
        venues: 6,
        subjects: 400,
        days: 2,
        start,
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let rows = runtime.block_on(async {
        let db = Db::connect(&server.database_url).unwrap();
        db.generate_synthetic(spec, |_| {}).await.unwrap();
        db.pool()
            .get()
            .await
            .unwrap()
            .query(
                "SELECT subject, venue_id, direction, at, seq FROM passages WHERE verdict = 'admit'",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
            .collect::<Vec<Row>>()
    });
    assert!(rows.len() > 3_900, "generated {}", rows.len());
    let all = visits(&rows);
    let inferred_visits = all.values().flatten().filter(|v| v.inferred).count();
    assert!(
        inferred_visits > 20,
        "the data must include missing exits ({inferred_visits})"
    );

    let tracer = server.add_tracer("oracle");
    let (from, to) = (start - Duration::days(1), start + Duration::days(3));
    let mut cases: Vec<&String> = all.keys().collect();
    cases.sort();
    let mut compared = 0;
    for case in cases.into_iter().step_by(20) {
        // The oracle: overlap with every other subject's visits at the same venue.
        let mut expected: HashMap<&str, (f64, bool, BTreeSet<&str>)> = HashMap::new();
        for c in &all[case] {
            for (other, theirs) in &all {
                if other == case {
                    continue;
                }
                for o in theirs.iter().filter(|o| o.venue == c.venue) {
                    let (a, b) = (c.t_in.max(o.t_in), c.t_out.min(o.t_out));
                    if b > a {
                        let e = expected.entry(other).or_insert((0.0, false, BTreeSet::new()));
                        e.0 += (b - a).num_microseconds().unwrap() as f64 / 60e6;
                        e.1 |= c.inferred || o.inferred;
                        e.2.insert(&c.venue);
                    }
                }
            }
        }

        let got: Vec<Value> = reqwest::blocking::Client::new()
            .get(format!(
                "{}/v1/trace/contacts?case={}&from={}&to={}",
                server.url,
                server.open_case("oracle", case),
                from.format("%Y-%m-%dT%H:%M:%SZ"),
                to.format("%Y-%m-%dT%H:%M:%SZ")
            ))
            .bearer_auth(&tracer)
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(got.len(), expected.len(), "contacts of {case}");
        for g in &got {
            let subject = g["subject"].as_str().unwrap();
            let (minutes, inferred, venues) = &expected[subject];
            let (minutes, inferred) = (*minutes, *inferred);
            let m = g["overlap_minutes"].as_f64().unwrap();
            assert!((m - minutes).abs() < 1e-6, "{case}/{subject}: {m} vs {minutes}");
            if g["inferred"] != inferred {
                eprintln!("case {:#?}\nother {:#?}\ngot {g}", all[case], all[subject]);
            }
            assert_eq!(g["inferred"], inferred, "{case}/{subject} inferred");
            let listed: Vec<&str> = g["venues"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(
                listed,
                venues.iter().copied().collect::<Vec<_>>(),
                "{case}/{subject} venues, sorted"
            );
        }
        // Ranked by minutes of overlap, ties by subject.
        for pair in got.windows(2) {
            let (a, b) = (
                pair[0]["overlap_minutes"].as_f64().unwrap(),
                pair[1]["overlap_minutes"].as_f64().unwrap(),
            );
            let names = (
                pair[0]["subject"].as_str().unwrap(),
                pair[1]["subject"].as_str().unwrap(),
            );
            assert!(a > b - 1e-9, "{case}: {names:?} out of order");
            assert!(
                (a - b).abs() > 1e-9 || names.0 < names.1,
                "{case}: tie {names:?} out of order"
            );
        }
        compared += expected.len();
    }
    assert!(compared > 100, "compared only {compared} contacts");
}
