//! The trust-list signing key out of the database: made offline (`key generate`), served from
//! a file (`--signing-key`), or moved out of the database (`key move-out`) with the kiosks'
//! pin unchanged. Real binary, real PostgreSQL, real HTTP.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use trace_server::testkit::TestServer;

fn trace_server() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trace-server"));
    c.env_remove("DATABASE_URL").env_remove("TRACE_SERVER_SIGNING_KEY");
    c
}

fn run(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// `kiosk add` (which prints the key kiosks pin) with the signing key file `key`.
fn kiosk_add_signed_with(s: &TestServer, key: &std::path::Path) -> std::process::Output {
    trace_server()
        .env("DATABASE_URL", &s.database_url)
        .arg("--signing-key")
        .arg(key)
        .args([
            "kiosk",
            "add",
            "--venue",
            "v",
            "--name",
            "k",
            "--url",
            "http://127.0.0.1:1",
        ])
        .output()
        .unwrap()
}

#[test]
fn a_key_made_offline_signs_the_list_and_the_database_never_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("signing.key");
    // No database at all: made offline.
    let public = run(trace_server().args(["key", "generate", "--out"]).arg(&file));
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let again = trace_server()
        .args(["key", "generate", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!again.status.success(), "never over an existing key");

    let s = TestServer::start_with_key(&file);
    let kiosk = s.add_kiosk("gate-01", "mall");
    let client = reqwest::blocking::Client::new();
    let who: serde_json::Value = client
        .get(format!("{}/v1/kiosk/whoami", s.url))
        .bearer_auth(&kiosk)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(who["server_key"], public.as_str());
    let signed: wire::SignedDocument = client
        .get(format!("{}/v1/kiosk/policy", s.url))
        .bearer_auth(&kiosk)
        .send()
        .unwrap()
        .json()
        .unwrap();
    passes::vp1::verify_document(&public, signed.document.as_bytes(), &signed.signature)
        .expect("signed with the file's key");
    assert_eq!(
        s.count("SELECT COUNT(*) FROM server_key WHERE secret NOT LIKE 'moved-out%'"),
        0,
        "the database holds no key"
    );
    // …only a note that the key lives in a file: a run without it fails instead of making a
    // second key no kiosk is pinned to.
    let forgot = trace_server()
        .env("DATABASE_URL", &s.database_url)
        .arg("key")
        .output()
        .unwrap();
    assert!(!forgot.status.success());
    assert!(String::from_utf8_lossy(&forgot.stderr).contains("--signing-key"));
    // `kiosk add` prints the key kiosks must pin: the file's.
    let pair = run(trace_server()
        .env("DATABASE_URL", &s.database_url)
        .arg("--signing-key")
        .arg(&file)
        .args(["kiosk", "add", "--venue", "mall", "--name", "gate-02", "--url", &s.url]));
    assert!(pair.ends_with(&format!("--server-key {public}")), "{pair}");
}

#[test]
fn moving_the_key_out_keeps_the_kiosks_pin() {
    let s = TestServer::start();
    let pinned = s.server_key();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("signing.key");
    let moved = run(trace_server()
        .env("DATABASE_URL", &s.database_url)
        .args(["key", "move-out", "--out"])
        .arg(&file));
    assert_eq!(moved, pinned);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM server_key WHERE secret NOT LIKE 'moved-out%'"),
        0,
        "no secret left in the database"
    );
    // Without the file, commands say where the key went instead of making a new one.
    let forgot = trace_server()
        .env("DATABASE_URL", &s.database_url)
        .arg("key")
        .output()
        .unwrap();
    assert!(!forgot.status.success());
    assert!(String::from_utf8_lossy(&forgot.stderr).contains("--signing-key"));
    let served = run(trace_server()
        .env("DATABASE_URL", &s.database_url)
        .env("TRACE_SERVER_SIGNING_KEY", &file)
        .arg("key"));
    assert_eq!(served, pinned);
    // A file with another key: refused, kiosks are pinned to the moved one.
    let other = dir.path().join("other.key");
    run(trace_server().args(["key", "generate", "--out"]).arg(&other));
    let wrong = kiosk_add_signed_with(&s, &other);
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("pinned to"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    let twice = trace_server()
        .env("DATABASE_URL", &s.database_url)
        .args(["key", "move-out", "--out"])
        .arg(dir.path().join("again.key"))
        .output()
        .unwrap();
    assert!(!twice.status.success());
    assert!(String::from_utf8_lossy(&twice.stderr).contains("holds no signing key"));
}

#[test]
fn a_file_key_other_than_the_pinned_database_key_is_refused() {
    let s = TestServer::start();
    let _pinned = s.server_key();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("signing.key");
    run(trace_server().args(["key", "generate", "--out"]).arg(&file));
    let out = trace_server()
        .env("DATABASE_URL", &s.database_url)
        .arg("--signing-key")
        .arg(&file)
        .arg("key")
        .output()
        .unwrap();
    // `key` with a file only reads the file; serving checks it against the database.
    assert!(out.status.success());
    let serve = kiosk_add_signed_with(&s, &file);
    assert!(!serve.status.success(), "kiosks are pinned to the database's key");
    assert!(String::from_utf8_lossy(&serve.stderr).contains("key move-out"));
}
