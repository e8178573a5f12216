//! Decoder regression on real images: the zxing-cpp samples in ../shared/qr-samples (or
//! $QR_SAMPLES). The rate is asserted, not timed: speed lives in `cargo bench --bench decoders`.

use std::path::{Path, PathBuf};

use kiosk::decode::{Pipeline, load_frame};

mod common;

fn samples_dir() -> Option<PathBuf> {
    let dir = std::env::var("QR_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/qr-samples"));
    dir.is_dir().then_some(dir)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("png" | "jpg" | "webp"))
            && path.with_extension("txt").exists()
        {
            out.push(path);
        }
    }
}

#[test]
fn thorough_pipeline_reads_at_least_91_percent_of_the_samples() {
    let Some(dir) = samples_dir() else {
        eprintln!("QR samples absent (set QR_SAMPLES or provide ../shared/qr-samples): skipping");
        return;
    };
    let mut files = Vec::new();
    collect(&dir, &mut files);
    assert!(files.len() > 100, "expected the 137 samples, found {}", files.len());
    let pipeline = Pipeline::thorough();
    let mut ok = 0;
    for f in &files {
        let expected = std::fs::read_to_string(f.with_extension("txt"))
            .unwrap()
            .replace("\r\n", "\n");
        let frame = load_frame(f).unwrap();
        // Also proves the seam: qrcode-6/7.png panics inside rqrr, and we must survive it.
        let outcome = pipeline.decode(&frame);
        if outcome
            .texts
            .iter()
            .any(|t| t.replace("\r\n", "\n").trim_end() == expected.trim_end())
        {
            ok += 1;
        }
    }
    let rate = ok as f64 / files.len() as f64;
    eprintln!("read {ok}/{} = {:.1}%", files.len(), rate * 100.0);
    assert!(rate >= 0.91, "decoder regression: {ok}/{} read", files.len());
}

/// `kiosk decode --live` runs exactly the camera's decoder on stills, taken as successive
/// frames: per file, the texts a `LiveScanner` fed the same files in the same order reads in
/// this process, which on these hard stills are fewer than the thorough pipeline's (so the flag
/// is not ignored).
#[test]
fn decode_live_runs_the_camera_pipeline_on_stills() {
    let Some(dir) = samples_dir() else {
        eprintln!("QR samples absent (set QR_SAMPLES or provide ../shared/qr-samples): skipping");
        return;
    };
    let mut files = Vec::new();
    collect(&dir, &mut files);
    files.sort();
    let run = |live: bool| {
        let mut cmd = common::kiosk();
        cmd.arg("decode");
        if live {
            cmd.arg("--live");
        }
        let out = cmd.args(&files).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        common::json_lines(&String::from_utf8(out.stdout).unwrap())
    };
    let (live, thorough) = (run(true), run(false));
    assert_eq!(live.len(), files.len());
    let mut camera = kiosk::decode::LiveScanner::without_time_budget();
    let count = |lines: &[serde_json::Value]| lines.iter().filter(|l| l["texts"] != serde_json::json!([])).count();
    for (file, line) in files.iter().zip(&live) {
        assert_eq!(line["file"], file.display().to_string());
        assert!(line["ms"].as_f64().unwrap() >= 0.0);
        let texts = camera.decode(&load_frame(file).unwrap()).texts;
        assert_eq!(line["texts"], serde_json::json!(texts), "{}", file.display());
    }
    assert!(
        count(&live) < count(&thorough),
        "live {} vs thorough {}",
        count(&live),
        count(&thorough)
    );
}

/// The live cascade on generated 1280×720 camera frames carrying real passes: it must read at
/// least what rxing alone reads at full resolution, and its full-resolution window stage must
/// add reads the half-size stage misses (small and defocused codes). Seeded, so deterministic.
#[test]
fn live_pipeline_beats_rxing_alone_on_camera_frames() {
    use chrono::{TimeZone, Utc};
    use kiosk::decode::{Prep, RxingDecoder, Stage};
    use kiosk::framegen::{Difficulty, Rng, camera_frame};

    let key = passes::vp1::IssuerKey::from_seed("live-test", [3; 32]);
    let at = Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap();
    let mut rng = Rng::new(77);
    let difficulty = Difficulty::default();
    let live = Pipeline::live();
    let full = Pipeline::single(Box::new(RxingDecoder::default()));
    let half = Pipeline {
        stages: vec![Stage {
            backend: Box::new(RxingDecoder::default()),
            prep: Prep {
                shrink: 2,
                ..Prep::default()
            },
        }],
    };
    let (mut by_live, mut by_full, mut by_half) = (0, 0, 0);
    let frames = 24;
    for i in 0..frames {
        let claims = passes::vp1::Claims::health(
            "live-test",
            format!("subject-{i:04}"),
            "王*明",
            passes::vp1::HealthColour::Green,
            at,
            at + chrono::Duration::hours(24),
        );
        let text = passes::vp1::issue(&key, &claims).unwrap();
        let frame = camera_frame(&text, &mut rng, &difficulty).unwrap();
        let reads = |p: &Pipeline| p.decode(&frame).texts.contains(&text) as usize;
        by_live += reads(&live);
        by_full += reads(&full);
        by_half += reads(&half);
    }
    eprintln!("of {frames}: live {by_live}, rxing full {by_full}, rxing half {by_half}");
    assert!(by_live >= by_full, "live {by_live} < rxing alone {by_full}");
    assert!(
        by_live > by_half,
        "the window stage added nothing: {by_live} vs {by_half}"
    );
    assert!(by_live * 2 > frames, "live read only {by_live} of {frames}");
}
