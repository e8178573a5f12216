//! `kiosk pair` and `check-config --online` through the real binary against a real trace
//! server: the config keeps its comments, the backlog is sent or parked (never stuck), a wrong
//! key writes nothing, and `kiosk scan` decides with the same signed trust list as the screen.

mod common;

use std::path::Path;
use std::process::Output;

use common::*;
use trace_server::testkit::TestServer;

fn shipped_config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("kiosk.toml");
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("kiosk.toml"), &path).unwrap();
    path
}

fn kiosk_with(config: &Path, args: &[&str]) -> Output {
    kiosk().arg("--config").arg(config).args(args).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A kiosk folder with the shipped config and a green pass (`png`), and a server that trusts
/// the pass's issuer and knows kiosk gate-01 at venue mall (`token`).
struct Setup {
    dir: tempfile::TempDir,
    config: std::path::PathBuf,
    png: String,
    server: TestServer,
    token: String,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let config = shipped_config(dir.path());
    keygen(dir.path(), "gd-health");
    issue(
        dir.path(),
        &dir.path().join("gd-health.key"),
        "green",
        &["--kind", "health", "--health", "green"],
    );
    let png = dir.path().join("green.png").to_str().unwrap().to_string();
    let server = TestServer::start();
    let token = server.add_kiosk("gate-01", "mall");
    server.trust_issuer(&std::fs::read_to_string(dir.path().join("gd-health.pub")).unwrap());
    Setup {
        dir,
        config,
        png,
        server,
        token,
    }
}

#[test]
fn pairing_writes_the_ids_keeps_comments_and_frees_the_backlog() {
    let Setup {
        dir,
        config,
        png,
        server,
        token,
    } = setup();
    let png = png.as_str();

    // Before pairing: a scan under the shipped ids (another venue), and one under the paired
    // venue but the shipped kiosk name.
    let trust = dir.path().join("gd-health.pub");
    let trust = trust.to_str().unwrap();
    assert!(
        kiosk_with(&config, &["scan", "--trust", trust, "--record", png])
            .status
            .success()
    );
    let before = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, before.replace("id = \"demo-venue\"", "id = \"mall\"")).unwrap();
    assert!(
        kiosk_with(
            &config,
            &["scan", "--trust", trust, "--record", "--at", "2026-11-23", png]
        )
        .status
        .success()
    );

    // A wrong server key: refused, nothing written.
    let unpaired = std::fs::read_to_string(&config).unwrap();
    let wrong = "00".repeat(32);
    let out = kiosk_with(
        &config,
        &["pair", "--url", &server.url, "--token", &token, "--server-key", &wrong],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("trace-server key"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), unpaired);

    let key = server.server_key();
    let out = kiosk_with(
        &config,
        &["pair", "--url", &server.url, "--token", &token, "--server-key", &key],
    );
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("[kiosk] id = \"gate-01\" (was \"kiosk-1\")"), "{said}");
    assert!(
        said.contains("1 unsent passages recorded as kiosk kiosk-1 at venue mall: will be sent"),
        "{said}"
    );
    assert!(said.contains("at venue demo-venue: parked"), "{said}");
    assert!(!said.contains(&token), "the token is never echoed");
    let paired = std::fs::read_to_string(&config).unwrap();
    assert!(paired.contains("# This kiosk's id"), "comments kept");
    assert!(paired.contains(&format!("token = \"{token}\"")));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&config).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o007,
        0,
        "a config holding a token is not readable by others: {mode:o}"
    );

    let out = kiosk_with(&config, &["check-config", "--online"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("knows this token as kiosk \"gate-01\""));

    // The backlog: one sent under the paired ids, one parked; nothing left stuck.
    let out = kiosk_with(&config, &["sync", "--once"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        server.count("SELECT COUNT(*) FROM passages WHERE kiosk_id = 'gate-01' AND venue_id = 'mall'"),
        1
    );
    assert!(text(&out).contains("parked #1"), "{}", text(&out));

    // `kiosk scan` without --trust admits by the server's list, as the screen does.
    let out = kiosk_with(&config, &["scan", png]);
    let lines = json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(lines[0]["verdict"], "admit", "{}", text(&out));

    // Names that disagree with the server are listed with the fix.
    let renamed = paired.replace("id = \"gate-01\"", "id = \"gate-02\"");
    // …and a DCC subject key other than the server's (compared, never printed).
    let theirs = paired
        .lines()
        .find_map(|l| l.trim().strip_prefix("subject_key = \""))
        .map(|rest| rest.trim_end_matches('"').to_string())
        .expect("pairing wrote the server's subject key");
    let renamed = renamed.replace(&theirs, &"c3".repeat(32));
    std::fs::write(&config, renamed).unwrap();
    let out = kiosk_with(&config, &["check-config", "--online"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("set id = \"gate-01\""), "{}", text(&out));
    assert!(
        text(&out).contains("subject_key differs from the server's"),
        "{}",
        text(&out)
    );
    assert!(
        !text(&out).contains(&theirs) && !text(&out).contains("c3c3"),
        "keys are never printed"
    );
}

#[test]
fn a_wrong_server_key_fails_sync_loudly() {
    let dir = tempfile::tempdir().unwrap();
    let config = shipped_config(dir.path());
    let server = TestServer::start();
    let token = server.add_kiosk("kiosk-1", "demo-venue");
    let text_before = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!(
            "{text_before}\n[sync]\nurl = \"{}\"\ntoken = \"{token}\"\nserver_key = \"{}\"\n",
            server.url,
            "11".repeat(32)
        ),
    )
    .unwrap();
    let out = kiosk_with(&config, &["sync", "--once"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("server_key"), "{}", text(&out));
    let out = kiosk_with(&config, &["check-config", "--online"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not the pinned"), "{}", text(&out));
}

#[test]
fn an_issuer_removed_on_the_server_is_refused_after_the_next_sync() {
    let Setup {
        dir,
        config,
        png,
        server,
        token,
    } = setup();
    let png = png.as_str();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let key = server.server_key();
    let out = kiosk_with(
        &config,
        // The token from a file: it stays out of the process list and the shell's history.
        &[
            "pair",
            "--url",
            &server.url,
            "--token-file",
            token_file.to_str().unwrap(),
            "--server-key",
            &key,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let verdict = |out: Output| json_lines(&String::from_utf8_lossy(&out.stdout))[0]["reason"].clone();
    assert_eq!(verdict(kiosk_with(&config, &["scan", png])), "ok");

    server.remove_issuer("gd-health");
    assert!(kiosk_with(&config, &["sync", "--once"]).status.success());
    assert_eq!(verdict(kiosk_with(&config, &["scan", png])), "unknown_issuer");
}

#[test]
fn a_plain_http_url_to_another_machine_is_refused_before_the_token_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let config = shipped_config(dir.path());
    let before = std::fs::read_to_string(&config).unwrap();
    // Nothing listens there: a refusal that names https proves no request was tried first.
    let out = kiosk_with(
        &config,
        &[
            "pair",
            "--url",
            "http://192.0.2.1:9",
            "--token",
            "kt_secret",
            "--server-key",
            &"00".repeat(32),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("https"), "{}", text(&out));
    assert!(!text(&out).contains("unreachable"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), before);
}
