//! End to end through the real binary: passes issued by the CLI, rendered to PNG, read back by
//! the real decoder and judged by `kiosk scan`.

mod common;

use common::*;
use std::collections::HashMap;

fn verdicts(
    dir: &std::path::Path,
    trust: &[&std::path::Path],
    at: &str,
    names: &[&str],
) -> HashMap<String, serde_json::Value> {
    let mut cmd = kiosk();
    cmd.current_dir(dir).args(["scan", "--at", at]);
    for t in trust {
        cmd.arg("--trust").arg(t);
    }
    for n in names {
        cmd.arg(format!("{n}.png"));
    }
    json_lines(&run_ok(&mut cmd))
        .into_iter()
        .map(|v| (v["file"].as_str().unwrap().trim_end_matches(".png").to_string(), v))
        .collect()
}

#[test]
fn real_passes_get_the_right_verdicts_and_forgeries_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let keys = dir.join("keys");
    keygen(&keys, "gd-health");
    let key = keys.join("gd-health.key");
    let at = "2026-11-22T10:00:00Z";
    let issued = ["--issued-at", "2026-11-22T08:00:00Z"];

    issue(
        dir,
        &key,
        "green",
        &[&["--kind", "health", "--health", "green"][..], &issued].concat(),
    );
    issue(
        dir,
        &key,
        "yellow",
        &[&["--kind", "health", "--health", "yellow"][..], &issued].concat(),
    );
    issue(
        dir,
        &key,
        "red",
        &[&["--kind", "health", "--health", "red"][..], &issued].concat(),
    );
    issue(
        dir,
        &key,
        "travel_ok",
        &[&["--kind", "travel", "--travel", "HK:2026-11-10"][..], &issued].concat(),
    );
    issue(
        dir,
        &key,
        "travel_risk",
        &[
            &["--kind", "travel", "--travel", "HK:2026-11-10", "--risk"][..],
            &issued,
        ]
        .concat(),
    );
    issue(
        dir,
        &key,
        "badge",
        &[
            "--kind",
            "badge",
            "--role",
            "staff",
            "--issued-at",
            "2026-01-01T00:00:00Z",
            "--valid-for",
            "365d",
        ],
    );
    issue(
        dir,
        &key,
        "badge_visitor",
        &[&["--kind", "badge", "--role", "contractor"][..], &issued].concat(),
    );
    issue(
        dir,
        &key,
        "expired",
        &[
            "--kind",
            "health",
            "--health",
            "green",
            "--issued-at",
            "2026-11-20T08:00:00Z",
            "--valid-for",
            "24h",
        ],
    );
    issue(
        dir,
        &key,
        "stale",
        &[
            "--kind",
            "health",
            "--health",
            "green",
            "--issued-at",
            "2026-11-20T08:00:00Z",
            "--valid-for",
            "7d",
        ],
    );
    issue(
        dir,
        &key,
        "future",
        &[
            "--kind",
            "health",
            "--health",
            "green",
            "--issued-at",
            "2026-11-22T12:00:00Z",
        ],
    );

    // Another authority's key under the same issuer id: a forgery.
    let forger_keys = dir.join("forger");
    keygen(&forger_keys, "gd-health");
    issue(
        dir,
        &forger_keys.join("gd-health.key"),
        "forged",
        &[&["--kind", "health", "--health", "green"][..], &issued].concat(),
    );
    // A real issuer the kiosk does not trust.
    let other_keys = dir.join("other");
    keygen(&other_keys, "hk-health");
    issue(
        dir,
        &other_keys.join("hk-health.key"),
        "unknown",
        &[&["--kind", "health", "--health", "green"][..], &issued].concat(),
    );
    // A signed pass with one payload character changed, and one cut short.
    let good = issue(
        dir,
        &key,
        "good_again",
        &[&["--kind", "health", "--health", "green"][..], &issued].concat(),
    );
    let mut flipped = good.clone().into_bytes();
    let i = flipped.len() - 40;
    flipped[i] = if flipped[i] == b'A' { b'B' } else { b'A' };
    kiosk::render::write_qr_png(std::str::from_utf8(&flipped).unwrap(), &dir.join("flipped.png")).unwrap();
    kiosk::render::write_qr_png(&good[..good.len() - 30], &dir.join("truncated.png")).unwrap();
    kiosk::render::write_qr_png("https://example.org/not-a-pass", &dir.join("url.png")).unwrap();
    image::GrayImage::from_pixel(300, 300, image::Luma([200]))
        .save(dir.join("blank.png"))
        .unwrap();

    let pub_key = keys.join("gd-health.pub");
    let names = [
        "green",
        "yellow",
        "red",
        "travel_ok",
        "travel_risk",
        "badge",
        "badge_visitor",
        "expired",
        "stale",
        "future",
        "forged",
        "unknown",
        "flipped",
        "truncated",
        "url",
        "blank",
    ];
    let v = verdicts(dir, &[&pub_key], at, &names);
    let expect = [
        ("green", "admit", "ok"),
        ("yellow", "deny", "yellow_code"),
        ("red", "deny", "red_code"),
        ("travel_ok", "admit", "ok"),
        ("travel_risk", "deny", "travel_risk"),
        ("badge", "admit", "ok"),
        ("badge_visitor", "deny", "badge_not_accepted"),
        ("expired", "invalid", "expired"),
        ("stale", "invalid", "stale"),
        ("future", "invalid", "not_yet_valid"),
        ("forged", "invalid", "bad_signature"),
        ("unknown", "invalid", "unknown_issuer"),
        ("truncated", "invalid", "malformed"),
        ("url", "invalid", "malformed"),
        ("blank", "unreadable", "no_code"),
    ];
    for (name, verdict, reason) in expect {
        assert_eq!(v[name]["verdict"], verdict, "{name}: {}", v[name]);
        assert_eq!(v[name]["reason"], reason, "{name}: {}", v[name]);
    }
    // A flipped base45 character breaks either the compression or the signature; never admits.
    assert_eq!(v["flipped"]["verdict"], "invalid", "{}", v["flipped"]);
    assert!(["bad_signature", "malformed"].contains(&v["flipped"]["reason"].as_str().unwrap()));

    // The good pass carries the pseudonymous subject and the masked name, never the full name.
    assert_eq!(v["green"]["subject"], "subj-green");
    assert_eq!(v["green"]["name"], "张*三");
    assert_eq!(v["green"]["health"], "green");
    assert_eq!(v["green"]["issuer"], "gd-health");

    // Without --trust nothing is accepted: the issuer is unknown.
    let untrusted = verdicts(dir, &[], at, &["green"]);
    assert_eq!(untrusted["green"]["reason"], "unknown_issuer");
}

#[test]
fn keygen_protects_the_secret_and_refuses_to_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    keygen(tmp.path(), "site-a");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(tmp.path().join("site-a.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let out = kiosk()
        .args(["pass", "keygen", "--issuer", "site-a", "--out"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
}

#[test]
fn decode_prints_every_text_and_reports_unreadable_files() {
    let tmp = tempfile::tempdir().unwrap();
    kiosk::render::write_qr_png("HELLO KIOSK", &tmp.path().join("a.png")).unwrap();
    std::fs::write(tmp.path().join("broken.png"), b"not an image").unwrap();
    let out = kiosk()
        .current_dir(tmp.path())
        .args(["decode", "a.png", "broken.png"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a file that cannot be read is an error");
    let lines = json_lines(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(lines[0]["texts"], serde_json::json!(["HELLO KIOSK"]));
    assert!(lines[0]["ms"].as_f64().unwrap() >= 0.0);
    assert!(lines[1]["error"].as_str().unwrap().len() > 3);
}

#[test]
fn an_issuer_trusted_only_for_badges_cannot_mint_health_codes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    keygen(d, "site-badges");
    let key = d.join("site-badges.key");
    issue(d, &key, "health", &["--kind", "health", "--health", "green"]);
    issue(
        d,
        &key,
        "badge",
        &["--kind", "badge", "--role", "staff", "--valid-for", "30d"],
    );
    let config = d.join("kiosk.toml");
    std::fs::write(
        &config,
        "[trust.vp1]\nissuers = [\"site-badges.pub\"]\nkinds = { \"site-badges\" = [\"badge\"] }\n",
    )
    .unwrap();
    let out = run_ok(
        kiosk()
            .arg("--config")
            .arg(&config)
            .arg("scan")
            .arg(d.join("health.png"))
            .arg(d.join("badge.png")),
    );
    let lines = json_lines(&out);
    assert_eq!(lines[0]["reason"], "issuer_not_for_kind", "{out}");
    assert_eq!(lines[1]["reason"], "ok", "{out}");

    std::fs::write(&config, "[trust.vp1]\nkinds = { \"site-badges\" = [\"coupon\"] }\n").unwrap();
    let bad = kiosk()
        .arg("--config")
        .arg(&config)
        .arg("check-config")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("kinds.site-badges"));
}
