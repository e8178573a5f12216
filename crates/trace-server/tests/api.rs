//! The server over real HTTP on 127.0.0.1 with a real PostgreSQL: authentication, venue
//! isolation, idempotent ingest, sequence gaps, audited tracing, the contacts ranking.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};
use trace_server::api::Limits;
use trace_server::testkit::TestServer;

fn t(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, h, m, 0).unwrap()
}

fn passage(kiosk: &str, venue: &str, seq: i64, subject: &str, dir: &str, at: DateTime<Utc>) -> Value {
    json!({
        "event_id": uuid::Uuid::new_v4(), "seq": seq, "kiosk_id": kiosk, "venue_id": venue, "gate": "g",
        "direction": dir, "subject": subject, "kind": "health", "issuer": "iss", "health": "green",
        "verdict": "admit", "reason": if dir == "exit" { "ok_exit" } else { "ok" }, "at": at, "inferred": false
    })
}

fn post(s: &TestServer, token: &str, body: &Value) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .post(format!("{}/v1/passages", s.url))
        .bearer_auth(token)
        .json(body)
        .send()
        .unwrap()
}

fn get(s: &TestServer, token: Option<&str>, path: &str) -> reqwest::blocking::Response {
    let mut r = reqwest::blocking::Client::new().get(format!("{}{path}", s.url));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r.send().unwrap()
}

#[test]
fn ingest_is_authenticated_venue_bound_and_idempotent() {
    let s = TestServer::start();
    let k1 = s.add_kiosk("k1", "mall-a");
    let batch = json!([
        passage("k1", "mall-a", 1, "a", "entry", t(9, 0)),
        passage("k1", "mall-a", 2, "b", "entry", t(9, 1))
    ]);

    assert_eq!(post(&s, "kt_wrong", &batch).status(), 401);
    let r: Value = post(&s, &k1, &batch).json().unwrap();
    assert_eq!(r, json!({"accepted": 2, "duplicates": 0}));
    let again: Value = post(&s, &k1, &batch).json().unwrap();
    assert_eq!(again, json!({"accepted": 0, "duplicates": 2}), "resending is harmless");
    assert_eq!(s.count("SELECT COUNT(*) FROM passages"), 2);

    // A forged code's denial has no subject, kind, issuer or health; the same passage twice in
    // one batch (a kiosk retrying inside its own batch) is stored once.
    let mut forged = passage("k1", "mall-a", 3, "x", "entry", t(9, 2));
    for field in ["subject", "kind", "issuer", "health"] {
        forged[field] = Value::Null;
    }
    forged["verdict"] = json!("invalid");
    forged["reason"] = json!("bad_signature");
    let r: Value = post(&s, &k1, &json!([forged.clone(), forged])).json().unwrap();
    assert_eq!(r, json!({"accepted": 1, "duplicates": 1}));
    assert_eq!(
        s.count("SELECT COUNT(*) FROM passages WHERE subject IS NULL AND reason = 'bad_signature'"),
        1
    );

    // A kiosk cannot write another venue's (or another kiosk's) passages. Each is refused on
    // its own, flagged as an identity refusal (the kiosk parks old ones and keeps current ones
    // queued), and the rest of the batch is stored: one bad passage never blocks a queue.
    let other = json!([passage("k1", "mall-b", 4, "c", "entry", t(9, 2))]);
    let spoof = passage("k2", "mall-a", 4, "c", "entry", t(9, 2));
    let poison = {
        let mut p = passage("k1", "mall-a", 4, "c", "entry", t(9, 2));
        p["subject"] = json!("c\u{0000}");
        p
    };
    let r: Value = post(&s, &k1, &other).json().unwrap();
    assert_eq!(
        (r["accepted"].clone(), r["rejected"][0]["identity"].clone()),
        (json!(0), json!(true)),
        "{r}"
    );
    let r: Value = post(&s, &k1, &json!([spoof, poison])).json().unwrap();
    assert_eq!(r["accepted"], 0, "{r}");
    assert_eq!(r["rejected"][0]["identity"], true, "{r}");
    assert_eq!(r["rejected"][1]["index"], 1, "{r}");
    assert!(r["rejected"][1]["reason"].as_str().unwrap().contains("control"), "{r}");
    assert_eq!(s.count("SELECT COUNT(*) FROM passages WHERE seq = 4"), 0);
    assert_eq!(s.count("SELECT rejected FROM kiosks WHERE id = 'k1'"), 3);

    // A lost passage shows as a gap.
    post(&s, &k1, &json!([passage("k1", "mall-a", 5, "d", "entry", t(9, 5))]));
    let status: Value = get(&s, Some(&k1), "/v1/kiosks/k1/status").json().unwrap();
    assert_eq!(status["gaps"], json!([[4, 4]]));
    assert_eq!(status["max_seq"], 5);
    assert_eq!(get(&s, None, "/v1/kiosks/k1/status").status(), 401);

    let metrics = get(&s, None, "/metrics").text().unwrap();
    assert!(metrics.contains("trace_passages_duplicate_total 3"), "{metrics}");
    assert!(
        metrics.contains("trace_passages_stored_estimate "),
        "a catalogue estimate, not a count: {metrics}"
    );
    assert_eq!(get(&s, None, "/healthz").status(), 200);
}

#[test]
fn tracing_needs_a_tracer_token_and_is_audited() {
    let s = TestServer::start();
    let k = s.add_kiosk("k1", "v1");
    let tracer = s.add_tracer("alice");
    let q = "/v1/trace/hotspots?from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z";
    assert_eq!(get(&s, None, q).status(), 401);
    assert_eq!(
        get(&s, Some(&k), q).status(),
        403,
        "a kiosk token is not a tracer token"
    );
    assert_eq!(get(&s, Some(&tracer), q).status(), 200);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit WHERE tracer = 'alice' AND query = 'hotspots'"),
        1
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit"),
        1,
        "refused queries answer nothing and are not run"
    );
}

#[test]
fn contacts_are_the_right_people_in_the_right_order() {
    let s = TestServer::start();
    let ka = s.add_kiosk("ka", "cafe");
    let kb = s.add_kiosk("kb", "gym");
    let tracer = s.add_tracer("t");
    // The case is at the cafe 10:00-11:00 and at the gym 14:00-15:00.
    let cafe = json!([
        passage("ka", "cafe", 1, "case", "entry", t(10, 0)),
        passage("ka", "cafe", 2, "long", "entry", t(9, 30)), // overlaps 60 min
        passage("ka", "cafe", 3, "short", "entry", t(10, 50)), // overlaps 10 min
        passage("ka", "cafe", 4, "case", "exit", t(11, 0)),
        passage("ka", "cafe", 5, "short", "exit", t(11, 20)),
        passage("ka", "cafe", 6, "long", "exit", t(12, 0)),
        passage("ka", "cafe", 7, "later", "entry", t(11, 30)), // after the case left: no overlap
        passage("ka", "cafe", 8, "later", "exit", t(12, 0)),
    ]);
    let gym = json!([
        passage("kb", "gym", 1, "noexit", "entry", t(14, 30)), // never scanned out: closed after 4 h
        passage("kb", "gym", 2, "case", "entry", t(14, 0)),
        passage("kb", "gym", 3, "case", "exit", t(15, 0)),
        passage("kb", "gym", 4, "worker", "entry", t(8, 0)), // an 8-hour shift, scanned out
        passage("kb", "gym", 5, "worker", "exit", t(16, 0)),
    ]);
    assert_eq!(post(&s, &ka, &cafe).status(), 200);
    assert_eq!(post(&s, &kb, &gym).status(), 200);
    let case = s.open_case("t", "case");
    let contacts: Vec<Value> = get(
        &s,
        Some(&tracer),
        &format!("/v1/trace/contacts?case={case}&from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z"),
    )
    .json()
    .unwrap();
    let names: Vec<&str> = contacts.iter().map(|c| c["subject"].as_str().unwrap()).collect();
    assert_eq!(names, ["long", "worker", "noexit", "short"], "{contacts:?}");
    assert_eq!(contacts[0]["overlap_minutes"], 60.0);
    assert_eq!(
        contacts[1]["overlap_minutes"], 60.0,
        "a shift that began 6 h before the case"
    );
    assert_eq!(contacts[1]["inferred"], false);
    assert_eq!(contacts[2]["overlap_minutes"], 30.0);
    assert_eq!(contacts[2]["inferred"], true, "the missing exit is marked inferred");
    assert_eq!(contacts[3]["overlap_minutes"], 10.0);
    assert_eq!(contacts[0]["inferred"], false);

    let peaks: Vec<Value> = get(
        &s,
        Some(&tracer),
        "/v1/trace/peaks?from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z",
    )
    .json()
    .unwrap();
    assert_eq!(peaks[0]["entries"], 2);
    let hot: Vec<Value> = get(
        &s,
        Some(&tracer),
        "/v1/trace/hotspots?from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z",
    )
    .json()
    .unwrap();
    assert_eq!(hot[0], json!({"venue_id": "cafe", "visits": 4, "unique_visitors": 4}));
    let _ = Duration::zero();
}

#[test]
fn retention_deletes_old_passages_and_does_not_report_them_lost() {
    let s = TestServer::start();
    let k1 = s.add_kiosk("k1", "mall-a");
    let now = Utc::now();
    let old = now - Duration::days(3);
    let batch = json!([
        passage("k1", "mall-a", 1, "a", "entry", old),
        passage("k1", "mall-a", 2, "a", "exit", old + Duration::minutes(30)),
        passage("k1", "mall-a", 3, "b", "entry", old + Duration::hours(1)),
        passage("k1", "mall-a", 4, "c", "entry", now - Duration::hours(2)),
        passage("k1", "mall-a", 6, "d", "entry", now - Duration::hours(1)), // 5 never arrived
    ]);
    assert_eq!(post(&s, &k1, &batch).status(), 200);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trace-server"))
        .args(["--database-url", &s.database_url, "purge", "--retention-days", "2"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("deleted 3 passages"));
    assert_eq!(s.count("SELECT COUNT(*) FROM passages"), 2);
    assert_eq!(s.count("SELECT COUNT(*) FROM visits"), 2, "c's and d's");
    // Whole days before the cutoff went as partitions, not row by row.
    let day = |t: DateTime<Utc>| t.format("%Y%m%d").to_string();
    // (On Citus the visits are one table: their rows went by the cutoff, counted above.)
    let visits_by_day = s.count("SELECT COUNT(*) FROM pg_partitioned_table WHERE partrelid = 'visits'::regclass") == 1;
    for table in ["passages", "visits"]
        .into_iter()
        .filter(|t| *t == "passages" || visits_by_day)
    {
        let gone = format!("{table}_p{}", day(old));
        assert_eq!(
            s.count(&format!("SELECT COUNT(*) FROM pg_class WHERE relname = '{gone}'")),
            0,
            "{gone}"
        );
        let kept = format!("{table}_p{}", day(now));
        assert_eq!(
            s.count(&format!("SELECT COUNT(*) FROM pg_class WHERE relname = '{kept}'")),
            1,
            "{kept}"
        );
    }
    let status: Value = get(&s, Some(&k1), "/v1/kiosks/k1/status").json().unwrap();
    assert_eq!(
        status["gaps"],
        json!([[5, 5]]),
        "purged rows are not lost ones: {status}"
    );

    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_trace-server"))
        .args(["--database-url", &s.database_url, "purge", "--retention-days", "0"])
        .output()
        .unwrap();
    assert!(!refused.status.success(), "a zero retention would delete everything");
}

/// A passage older than the server keeps is counted as sent but not stored, as if stored and
/// purged at once, and makes no partition: a token sending passages over a year of days cannot
/// make hundreds of them. The purge mark rises, so the gap report does not call them lost.
#[test]
fn passages_older_than_the_retention_period_are_neither_stored_nor_partitioned() {
    let s = TestServer::start_with(Limits {
        retention_days: Some(28),
        ..Limits::default()
    });
    let k1 = s.add_kiosk("k1", "v1");
    let now = Utc::now();
    let partitions = || s.count("SELECT COUNT(*) FROM pg_inherits WHERE inhparent = 'passages'::regclass");
    let before = partitions();
    // One a day from 329 to 30 days ago (seq 1..=300), then two of the last hour.
    let mut batch: Vec<Value> = (1..=300)
        .map(|seq| passage("k1", "v1", seq, "a", "entry", now - Duration::days(330 - seq)))
        .collect();
    batch.push(passage("k1", "v1", 301, "a", "entry", now - Duration::minutes(50)));
    batch.push(passage("k1", "v1", 302, "a", "exit", now - Duration::minutes(20)));
    let report: Value = post(&s, &k1, &json!(batch)).json().unwrap();
    assert_eq!(
        (&report["accepted"], &report["duplicates"], &report["expired"]),
        (&json!(2), &json!(0), &json!(300)),
        "{report}"
    );
    assert!(report.get("rejected").is_none(), "{report}");
    assert_eq!(s.count("SELECT COUNT(*) FROM passages"), 2);
    assert!(
        partitions() <= before + 1,
        "{before} partitions before, {} after",
        partitions()
    );
    let old = format!("passages_p{}", (now - Duration::days(100)).format("%Y%m%d"));
    assert_eq!(
        s.count(&format!("SELECT COUNT(*) FROM pg_class WHERE relname = '{old}'")),
        0
    );
    let status: Value = get(&s, Some(&k1), "/v1/kiosks/k1/status").json().unwrap();
    assert_eq!(
        status["gaps"],
        json!([]),
        "expired passages are not lost ones: {status}"
    );

    // Sent again (the kiosk never heard the answer): the same report, nothing more stored.
    let again: Value = post(&s, &k1, &json!(batch)).json().unwrap();
    assert_eq!(
        (&again["accepted"], &again["duplicates"], &again["expired"]),
        (&json!(0), &json!(2), &json!(300))
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM passages"), 2);
}

#[test]
fn the_demo_issuer_is_never_put_on_a_trust_list() {
    let s = TestServer::start();
    let dir = std::env::temp_dir().join(format!("demo-pub-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("demo-issuer.pub");
    std::fs::write(&file, passes::vp1::IssuerKey::demo().to_public_file()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trace-server"))
        .args(["--database-url", &s.database_url, "issuer-add"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("secret is public"),
        "{out:?}"
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM trusted_issuers"), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tracing_queries_are_bounded_and_bad_parameters_are_400s() {
    let s = TestServer::start();
    let tracer = s.add_tracer("alice");
    let case = s.open_case("alice", "a");
    for (q, why) in [
        (
            "/v1/trace/hotspots?from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z&limit=-1",
            "limit",
        ),
        (
            "/v1/trace/peaks?from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z&limit=1000000",
            "limit",
        ),
        (
            "/v1/trace/hotspots?from=1926-11-20T00:00:00Z&to=2026-11-21T00:00:00Z",
            "31 days",
        ),
        (
            "/v1/trace/contacts?case=CASE&from=2026-01-01T00:00:00Z&to=2026-11-21T00:00:00Z",
            "31 days",
        ),
        (
            "/v1/trace/contacts?case=CASE&from=2026-11-20&to=2026-11-21&offset=-5",
            "offset",
        ),
        ("/v1/trace/contacts?subject=a&from=2026-11-20&to=2026-11-21", "?case="),
    ] {
        let q = &q.replace("CASE", &case.to_string());
        let r = get(&s, Some(&tracer), q);
        assert_eq!(r.status(), 400, "{q}");
        let body: Value = r.json().unwrap();
        assert!(body["error"].as_str().unwrap().contains(why), "{q}: {body}");
    }
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit WHERE query <> 'open_case'"),
        0,
        "refused queries are not run"
    );
    let ok = "/v1/trace/hotspots?from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z&limit=1000";
    assert_eq!(get(&s, Some(&tracer), ok).status(), 200);
}

#[test]
fn the_audit_trail_cannot_be_rewritten() {
    let s = TestServer::start();
    let tracer = s.add_tracer("alice");
    let q = "/v1/trace/hotspots?from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z";
    assert_eq!(get(&s, Some(&tracer), q).status(), 200);
    let url = s.database_url.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let refused = rt.block_on(async move {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        let update = client.execute("UPDATE audit SET tracer = 'nobody'", &[]).await;
        let delete = client.execute("DELETE FROM audit", &[]).await;
        let message = |e: tokio_postgres::Error| e.as_db_error().unwrap().message().to_string();
        (message(update.unwrap_err()), message(delete.unwrap_err()))
    });
    assert!(format!("{refused:?}").contains("append-only"), "{refused:?}");
    assert!(format!("{refused:?}").contains("kept for a year"), "{refused:?}");
    assert_eq!(s.count("SELECT COUNT(*) FROM audit WHERE tracer = 'alice'"), 1);
}
