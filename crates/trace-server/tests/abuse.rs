//! Resource abuse over real TCP: clients that trickle a body in hold a request slot only until
//! the request timeout; when every slot is taken the server answers 503 at once (nothing
//! queues) while `/healthz` still answers; an unauthenticated trickle is refused before its
//! body is read.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use trace_server::api::Limits;
use trace_server::testkit::TestServer;

/// Sends the headers of a POST /v1/passages announcing a body it never finishes.
fn stalled_upload(s: &TestServer, token: Option<&str>) -> TcpStream {
    let mut stream = TcpStream::connect(s.addr).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "POST /v1/passages HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n[{{\"event_id\""
    )
    .unwrap();
    stream.flush().unwrap();
    stream
}

fn status_line(stream: &mut TcpStream) -> String {
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 512];
    let n = stream.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_flood_of_stalled_uploads_is_cut_off_and_never_queues() {
    let s = TestServer::start_with(Limits {
        max_in_flight: 2,
        request_timeout: Duration::from_secs(2),
        ..Limits::default()
    });
    let token = s.add_kiosk("gate-01", "mall");
    let client = reqwest::blocking::Client::new();
    let policy = || {
        client
            .get(format!("{}/v1/kiosk/policy", s.url))
            .bearer_auth(&token)
            .send()
            .unwrap()
    };

    // Without a token, a trickle holds nothing: 401 before the body is read.
    let mut anonymous = stalled_upload(&s, None);
    assert!(status_line(&mut anonymous).contains("401"));

    let started = Instant::now();
    let mut stalled = [stalled_upload(&s, Some(&token)), stalled_upload(&s, Some(&token))];
    std::thread::sleep(Duration::from_millis(300));
    let busy = policy();
    assert_eq!(busy.status(), 503, "every slot is held: answered at once, not queued");
    assert!(busy.headers().contains_key("retry-after"));
    let body: serde_json::Value = busy.json().unwrap();
    assert!(body["error"].as_str().unwrap().contains("busy"), "{body}");
    let health = client.get(format!("{}/healthz", s.url)).send().unwrap();
    assert_eq!(health.status(), 200, "a monitor still sees the server alive");

    for stream in &mut stalled {
        let line = status_line(stream);
        assert!(line.contains("408"), "a stalled upload is cut: {line:?}");
    }
    assert!(started.elapsed() < Duration::from_secs(8), "{:?}", started.elapsed());
    assert_eq!(policy().status(), 200, "the slots are free again");
}

#[test]
fn one_address_over_its_rate_is_told_to_wait_while_others_are_served() {
    let s = TestServer::start_with(Limits {
        per_client_per_minute: 60, // one a second, bursts of 10
        ..Limits::default()
    });
    let token = s.add_kiosk("gate-01", "mall");
    let from = |ip: &str| {
        reqwest::blocking::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap()
    };
    let (noisy, quiet) = (from("127.0.0.1"), from("127.0.0.2"));
    let policy = |c: &reqwest::blocking::Client| {
        c.get(format!("{}/v1/kiosk/policy", s.url))
            .bearer_auth(&token)
            .send()
            .unwrap()
    };
    let statuses: Vec<u16> = (0..12).map(|_| policy(&noisy).status().as_u16()).collect();
    assert_eq!(&statuses[..10], &[200; 10], "the burst is served: {statuses:?}");
    assert_eq!(statuses[11], 429, "{statuses:?}");
    let refused = policy(&noisy);
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    let body: serde_json::Value = refused.json().unwrap();
    assert!(body["error"].as_str().unwrap().contains("too many requests"), "{body}");
    assert_eq!(policy(&quiet).status(), 200, "another address is not held back");
    let health = noisy.get(format!("{}/healthz", s.url)).send().unwrap();
    assert_eq!(health.status(), 200, "a monitor is never rate-limited");
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(policy(&noisy).status(), 200, "a second later it may go on");
}

fn client_from(ip: &str) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

#[test]
fn a_token_over_its_budget_is_told_to_wait_from_every_address_while_other_tokens_are_served() {
    let s = TestServer::start_with(Limits {
        per_token_per_minute: 6, // one in ten seconds, bursts of 10: no refill during the test
        ..Limits::default()
    });
    let stolen = s.add_kiosk("gate-01", "mall");
    let honest = s.add_kiosk("gate-02", "mall");
    let policy = |c: &reqwest::blocking::Client, token: &str| {
        c.get(format!("{}/v1/kiosk/policy", s.url))
            .bearer_auth(token)
            .send()
            .unwrap()
    };
    // A stolen token spread over addresses (a botnet) still has one budget.
    let addresses = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"].map(client_from);
    let statuses: Vec<u16> = (0..12)
        .map(|i| policy(&addresses[i % 4], &stolen).status().as_u16())
        .collect();
    assert_eq!(&statuses[..10], &[200; 10], "the burst is served: {statuses:?}");
    assert_eq!(statuses[11], 429, "{statuses:?}");
    let refused = policy(&addresses[3], &stolen);
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=10).contains(&wait), "{wait}");
    assert_eq!(
        policy(&addresses[0], &honest).status(),
        200,
        "another kiosk is not held back"
    );
    // Sending passages has its own budget: a backlog drain does not starve venue rounds.
    let ingest = addresses[0]
        .post(format!("{}/v1/passages", s.url))
        .bearer_auth(&stolen)
        .json(&serde_json::json!([]))
        .send()
        .unwrap();
    assert_eq!(ingest.status(), 200);
    // Unknown tokens spend nobody's budget: 401, not 429, and the honest kiosk goes on.
    for _ in 0..20 {
        assert_eq!(policy(&addresses[0], "kt_made_up").status(), 401);
    }
    assert_eq!(policy(&addresses[0], &honest).status(), 200);
}

#[test]
fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_rate() {
    let s = TestServer::start_with(Limits {
        per_client_per_minute: 6, // bursts of 10, no refill during the test
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..Limits::default()
    });
    let token = s.add_kiosk("gate-01", "mall");
    let policy = |c: &reqwest::blocking::Client, forwarded: &str| {
        c.get(format!("{}/v1/kiosk/policy", s.url))
            .bearer_auth(&token)
            .header("X-Forwarded-For", forwarded)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    let (proxy, stranger) = (client_from("127.0.0.1"), client_from("127.0.0.2"));
    let through_proxy: Vec<u16> = (0..11).map(|_| policy(&proxy, "203.0.113.7")).collect();
    assert_eq!(
        through_proxy[10], 429,
        "one forwarded client is limited: {through_proxy:?}"
    );
    assert_eq!(
        policy(&proxy, "203.0.113.8"),
        200,
        "another client behind the proxy is not"
    );
    // A client's own made-up entries (left of what the proxy appended) change nothing.
    assert_eq!(policy(&proxy, "198.51.100.1, 203.0.113.7"), 429);
    // A peer that is no trusted proxy cannot pick its key with the header.
    let spoofing: Vec<u16> = (0..11).map(|i| policy(&stranger, &format!("198.51.100.{i}"))).collect();
    assert_eq!(spoofing[10], 429, "{spoofing:?}");
}
