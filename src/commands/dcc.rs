//! `kiosk dcc conformance DIR`: runs the EU DCC conformance vectors (dgc-testdata) through
//! this kiosk's HC1 reader and its own QR decoder, one line per failed check, then totals.
//! A check whose expectation is set but whose input the case lacks is counted as `skipped`.

use std::path::Path;

use passes::hc1::conformance::{self, Outcome};
use serde_json::json;

use super::CommandError;
use super::args::ConformanceFormat;
use crate::decode::Pipeline;

/// Exit: 0 when every check passed, 1 when some failed (`SomeChecksFailed`), 2 on errors.
pub fn conformance(dir: &Path, format: ConformanceFormat) -> Result<(), CommandError> {
    let cases = conformance::find_cases(dir).map_err(|source| CommandError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    if cases.is_empty() {
        return Err(CommandError::Usage(format!(
            "no conformance cases under {} (expected <COUNTRY>/2DCode/raw/*.json)",
            dir.display()
        )));
    }
    let pipeline = Pipeline::thorough();
    let picture = |png: &[u8]| -> Result<Vec<String>, String> {
        let frame = image::load_from_memory(png)
            .map_err(|e| format!("not an image: {e}"))?
            .to_luma8();
        Ok(pipeline.decode(&frame).texts)
    };
    let (mut checks, mut passed, mut skipped) = (0usize, 0usize, 0usize);
    for file in &cases {
        let bytes = std::fs::read(file).map_err(|source| CommandError::Read {
            path: file.clone(),
            source,
        })?;
        for outcome in conformance::run_case(file, &bytes, &picture) {
            if outcome.skipped {
                skipped += 1;
                continue;
            }
            checks += 1;
            if outcome.passed() {
                passed += 1;
            } else {
                print_failure(&outcome, dir, format);
            }
        }
    }
    let failed = checks - passed;
    println!(
        "{}",
        json!({"cases": cases.len(), "checks": checks, "passed": passed, "failed": failed, "skipped": skipped})
    );
    if failed == 0 {
        Ok(())
    } else {
        Err(CommandError::SomeChecksFailed { failed, checks })
    }
}

fn print_failure(o: &Outcome, dir: &Path, format: ConformanceFormat) {
    let file = o.file.strip_prefix(dir).unwrap_or(&o.file).display().to_string();
    match format {
        ConformanceFormat::Text => println!(
            "FAIL {file} {}: expected {}, got {}{}",
            o.check,
            o.expected,
            o.actual,
            if o.detail.is_empty() {
                String::new()
            } else {
                format!(" ({})", o.detail)
            }
        ),
        ConformanceFormat::Json => println!(
            "{}",
            json!({"file": file, "check": o.check, "expected": o.expected, "actual": o.actual, "detail": o.detail})
        ),
    }
}
