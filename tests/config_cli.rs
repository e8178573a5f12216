//! `kiosk check-config`: the shipped kiosk.toml is valid, and bad ones say what and where.

mod common;

use common::*;

#[test]
fn shipped_config_is_valid_from_any_working_directory() {
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("kiosk.toml");
    let tmp = tempfile::tempdir().unwrap();
    let out = run_ok(
        kiosk()
            .current_dir(tmp.path())
            .arg("--config")
            .arg(&config)
            .arg("check-config"),
    );
    assert!(out.contains("ok"), "{out}");
    let db = config.parent().unwrap().join("kiosk.db");
    assert!(
        out.contains(&db.display().to_string()),
        "relative paths resolve against the config's folder: {out}"
    );
}

fn check(toml: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("kiosk.toml");
    std::fs::write(&path, toml).unwrap();
    let out = kiosk().arg("--config").arg(&path).arg("check-config").output().unwrap();
    assert!(!out.status.success(), "expected failure for {toml}");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn bad_configs_name_the_problem() {
    assert!(check("[policy]\nhealth_admit = [\"blue\"]\n").contains("health_admit"));
    assert!(check("[venue]\ntimezone = \"Mars/Base\"\n").contains("timezone"));
    assert!(check("[gate]\nmode = \"sideways\"\n").contains("mode"));
    assert!(check("[gate]\nwhen_not_recorded = \"maybe\"\n").contains("refuse"));
    assert!(
        check("[gaet]\nmode = \"entry\"\n").contains("gaet"),
        "unknown sections are errors"
    );
    assert!(check("[trust]\nissuers = [\"missing.pub\"]\n").contains("missing.pub"));
    assert!(check("[trust.vp1]\nissuers = [\"gone.pub\"]\n").contains("gone.pub"));
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/demo-issuer.pub");
    assert!(
        check(&format!("[trust.vp1]\nissuers = [{:?}]\n", demo.display().to_string())).contains("secret is public"),
        "the demo key is refused outside --demo"
    );
    assert!(
        check("[trust.xx9]\nissuers = []\n").contains("xx9"),
        "an unknown format is named"
    );
    assert!(check("[policy]\nmax_pass_age = \"soon\"\n").contains("max_pass_age"));
    assert!(check("[sync]\nurl = \"ftp://x\"\ntoken = \"t\"\nserver_key = \"k\"\n").contains("http"));
    assert!(check("[sync]\nurl = \"http://x\"\ntoken = \"t\"\nbatch_size = 9000\n").contains("5000"));
    assert!(check("[sync]\nurl = \"http://x\"\ntoken = \"t\"\ntimeout_seconds = 0\n").contains("timeout_seconds"));
    assert!(
        check("[sync]\nurl = \"http://10.1.2.3:8080\"\ntoken = \"kt_x\"\n").contains("https://"),
        "plain HTTP to another machine is refused"
    );
}

#[test]
fn secrets_are_redacted_in_debug_output() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("kiosk.toml");
    std::fs::write(
        &path,
        "[sync]\nurl = \"http://127.0.0.1:1\"\ntoken = \"very-secret-token\"\nserver_key = \"k\"\n",
    )
    .unwrap();
    let config = kiosk::config::Config::load(&path).unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("very-secret-token"));
    assert!(debug.contains("<redacted>"));
}

#[test]
fn the_sound_section_is_checked_and_reported() {
    assert!(check("[sound]\nvolume = 150\n").contains("use 0 (silent) to 100"));
    assert!(check("[sound]\nvoice_languages = [\"fr\"]\n").contains("\"fr\""));
    assert!(
        check("[sound]\nloudness = 3\n").contains("loudness"),
        "unknown keys are errors"
    );
    let report = |toml: &str| {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("kiosk.toml");
        std::fs::write(&path, toml).unwrap();
        run_ok(kiosk().arg("--config").arg(&path).arg("check-config"))
    };
    assert!(report("").contains("sound: tones and voice (zh-CN, en) at 80%"));
    assert!(report("[sound]\nvoice_languages = [\"en\"]\nvolume = 60\n").contains("voice (en) at 60%"));
    assert!(report("[sound]\nvoice = false\n").contains("tones at 80%, no voice"));
    assert!(report("[sound]\nvolume = 0\n").contains("sound: off"));
}
