//! Decoder regression on real images: the zxing-cpp samples in ../shared/qr-samples (or
//! $QR_SAMPLES). The rate is asserted, not timed: speed lives in `cargo bench --bench decoders`.

use std::path::{Path, PathBuf};

use kiosk::decode::{Pipeline, load_frame};

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
