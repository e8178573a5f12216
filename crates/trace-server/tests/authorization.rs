//! The authorization matrix: every route × every kind of caller, over real HTTP with a real
//! PostgreSQL. A route added to the server without a row here fails the test.

use serde_json::json;
use trace_server::api::ROUTES;
use trace_server::testkit::TestServer;

/// Who calls.
#[derive(Debug, Clone, Copy)]
enum Who {
    Nobody,
    Garbage,
    Kiosk,
    RevokedKiosk,
    Tracer,
    ExpiredTracer,
}

const EVERYONE: [Who; 6] = [
    Who::Nobody,
    Who::Garbage,
    Who::Kiosk,
    Who::RevokedKiosk,
    Who::Tracer,
    Who::ExpiredTracer,
];

/// Expected status for each caller, in the order of `EVERYONE`, per (method, route template);
/// `{id}` is the kiosk's own name here (reading another kiosk is checked below).
const MATRIX: &[(&str, &str, [u16; 6])] = &[
    ("get", "/healthz", [200, 200, 200, 200, 200, 200]),
    ("get", "/metrics", [200, 200, 200, 200, 200, 200]),
    ("post", "/v1/passages", [401, 401, 200, 401, 403, 401]),
    ("get", "/v1/kiosks/{id}/status", [401, 401, 200, 401, 200, 401]),
    ("get", "/v1/kiosk/policy", [401, 401, 200, 401, 403, 401]),
    ("get", "/v1/kiosk/whoami", [401, 401, 200, 401, 403, 401]),
    ("post", "/v1/kiosk/venue", [401, 401, 200, 401, 403, 401]),
    ("post", "/v1/cases", [401, 401, 403, 401, 200, 401]),
    ("get", "/v1/trace/contacts", [401, 401, 403, 401, 200, 401]),
    ("get", "/v1/trace/venue", [401, 401, 403, 401, 200, 401]),
    ("get", "/v1/trace/hotspots", [401, 401, 403, 401, 200, 401]),
    ("get", "/v1/trace/peaks", [401, 401, 403, 401, 200, 401]),
    ("get", "/api-docs", [200, 200, 200, 200, 200, 200]),
];

#[test]
fn every_route_answers_every_caller_as_the_matrix_says() {
    for (method, path) in ROUTES {
        assert!(
            MATRIX.iter().any(|(m, p, _)| m == method && p == path),
            "{method} {path} has no row in the authorization matrix"
        );
    }
    for (method, path, _) in MATRIX {
        assert!(
            ROUTES.contains(&(*method, *path)),
            "the matrix names a route that is gone: {method} {path}"
        );
    }

    let s = TestServer::start();
    let kiosk = s.add_kiosk("gate-01", "mall");
    let revoked = s.add_kiosk("gate-02", "mall");
    let tracer = s.add_tracer("alice");
    s.with_db(|db| async move { db.revoke_kiosk("gate-02").await.unwrap() });
    let expired = trace_server::auth::new_token("tt_").unwrap();
    let hash = trace_server::auth::hash_token(&expired);
    let past = chrono::Utc::now() - chrono::Duration::hours(1);
    s.with_db(|db| async move { db.add_tracer("bob", &hash, Some(past)).await.unwrap() });

    let token = |who: Who| match who {
        Who::Nobody => None,
        Who::Garbage => Some("kt_0000".to_string()),
        Who::Kiosk => Some(kiosk.clone()),
        Who::RevokedKiosk => Some(revoked.clone()),
        Who::Tracer => Some(tracer.clone()),
        Who::ExpiredTracer => Some(expired.clone()),
    };
    let client = reqwest::blocking::Client::new();
    // The case's subject passed through the venue the matrix asks about.
    let visit = json!([{
        "event_id": uuid::Uuid::new_v4(), "seq": 1, "kiosk_id": "gate-01", "venue_id": "mall", "gate": "g",
        "direction": "entry", "subject": "p-1", "kind": "health", "issuer": "iss", "health": "green",
        "verdict": "admit", "reason": "ok", "at": "2026-11-20T10:00:00Z", "inferred": false
    }]);
    let stored = reqwest::blocking::Client::new()
        .post(format!("{}/v1/passages", s.url))
        .bearer_auth(&kiosk)
        .json(&visit)
        .send()
        .unwrap();
    assert_eq!(stored.status(), 200);
    let case = s.open_case("alice", "p-1");
    let query = format!("from=2026-11-20&to=2026-11-21&case={case}&venue=mall");
    let mut wrong = Vec::new();
    for (method, path, expected) in MATRIX {
        let url = format!("{}{}?{query}", s.url, path.replace("{id}", "gate-01"));
        for (who, want) in EVERYONE.iter().zip(expected) {
            let mut request = match *method {
                "post" if path.contains("cases") => client
                    .post(&url)
                    .json(&json!({"subject": "p-1", "reason": "lab report 42"})),
                "post" if path.contains("venue") => client.post(&url).json(&json!({"log_id": "0be1", "capacity": 10})),
                "post" => client.post(&url).json(&json!([])),
                _ => client.get(&url),
            };
            if let Some(t) = token(*who) {
                request = request.bearer_auth(t);
            }
            let got = request.send().unwrap().status().as_u16();
            if got != *want {
                wrong.push(format!("{method} {path} as {who:?}: {got}, expected {want}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");

    // A kiosk reads only its own status.
    let other = client
        .get(format!("{}/v1/kiosks/gate-02/status", s.url))
        .bearer_auth(&kiosk)
        .send()
        .unwrap();
    assert_eq!(other.status(), 403);
}
