//! The DCC subject key (it links EU DCC holders' ids to their names): handed to a kiosk token
//! once, while pairing, and audited; its fingerprint always; kept out of the database in a file
//! (`subject-key move-out` / `generate`, `--subject-key`). Real binary, PostgreSQL and HTTP.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use trace_server::testkit::TestServer;

fn trace_server(s: &TestServer) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trace-server"));
    c.env_remove("TRACE_SERVER_SIGNING_KEY")
        .env_remove("TRACE_SERVER_SUBJECT_KEY")
        .env("DATABASE_URL", &s.database_url);
    c
}

fn whoami(s: &TestServer, token: &str) -> serde_json::Value {
    reqwest::blocking::Client::new()
        .get(format!("{}/v1/kiosk/whoami", s.url))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

#[test]
fn a_token_gets_the_subject_key_while_pairing_only_and_each_time_is_audited() {
    let s = TestServer::start();
    let token = s.add_kiosk("gate-01", "mall");
    let first = whoami(&s, &token);
    let key = first["subject_key"].as_str().expect("pairing gets the key").to_string();
    let fingerprint = first["subject_key_fingerprint"].as_str().unwrap().to_string();
    let bytes: [u8; 32] = hex::decode(&key).unwrap().try_into().unwrap();
    assert_eq!(fingerprint, passes::hc1::subject_key_fingerprint(&bytes));
    // A pairing retried at once (a typo fixed) gets it again.
    assert_eq!(whoami(&s, &token)["subject_key"], key.as_str());
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit WHERE tracer = 'kiosk:gate-01' AND query = 'subject_key_given'"),
        2
    );
    // Later (a token stolen from a paired kiosk): the fingerprint only.
    s.count("WITH t AS (UPDATE kiosks SET subject_key_given_at = now() - interval '11 minutes' RETURNING 1) SELECT COUNT(*) FROM t");
    let later = whoami(&s, &token);
    assert!(later.get("subject_key").is_none(), "{later}");
    assert_eq!(later["subject_key_fingerprint"], fingerprint.as_str());
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit WHERE query = 'subject_key_given'"),
        2,
        "nothing given, nothing audited"
    );
    // Another kiosk is paired on its own clock.
    let other = s.add_kiosk("gate-02", "mall");
    assert_eq!(whoami(&s, &other)["subject_key"], key.as_str());
    // Rotating the token opens it again, for the new token.
    let fresh = run(trace_server(&s).args(["kiosk", "rotate", "gate-01", "--url", &s.url]));
    let new_token = fresh
        .split_whitespace()
        .skip_while(|w| *w != "--token")
        .nth(1)
        .expect("rotate prints the pairing command")
        .to_string();
    assert_eq!(whoami(&s, &new_token)["subject_key"], key.as_str());
}

fn run(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn dcc_subject(c: &mut Command) -> std::process::Output {
    c.args([
        "dcc-subject",
        "--family",
        "MUSTERMANN",
        "--given",
        "ERIKA",
        "--dob",
        "1964-08-12",
    ])
    .output()
    .unwrap()
}

#[test]
fn the_subject_key_moves_out_of_the_database_and_ids_stay_the_same() {
    let s = TestServer::start();
    let first = dcc_subject(&mut trace_server(&s));
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let before = String::from_utf8_lossy(&first.stdout).trim().to_string();
    assert!(before.starts_with("hc1:"), "{before}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("subject.key");
    run(trace_server(&s).args(["subject-key", "move-out", "--out"]).arg(&file));
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM subject_key WHERE secret NOT LIKE 'moved-out%'"),
        0,
        "no key left in the database"
    );
    // Without the file: says where the key went, never makes a second one.
    let forgot = dcc_subject(&mut trace_server(&s));
    assert!(!forgot.status.success());
    assert!(String::from_utf8_lossy(&forgot.stderr).contains("--subject-key"));
    // With it: the same ids as before.
    let after = dcc_subject(trace_server(&s).env("TRACE_SERVER_SUBJECT_KEY", &file));
    assert!(after.status.success(), "{}", String::from_utf8_lossy(&after.stderr));
    assert_eq!(String::from_utf8_lossy(&after.stdout).trim(), before);
    // Another key file (a lost file "replaced" with `generate`): refused, ids would split.
    let other = dir.path().join("other.key");
    let mut offline = Command::new(env!("CARGO_BIN_EXE_trace-server"));
    run(offline
        .env_remove("DATABASE_URL")
        .args(["subject-key", "generate", "--out"])
        .arg(&other));
    let wrong = dcc_subject(trace_server(&s).env("TRACE_SERVER_SUBJECT_KEY", &other));
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("another subject key"));
    // Twice: nothing left to move.
    let twice = trace_server(&s)
        .args(["subject-key", "move-out", "--out"])
        .arg(dir.path().join("again.key"))
        .output()
        .unwrap();
    assert!(!twice.status.success());
    assert!(String::from_utf8_lossy(&twice.stderr).contains("holds no subject key"));
}

#[test]
fn a_subject_key_file_other_than_the_databases_is_refused() {
    let s = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("subject.key");
    // Made without a database.
    let mut offline = Command::new(env!("CARGO_BIN_EXE_trace-server"));
    offline.env_remove("DATABASE_URL");
    run(offline.args(["subject-key", "generate", "--out"]).arg(&file));
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim().len(), 64);
    // The server made its own key already (the test server started): ids would split.
    let out = dcc_subject(trace_server(&s).arg("--subject-key").arg(&file));
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("subject-key move-out"), "{said}");
    assert!(
        !said.contains(std::fs::read_to_string(&file).unwrap().trim()),
        "the key is never printed"
    );
}
