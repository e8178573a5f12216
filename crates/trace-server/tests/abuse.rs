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
