//! `kiosk voice export DIR`: every reason the kiosk can show, spoken by the real espeak-ng in
//! both languages, as WAV files staff can play; and a clear error where espeak-ng is missing.

mod common;

use common::*;
use kiosk::i18n::Messages;
use kiosk::sound::Pcm;

fn export(volume: u8) -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("kiosk.toml");
    std::fs::write(&config, format!("[sound]\nvolume = {volume}\n")).unwrap();
    let out = run_ok(
        kiosk()
            .arg("--config")
            .arg(&config)
            .args(["voice", "export"])
            .arg(tmp.path().join("voice")),
    );
    (tmp, out)
}

fn read(path: &std::path::Path) -> Pcm {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // A canonical header: the lengths are the file's (espeak-ng's pipe output is not).
    assert_eq!(
        u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize,
        bytes.len() - 8
    );
    Pcm::from_wav(&bytes).unwrap_or_else(|| panic!("{} is not a PCM WAV", path.display()))
}

#[test]
fn every_reason_is_spoken_in_both_languages_at_the_configured_volume() {
    let (full, out) = export(100);
    let keys = kiosk::voice::prompt_keys(&Messages::default());
    assert!(keys.len() > 30, "{keys:?}");
    assert!(out.contains(&format!("wrote {} files", 2 * keys.len() + 2)), "{out}");
    let dir = full.path().join("voice");
    for reason in wire::Reason::ALL {
        assert!(keys.contains(&format!("reason-{reason}")), "{reason} has a prompt");
    }
    let mut seen = std::collections::HashSet::new();
    for key in &keys {
        let name = key.trim_start_matches("reason-");
        let zh = read(&dir.join("zh-CN").join(format!("{name}.wav")));
        let en = read(&dir.join("en").join(format!("{name}.wav")));
        for (lang, pcm) in [("zh-CN", &zh), ("en", &en)] {
            // A sentence, spoken: more than a blip, less than a queue can bear, audible.
            assert!(
                (0.8..20.0).contains(&pcm.seconds()),
                "{lang}/{name}: {} s",
                pcm.seconds()
            );
            assert!(pcm.peak() > 4_000, "{lang}/{name} is near silent: peak {}", pcm.peak());
            assert!(
                seen.insert(pcm.samples.clone()),
                "{lang}/{name} sounds like another prompt"
            );
        }
    }
    let admit = read(&dir.join("tones/admit.wav"));
    let refuse = read(&dir.join("tones/refuse.wav"));
    assert_ne!(admit, refuse);

    // The volume in kiosk.toml scales every file.
    let (quiet, _) = export(40);
    for file in ["en/ok.wav", "zh-CN/red_code.wav", "tones/refuse.wav"] {
        let (loud, soft) = (read(&dir.join(file)), read(&quiet.path().join("voice").join(file)));
        assert_eq!(loud.samples.len(), soft.samples.len(), "{file}");
        let ratio = f32::from(soft.peak()) / f32::from(loud.peak());
        assert!((ratio - 0.4).abs() < 0.01, "{file}: {ratio}");
    }
}

#[test]
fn without_espeak_ng_the_export_says_how_to_install_it_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = kiosk()
        .env("PATH", tmp.path())
        .args(["voice", "export"])
        .arg(tmp.path().join("voice"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("apt-get install espeak-ng") && err.contains("voice = false"),
        "{err}"
    );
    assert!(!tmp.path().join("voice").exists(), "nothing half-written");
}
