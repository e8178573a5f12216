//! Credentials over real HTTP with a real PostgreSQL: revoked, rotated and expired tokens,
//! tokens of the wrong role, JSON errors everywhere, dates in query strings, clock skew from
//! the kiosk's clock header, and the audit trail read back.

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use trace_server::auth;
use trace_server::error::ServerError;
use trace_server::testkit::TestServer;

fn call(s: &TestServer, method: &str, token: Option<&str>, path: &str) -> (u16, Value) {
    let client = reqwest::blocking::Client::new();
    let mut r = match method {
        "POST" => client.post(format!("{}{path}", s.url)).json(&json!([])),
        _ => client.get(format!("{}{path}", s.url)),
    };
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().unwrap();
    let status = r.status().as_u16();
    let text = r.text().unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text:?}"));
    (status, body)
}

fn error(body: &Value) -> &str {
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message: {body}"))
}

const HOTSPOTS: &str = "/v1/trace/hotspots?from=2026-11-20&to=2026-11-21";

#[test]
fn revoked_and_rotated_tokens_stop_working_and_say_why() {
    let s = TestServer::start();
    let old = s.add_kiosk("gate-01", "mall");
    assert_eq!(call(&s, "POST", Some(&old), "/v1/passages").0, 200);

    assert!(s.with_db(|db| async move { db.revoke_kiosk("gate-01").await.unwrap() }));
    let (status, body) = call(&s, "POST", Some(&old), "/v1/passages");
    assert_eq!(status, 401);
    assert!(
        error(&body).contains("revoked") && error(&body).contains("kiosk rotate gate-01"),
        "{body}"
    );

    let new = auth::new_token("kt_").unwrap();
    let hash = auth::hash_token(&new);
    let venue = s.with_db(|db| async move { db.rotate_kiosk("gate-01", &hash).await.unwrap() });
    assert_eq!(venue.as_deref(), Some("mall"));
    assert_eq!(
        call(&s, "POST", Some(&new), "/v1/passages").0,
        200,
        "rotation un-revokes"
    );
    assert_eq!(
        call(&s, "POST", Some(&old), "/v1/passages").0,
        401,
        "the old token is dead"
    );
    assert!(!s.with_db(|db| async move { db.revoke_kiosk("nobody").await.unwrap() }));

    let list = s.with_db(|db| async move { db.kiosks().await.unwrap() });
    assert_eq!(list.len(), 1);
    assert!(list[0].revoked_at.is_none() && list[0].rotated_at.is_some() && list[0].last_seen.is_some());

    // Adding a name twice says so in words, not as a constraint name.
    let again = s.with_db(|db| async move { db.add_kiosk("gate-01", "mall", "x").await });
    match again {
        Err(ServerError::Conflict(m)) => assert!(m.contains("already exists") && m.contains("rotate"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn expired_and_revoked_tracer_tokens_are_refused() {
    let s = TestServer::start();
    let token = auth::new_token("tt_").unwrap();
    let hash = auth::hash_token(&token);
    let past = Utc::now() - Duration::minutes(1);
    s.with_db(|db| async move { db.add_tracer("bob", &hash, Some(past)).await.unwrap() });
    let (status, body) = call(&s, "GET", Some(&token), HOTSPOTS);
    assert_eq!(status, 401);
    assert!(error(&body).contains("expired"), "{body}");

    let alice = s.add_tracer("alice");
    assert_eq!(call(&s, "GET", Some(&alice), HOTSPOTS).0, 200);
    s.with_db(|db| async move { db.revoke_tracer("alice").await.unwrap() });
    let (status, body) = call(&s, "GET", Some(&alice), HOTSPOTS);
    assert_eq!(status, 401);
    assert!(error(&body).contains("revoked"), "{body}");
    assert_eq!(s.count("SELECT COUNT(*) FROM audit"), 1, "refused calls run nothing");
}

#[test]
fn a_token_of_the_wrong_role_gets_403_naming_the_token_needed() {
    let s = TestServer::start();
    let kiosk = s.add_kiosk("gate-01", "mall");
    let tracer = s.add_tracer("alice");
    let (status, body) = call(&s, "GET", Some(&kiosk), HOTSPOTS);
    assert_eq!(status, 403);
    assert!(error(&body).contains("needs a tracer token"), "{body}");
    let (status, body) = call(&s, "POST", Some(&tracer), "/v1/passages");
    assert_eq!(status, 403);
    assert!(error(&body).contains("needs a kiosk token"), "{body}");
    let (status, body) = call(&s, "GET", Some(&kiosk), "/v1/kiosks/gate-02/status");
    assert_eq!(status, 403);
    assert!(error(&body).contains("only its own status"), "{body}");
    let (status, body) = call(&s, "GET", None, HOTSPOTS);
    assert_eq!(status, 401);
    assert!(error(&body).contains("Authorization: Bearer"), "{body}");
}

#[test]
fn every_http_error_is_json_with_a_message() {
    let s = TestServer::start();
    let tracer = s.add_tracer("alice");
    for (method, path, status, words) in [
        ("GET", "/v1/nothing", 404, "no such route"),
        ("POST", "/v1/trace/hotspots", 405, "method"),
        (
            "GET",
            "/v1/trace/hotspots?from=yesterday&to=2026-11-21",
            400,
            "2026-11-20",
        ),
        ("GET", "/v1/trace/hotspots?to=2026-11-21", 400, "?from="),
        (
            "GET",
            "/v1/trace/hotspots?from=2026-11-20&to=2026-11-21&limit=abc",
            400,
            "limit",
        ),
        ("GET", "/v1/trace/contacts?from=2026-11-20&to=2026-11-21", 400, "?case="),
    ] {
        let (got, body) = call(&s, method, Some(&tracer), path);
        assert_eq!(got, status, "{method} {path}: {body}");
        assert!(error(&body).contains(words), "{method} {path}: {body}");
    }
}

#[test]
fn dates_in_query_strings_cover_whole_days() {
    let s = TestServer::start();
    let kiosk = s.add_kiosk("gate-01", "mall");
    let tracer = s.add_tracer("alice");
    let at = "2026-11-21T23:30:00Z";
    let body = json!([{
        "event_id": uuid::Uuid::new_v4(), "seq": 1, "kiosk_id": "gate-01", "venue_id": "mall", "gate": "g",
        "direction": "entry", "subject": "p-1", "kind": "health", "issuer": "iss", "health": "green",
        "verdict": "admit", "reason": "ok", "at": at, "inferred": false
    }]);
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/v1/passages", s.url))
        .bearer_auth(&kiosk)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    // `to=2026-11-21` reaches the end of the 21st, so a passage at 23:30 that day counts.
    let (status, rows) = call(
        &s,
        "GET",
        Some(&tracer),
        "/v1/trace/hotspots?from=2026-11-21&to=2026-11-21",
    );
    assert_eq!(status, 200, "{rows}");
    assert_eq!(rows[0]["venue_id"], "mall", "{rows}");
    let audited =
        s.with_db(|db| async move { db.audit_trail(Utc::now() - Duration::hours(1), Some("alice"), 10).await });
    let audited = audited.unwrap();
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].params["to"], "2026-11-22T00:00:00Z");
    let none = s.with_db(|db| async move { db.audit_trail(Utc::now() - Duration::hours(1), Some("bob"), 10).await });
    assert!(none.unwrap().is_empty());
}

#[test]
fn clock_skew_comes_from_the_kiosk_clock_not_from_passage_times() {
    let s = TestServer::start();
    let kiosk = s.add_kiosk("gate-01", "mall");
    // A back-dated passage (recorded with --at a day ago), sent by a kiosk whose clock is right.
    let body = json!([{
        "event_id": uuid::Uuid::new_v4(), "seq": 1, "kiosk_id": "gate-01", "venue_id": "mall", "gate": "g",
        "direction": "entry", "subject": "p-1", "kind": "health", "issuer": "iss", "health": "green",
        "verdict": "admit", "reason": "ok", "at": Utc::now() - Duration::days(1), "inferred": false
    }]);
    let send = |clock: chrono::DateTime<Utc>| {
        reqwest::blocking::Client::new()
            .post(format!("{}/v1/passages", s.url))
            .bearer_auth(&kiosk)
            .header(wire::routes::KIOSK_CLOCK_HEADER, clock.to_rfc3339())
            .json(&body)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(send(Utc::now()), 200);
    let skew = |s: &TestServer| {
        let (_, status) = call(s, "GET", Some(&kiosk), "/v1/kiosks/gate-01/status");
        status["clock_skew_seconds"].as_f64().unwrap()
    };
    assert!(
        skew(&s).abs() < 5.0,
        "no false alarm for a back-dated passage: {}",
        skew(&s)
    );
    // A kiosk whose clock runs an hour fast is reported at once.
    assert_eq!(send(Utc::now() + Duration::hours(1)), 200);
    assert!((skew(&s) - 3600.0).abs() < 5.0, "{}", skew(&s));
}
