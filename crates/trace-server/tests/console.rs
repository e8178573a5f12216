//! The web console over real HTTP on 127.0.0.1 with a real PostgreSQL: sign-in and its cookie,
//! a tracer tracing a case through the pages (case asked for, audited, formula-safe CSV), an
//! operator who sees their own venue and nothing else, sign-out, revocation, CSRF and origin
//! checks, and every console route answered for every kind of visitor.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use trace_server::testkit::TestServer;

/// A browser-like client: keeps cookies, follows redirects.
fn browser() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().cookie_store(true).build().unwrap()
}

/// The value of the first `name="…" value="…"` hidden input.
fn hidden(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no {name} in {html}"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

fn sign_in(b: &reqwest::blocking::Client, url: &str, token: &str) -> reqwest::blocking::Response {
    b.post(format!("{url}/ui/login"))
        .form(&[("token", token), ("next", "")])
        .send()
        .unwrap()
}

/// A visit: entry at `at`, exit after `minutes` (if given), at `venue` through kiosk `kiosk`
/// (whose token is `token`).
fn visit(
    s: &TestServer,
    (token, kiosk, venue): (&str, &str, &str),
    subject: &str,
    at: DateTime<Utc>,
    minutes: Option<i64>,
    seq: &mut i64,
) {
    let mut passages = vec![];
    let mut push = |direction: &str, when: DateTime<Utc>| {
        *seq += 1;
        passages.push(trace_server::testkit::passage_json(
            kiosk, venue, *seq, subject, direction, when,
        ));
    };
    push("entry", at);
    if let Some(m) = minutes {
        push("exit", at + Duration::minutes(m));
    }
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/v1/passages", s.url))
        .bearer_auth(token)
        .json(&passages)
        .send()
        .unwrap();
    let report: serde_json::Value = r.json().unwrap();
    assert_eq!(
        report["accepted"].as_u64().unwrap() as usize,
        passages.len(),
        "{report}"
    );
}

fn shanghai_day(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d")
        .to_string()
}

#[test]
fn a_tracer_signs_in_traces_a_case_under_its_case_and_downloads_a_labelled_csv() {
    let s = TestServer::start();
    let kiosk = s.add_kiosk("k1", "mall");
    let tracer = s.add_tracer("alice");
    let t0 = trace_server::testkit::quiet_start(Duration::hours(2));
    let mut seq = 0;
    visit(&s, (&kiosk, "k1", "mall"), "case-1", t0, Some(60), &mut seq);
    visit(
        &s,
        (&kiosk, "k1", "mall"),
        "p-2",
        t0 + Duration::minutes(30),
        Some(60),
        &mut seq,
    );
    let day = shanghai_day(t0);

    let b = browser();
    // Not signed in: the page sends the browser to the sign-in form, remembering where it was.
    let first = b.get(format!("{}/ui/contacts?subject=case-1", s.url)).send().unwrap();
    assert!(first.url().path().ends_with("/ui/login"), "{}", first.url());
    assert!(first.text().unwrap().contains("type=\"password\""));

    // A wrong token: 401 and the form again; nothing set.
    let wrong = sign_in(&b, &s.url, "tt_nope");
    assert_eq!(wrong.status(), 401);
    // The cookie: HttpOnly, SameSite=Strict, scoped to /ui (plain http only to this machine).
    let no_follow = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed = no_follow
        .post(format!("{}/ui/login", s.url))
        .form(&[("token", tracer.as_str())])
        .send()
        .unwrap();
    assert_eq!(signed.status(), 303);
    let cookie = signed.headers()["set-cookie"].to_str().unwrap().to_string();
    for part in ["ts_session=", "HttpOnly", "SameSite=Strict", "Path=/ui"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains(&tracer), "the token is not the cookie");

    let home = sign_in(&b, &s.url, &tracer);
    assert_eq!(home.status(), 200);
    assert!(home.url().path().ends_with("/ui/contacts"), "{}", home.url());

    // A subject without a case: the page asks for one (and offers to open it).
    let contacts = format!("{}/ui/contacts?subject=case-1&from={day}&to={day}", s.url);
    let ask = b.get(&contacts).send().unwrap().text().unwrap();
    assert!(
        ask.contains("open case") || ask.contains("Every tracing query"),
        "{ask}"
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit WHERE query = 'contacts'"),
        0,
        "nothing traced yet"
    );
    let csrf = hidden(&ask, "csrf");

    // Opening a case needs the form token and this origin.
    let case_form = |csrf: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("subject", "case-1".into()),
            ("reason", "lab report 42".into()),
            ("days", "14".into()),
            ("from", day.clone()),
            ("to", day.clone()),
        ]
    };
    let forged = b
        .post(format!("{}/ui/cases", s.url))
        .form(&case_form("cf_forged"))
        .send()
        .unwrap();
    assert_eq!(forged.status(), 403);
    let cross = b
        .post(format!("{}/ui/cases", s.url))
        .header("origin", "https://evil.example")
        .form(&case_form(&csrf))
        .send()
        .unwrap();
    assert_eq!(cross.status(), 403);
    assert_eq!(s.count("SELECT COUNT(*) FROM cases"), 0);

    let traced = b
        .post(format!("{}/ui/cases", s.url))
        .form(&case_form(&csrf))
        .send()
        .unwrap();
    assert_eq!(traced.status(), 200);
    let case = s.count("SELECT MAX(id) FROM cases");
    assert!(
        traced.url().query().unwrap().contains(&format!("case={case}")),
        "{}",
        traced.url()
    );
    let page = traced.text().unwrap();
    assert!(page.contains("p-2"), "the contact is listed: {page}");
    assert!(page.contains(">30<"), "30 minutes of overlap: {page}");
    assert!(page.contains("/ui/venues/mall"), "the case's visit, linked: {page}");
    assert_eq!(
        s.count(&format!(
            "SELECT COUNT(*) FROM audit WHERE tracer = 'alice' AND query = 'contacts' AND params->>'case' = '{case}'"
        )),
        1
    );

    // Pages with people on them are never cached or framed.
    let headers = b.get(&contacts).send().unwrap();
    assert_eq!(headers.headers()["cache-control"], "no-store");
    assert_eq!(headers.headers()["x-frame-options"], "DENY");
    assert!(
        headers.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );

    // A sibling site's page cannot make the signed-in browser run an audited query.
    let traced_url = format!("{contacts}&case={case}");
    assert_eq!(b.get(&traced_url).send().unwrap().status(), 200);
    let before = s.count("SELECT COUNT(*) FROM audit");
    let foreign = b.get(&traced_url).header("sec-fetch-site", "same-site").send().unwrap();
    assert!(foreign.url().path().ends_with("/ui/login"), "{}", foreign.url());
    assert_eq!(s.count("SELECT COUNT(*) FROM audit"), before);

    // Another tracer's case, or none: one refusal that tells them apart by nothing.
    let bob = s.add_tracer("bob");
    let bobs = reqwest::blocking::Client::new()
        .post(format!("{}/v1/cases", s.url))
        .bearer_auth(&bob)
        .json(&json!({"subject": "p-2", "reason": "household contact"}))
        .send()
        .unwrap();
    assert_eq!(bobs.status(), 200);
    let bobs_case = s.count("SELECT MAX(id) FROM cases");
    let refusals: Vec<(u16, String)> = [bobs_case, 9999]
        .iter()
        .map(|id| {
            let r = b
                .get(format!(
                    "{}/ui/contacts?subject=p-2&from={day}&to={day}&case={id}",
                    s.url
                ))
                .send()
                .unwrap();
            let status = r.status().as_u16();
            let body = r.text().unwrap().replace(&id.to_string(), "N");
            (status, body)
        })
        .collect();
    assert_eq!(refusals[0], refusals[1], "someone else's case reads like no case");
    assert_eq!(refusals[0].0, 403);
    assert!(!refusals[0].1.contains("bob"));

    // The CSV: an attachment, labelled with the case and the tracer.
    let csv = b
        .get(format!(
            "{}/ui/contacts.csv?subject=case-1&from={day}&to={day}&case={case}",
            s.url
        ))
        .send()
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let csv = csv.text().unwrap();
    let first_line = csv.lines().next().unwrap();
    assert!(
        first_line.contains(&format!("\"{case}\"")) && first_line.contains("\"alice\""),
        "{first_line}"
    );
    assert!(csv.contains("\"p-2\",\"30.0\",\"mall\""), "{csv}");
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit WHERE tracer = 'alice' AND query = 'contacts_export'"),
        1,
        "an export is audited as one"
    );

    // The other pages, with their charts.
    let hot = b
        .get(format!("{}/ui/hotspots?day={day}", s.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(hot.contains("mall") && hot.contains("<svg"), "{hot}");
    let peaks = b
        .get(format!("{}/ui/peaks?venue=mall&day={day}", s.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(peaks.contains("<svg") && peaks.contains("<title>"), "{peaks}");
    let audit = b
        .get(format!("{}/ui/audit?day={}", s.url, shanghai_day(Utc::now())))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(audit.contains("alice") && audit.contains("contacts"), "{audit}");
    let kiosks = b.get(format!("{}/ui/kiosks", s.url)).send().unwrap().text().unwrap();
    assert!(kiosks.contains("k1"), "{kiosks}");
    let venue = b
        .get(format!("{}/ui/venues/mall?day={day}&case={case}", s.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(venue.contains("p-2") && venue.contains("<svg"), "{venue}");

    // The audit page shows every tracer's queries and cases, never whom they were about.
    assert!(audit.contains("bob"), "{audit}");
    assert!(
        !audit.contains("case-1") && !audit.contains("p-2"),
        "no subjects: {audit}"
    );

    // The language switch.
    let zh = b
        .get(format!("{}/ui/lang?to=zh-CN&next=/ui/kiosks", s.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(zh.contains("终端状态"), "{zh}");

    // Sign-out ends the session: the next page asks to sign in again.
    let csrf = hidden(&zh, "csrf");
    let out = b
        .post(format!("{}/ui/logout", s.url))
        .form(&[("csrf", csrf)])
        .send()
        .unwrap();
    assert!(out.url().path().ends_with("/ui/login"));
    let again = b.get(format!("{}/ui/kiosks", s.url)).send().unwrap();
    assert!(again.url().path().ends_with("/ui/login"), "{}", again.url());
    assert_eq!(
        s.count("SELECT COUNT(*) FROM console_sessions"),
        1,
        "only the other sign-in's session (the cookie-checking client) is left"
    );
}

#[test]
fn an_operator_sees_their_own_venue_and_nothing_else() {
    let s = TestServer::start();
    let mall = s.add_kiosk("mall-north", "mall");
    let park = s.add_kiosk("park-gate", "park");
    let t0 = trace_server::testkit::quiet_start(Duration::hours(1));
    let mut seq = 0;
    visit(&s, (&mall, "mall-north", "mall"), "visitor-in-mall", t0, None, &mut seq);
    let mut seq2 = 0;
    visit(
        &s,
        (&park, "park-gate", "park"),
        "visitor-in-park",
        t0,
        Some(30),
        &mut seq2,
    );
    let operator = s.add_operator("olga", "mall");
    let day = shanghai_day(t0);

    let b = browser();
    let home = sign_in(&b, &s.url, &operator);
    assert!(home.url().path().ends_with("/ui/venues/mall"), "{}", home.url());
    let page = b
        .get(format!("{}/ui/venues/mall?day={day}", s.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains("data-testid=\"inside\">1<"), "one inside: {page}");
    assert!(page.contains("mall-north") && page.contains("<svg"));
    // Visitors by a per-venue, per-day alias: staff follow a visit, not a person's id.
    assert!(page.contains(">v-") && !page.contains("visitor-in-mall"), "{page}");
    assert!(!page.contains("visitor-in-park") && !page.contains("park-gate"));

    // Another venue, tracing pages, the case form, the CSV, the audit: 403, naming nothing.
    for path in [
        format!("/ui/venues/park?day={day}"),
        "/ui/contacts?subject=visitor-in-park".into(),
        format!("/ui/contacts.csv?subject=visitor-in-park&case=1&from={day}&to={day}"),
        "/ui/hotspots".into(),
        "/ui/peaks?venue=park".into(),
        "/ui/audit".into(),
    ] {
        let r = b.get(format!("{}{path}", s.url)).send().unwrap();
        assert_eq!(r.status(), 403, "{path}");
        let body = r.text().unwrap();
        assert!(
            !body.contains("visitor-in-park") && !body.contains("park-gate"),
            "{path}: {body}"
        );
    }
    let csrf = hidden(&page, "csrf");
    let case = b
        .post(format!("{}/ui/cases", s.url))
        .form(&[
            ("csrf", csrf.as_str()),
            ("subject", "x"),
            ("reason", "abc"),
            ("days", "1"),
        ])
        .send()
        .unwrap();
    assert_eq!(case.status(), 403);
    let kiosks = b.get(format!("{}/ui/kiosks", s.url)).send().unwrap().text().unwrap();
    assert!(
        kiosks.contains("mall-north") && !kiosks.contains("park-gate"),
        "{kiosks}"
    );

    // Revoking the operator ends their session at once.
    s.with_db(|db| async move { assert!(db.revoke_operator("olga").await.unwrap()) });
    let after = b.get(format!("{}/ui/venues/mall", s.url)).send().unwrap();
    assert!(after.url().path().ends_with("/ui/login"), "{}", after.url());
    assert_eq!(sign_in(&b, &s.url, &operator).status(), 401, "the token is dead too");
}

#[test]
fn every_console_route_answers_every_kind_of_visitor_as_the_table_says() {
    // (method, route, nobody, tracer, operator): "login" = sent to the sign-in form.
    const TABLE: &[(&str, &str, &str, &str, &str)] = &[
        ("get", "/ui", "login", "200", "200"),
        ("get", "/ui/login", "200", "200", "200"),
        ("post", "/ui/login", "401", "401", "401"),
        ("post", "/ui/logout", "login", "403", "403"),
        ("get", "/ui/lang", "login", "200", "200"),
        ("get", "/ui/static/console.css", "200", "200", "200"),
        ("get", "/ui/contacts", "login", "200", "403"),
        ("get", "/ui/contacts.csv", "login", "400", "403"),
        ("post", "/ui/cases", "login", "403", "403"),
        ("get", "/ui/hotspots", "login", "200", "403"),
        ("get", "/ui/peaks", "login", "200", "403"),
        ("get", "/ui/audit", "login", "200", "403"),
        ("get", "/ui/kiosks", "login", "200", "200"),
        ("get", "/ui/venues/{venue}", "login", "200", "200"),
    ];
    for (method, path) in trace_server::web::ROUTES {
        assert!(
            TABLE.iter().any(|(m, p, ..)| m == method && p == path),
            "{method} {path} has no row in the console's table"
        );
    }
    let s = TestServer::start();
    s.add_kiosk("k1", "mall");
    let tracer = s.add_tracer("alice");
    let operator = s.add_operator("olga", "mall");
    let mut wrong = Vec::new();
    for (who, token) in [(2usize, None), (3, Some(tracer)), (4, Some(operator))] {
        let b = browser();
        if let Some(t) = &token {
            assert_eq!(sign_in(&b, &s.url, t).status(), 200);
        }
        for row in TABLE {
            let want = [row.2, row.3, row.4][who - 2];
            let url = format!("{}{}", s.url, row.1.replace("{venue}", "mall"));
            let response = match row.0 {
                // A form without its token (or, at /ui/login, a wrong one).
                "post" => b
                    .post(&url)
                    .form(&[
                        ("csrf", "x"),
                        ("token", "x"),
                        ("subject", "s"),
                        ("reason", "abc"),
                        ("days", "1"),
                    ])
                    .send(),
                _ => b.get(format!("{url}?to=en&next=/ui")).send(),
            }
            .unwrap();
            let got = if response.url().path().ends_with("/ui/login") && !url.ends_with("/ui/login") {
                "login".to_string()
            } else {
                response.status().as_u16().to_string()
            };
            if got != want {
                wrong.push(format!("{} {} as visitor {who}: {got}, expected {want}", row.0, row.1));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn rotating_or_revoking_a_tracer_token_ends_their_console_sessions() {
    let s = TestServer::start();
    let tracer = s.add_tracer("alice");
    let b = browser();
    assert!(sign_in(&b, &s.url, &tracer).url().path().ends_with("/ui/contacts"));
    // A new token for alice (the old one leaked): the session signed in with the old one ends.
    let fresh = trace_server::auth::new_token("tt_").unwrap();
    let hash = trace_server::auth::hash_token(&fresh);
    s.with_db(|db| async move { db.rotate_tracer("alice", &hash, None).await.unwrap() });
    let after = b.get(format!("{}/ui/kiosks", s.url)).send().unwrap();
    assert!(after.url().path().ends_with("/ui/login"), "{}", after.url());
    // Signed in with the new one, then revoked: ended too.
    assert!(sign_in(&b, &s.url, &fresh).url().path().ends_with("/ui/contacts"));
    s.with_db(|db| async move { assert!(db.revoke_tracer("alice").await.unwrap()) });
    let after = b.get(format!("{}/ui/kiosks", s.url)).send().unwrap();
    assert!(after.url().path().ends_with("/ui/login"), "{}", after.url());
}
