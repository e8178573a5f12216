//! A person's contacts are traced only within an open case: opened with a reason over HTTP,
//! named in the audit trail, refused once closed, paged. Real HTTP, real PostgreSQL.

use chrono::Duration;
use serde_json::{Value, json};
use trace_server::testkit::TestServer;

#[test]
fn contacts_are_traced_within_an_open_case_only() {
    let s = TestServer::start();
    let kiosk = s.add_kiosk("gate-01", "mall");
    let tracer = s.add_tracer("alice");
    let client = reqwest::blocking::Client::new();
    // The case and five others at the venue at the same time.
    let at = trace_server::testkit::quiet_start(Duration::hours(1));
    let passages: Vec<Value> = std::iter::once("case")
        .chain(["a", "b", "c", "d", "e"])
        .enumerate()
        .map(|(i, subject)| {
            json!({
                "event_id": uuid::Uuid::new_v4(), "seq": i + 1, "kiosk_id": "gate-01", "venue_id": "mall",
                "gate": "g", "direction": "entry", "subject": subject, "kind": "health", "issuer": "iss",
                "health": "green", "verdict": "admit", "reason": "ok", "at": at + Duration::minutes(i as i64),
                "inferred": false
            })
        })
        .collect();
    let stored = client
        .post(format!("{}/v1/passages", s.url))
        .bearer_auth(&kiosk)
        .json(&passages)
        .send()
        .unwrap();
    assert_eq!(stored.status(), 200);

    let open = |body: Value| {
        client
            .post(format!("{}/v1/cases", s.url))
            .bearer_auth(&tracer)
            .json(&body)
            .send()
            .unwrap()
    };
    let refused = open(json!({"subject": "case", "reason": ""}));
    assert_eq!(refused.status(), 400, "a case needs a reason");
    let case: Value = open(json!({"subject": "case", "reason": "lab report 2026-1123-07", "days": 7}))
        .json()
        .unwrap();
    let id = case["id"].as_i64().unwrap();
    assert_eq!(case["opened_by"], "alice");

    let day = at.format("%Y-%m-%d");
    let contacts = |query: &str| {
        client
            .get(format!("{}/v1/trace/contacts?from={day}&to={day}&{query}", s.url))
            .bearer_auth(&tracer)
            .send()
            .unwrap()
    };
    let all: Vec<Value> = contacts(&format!("case={id}")).json().unwrap();
    assert_eq!(all.len(), 5, "{all:?}");
    let page: Vec<Value> = contacts(&format!("case={id}&limit=2&offset=3")).json().unwrap();
    assert_eq!(page, all[3..5].to_vec(), "a page is a slice of the whole ranking");
    assert_eq!(contacts(&format!("case={}", id + 100)).status(), 404);
    let audited = s.count(&format!(
        "SELECT COUNT(*) FROM audit WHERE tracer = 'alice' AND (params->>'case')::bigint = {id}"
    ));
    assert_eq!(audited, 3, "opening and both queries name the case");
    let opened = s.count("SELECT COUNT(*) FROM audit WHERE query = 'open_case'");
    assert_eq!(opened, 1, "the opening is in the trail");

    // Another tracer cannot use alice's case; a venue the subject never visited stays shut.
    let bob = s.add_tracer("bob");
    let theirs = client
        .get(format!("{}/v1/trace/contacts?from={day}&to={day}&case={id}", s.url))
        .bearer_auth(&bob)
        .send()
        .unwrap();
    assert_eq!(theirs.status(), 403);
    let venue = |v: &str| {
        client
            .get(format!(
                "{}/v1/trace/venue?from={day}&to={day}&case={id}&venue={v}",
                s.url
            ))
            .bearer_auth(&tracer)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(venue("mall"), 200);
    assert_eq!(venue("airport"), 403);

    assert!(s.with_db(|db| async move { db.close_case(id, "alice").await.unwrap() }));
    let closed = contacts(&format!("case={id}"));
    assert_eq!(closed.status(), 403);
    let body: Value = closed.json().unwrap();
    assert!(body["error"].as_str().unwrap().contains("closed"), "{body}");
}
