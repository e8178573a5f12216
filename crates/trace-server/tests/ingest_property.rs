//! Ingest as a property, over real HTTP with a real PostgreSQL: thousands of passages mutated
//! at random (control characters, huge strings, extreme numbers and dates, wrong types,
//! missing fields) mixed with good ones. Every batch is answered 200 with each bad passage
//! refused on its own (never a 500, never a whole batch lost), every good one stored once,
//! and the counts add up.

use serde_json::{Value, json};
use trace_server::testkit::TestServer;

/// A small deterministic generator (splitmix64): the same cases on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn good(seq: i64) -> Value {
    json!({
        "event_id": uuid::Uuid::new_v4(), "log_id": "ab12", "seq": seq, "kiosk_id": "gate-01",
        "venue_id": "mall", "gate": "north", "direction": "entry", "subject": format!("p-{seq}"),
        "kind": "health", "issuer": "gd-health", "health": "green", "format": "vp1",
        "verdict": "admit", "reason": "ok", "at": chrono::Utc::now() - chrono::Duration::minutes(5),
        "inferred": false, "hash": ""
    })
}

const FIELDS: [&str; 17] = [
    "event_id",
    "log_id",
    "seq",
    "kiosk_id",
    "venue_id",
    "gate",
    "direction",
    "subject",
    "kind",
    "issuer",
    "health",
    "format",
    "verdict",
    "reason",
    "at",
    "inferred",
    "hash",
];

/// One hostile value.
fn hostile(rng: &mut Rng) -> Value {
    let huge = "界".repeat(100_000);
    let values = [
        json!(null),
        json!(""),
        json!("\u{0}"),
        json!("a\u{0}b"),
        json!("\u{202E}evil"),
        json!("\u{1b}[31m"),
        json!(huge),
        json!(i64::MIN),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(-1),
        json!(0),
        json!(9_007_199_254_740_993i64),
        json!(1e308),
        json!(-0.0),
        json!(true),
        json!([1, 2]),
        json!({"nested": {"deep": [null]}}),
        json!("0000-01-01T00:00:00Z"),
        json!("9999-12-31T23:59:59Z"),
        json!("1970-01-01T00:00:00Z"),
        json!("2026-13-45T99:99:99Z"),
        json!("not-a-uuid"),
        json!("exit"),
        json!("sideways"),
        json!("purple"),
        json!("HC1:"),
    ];
    rng.pick(&values).clone()
}

#[test]
fn hostile_passages_are_refused_one_by_one_and_good_ones_are_stored() {
    let s = TestServer::start();
    let token = s.add_kiosk("gate-01", "mall");
    let client = reqwest::blocking::Client::new();
    let mut rng = Rng(2026);
    let (mut seq, mut good_sent, mut total_accepted) = (0i64, 0u64, 0u64);
    for _batch in 0..20 {
        let mut batch = Vec::new();
        let mut goods = 0u64;
        for _ in 0..100 {
            seq += 1;
            let mut p = good(seq);
            if rng.below(3) == 0 {
                goods += 1;
            } else {
                // One to three fields replaced, removed, or the whole item replaced.
                match rng.below(10) {
                    0 => p = hostile(&mut rng),
                    1 => {
                        p.as_object_mut().unwrap().remove(*rng.pick(&FIELDS));
                    }
                    _ => {
                        for _ in 0..=rng.below(3) {
                            p[*rng.pick(&FIELDS)] = hostile(&mut rng);
                        }
                    }
                }
            }
            batch.push(p);
        }
        let response = client
            .post(format!("{}/v1/passages", s.url))
            .bearer_auth(&token)
            .json(&batch)
            .send()
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().unwrap();
        assert!(
            status == 200 || status == 400,
            "a batch is answered 200 (per-item refusals) or 400 (too big as a whole), never {status}: {text}"
        );
        if status == 400 {
            // Only a body over the size limit (the 100 000-character strings) may do that.
            assert!(text.contains("larger than"), "{text}");
            continue;
        }
        let report: Value = serde_json::from_str(&text).unwrap();
        let accepted = report["accepted"].as_u64().unwrap();
        let duplicates = report["duplicates"].as_u64().unwrap();
        let rejected = report["rejected"].as_array().map_or(0, Vec::len) as u64;
        assert_eq!(
            accepted + duplicates + rejected,
            100,
            "every passage answered: {report}"
        );
        assert!(
            accepted >= goods,
            "good passages stored beside bad ones: {accepted} < {goods}"
        );
        for r in report["rejected"].as_array().into_iter().flatten() {
            assert!(!r["reason"].as_str().unwrap_or_default().is_empty(), "{r}");
        }
        good_sent += goods;
        total_accepted += accepted;
    }
    assert!(good_sent > 300, "the generator made good passages: {good_sent}");
    assert_eq!(s.count("SELECT COUNT(*) FROM passages") as u64, total_accepted);
    let metrics = client.get(format!("{}/healthz", s.url)).send().unwrap();
    assert_eq!(metrics.status(), 200, "the server is still well");
}
