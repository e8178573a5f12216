//! The EU DCC conformance vectors (dgc-testdata): each case file holds one certificate at
//! every layer (JSON, CBOR, COSE, COMPRESSED, BASE45, PREFIX, 2DCODE), a context (the signer
//! certificate, the validation clock) and the expected result of each check. Running a case
//! performs every check whose expectation is present and compares.
//!
//! The files differ in spelling (key case, nesting of the expectations, a byte-order mark):
//! keys are matched case-insensitively and expectations are found at any depth, never by
//! country or file name.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value as Json;

use super::*;

/// The checks the vectors define, in the order they are run.
pub const CHECKS: &[&str] = &[
    "EXPECTEDVALIDOBJECT",
    "EXPECTEDSCHEMAVALIDATION",
    "EXPECTEDENCODE",
    "EXPECTEDDECODE",
    "EXPECTEDVERIFY",
    "EXPECTEDUNPREFIX",
    "EXPECTEDVALIDJSON",
    "EXPECTEDCOMPRESSION",
    "EXPECTEDB45DECODE",
    "EXPECTEDPICTUREDECODE",
    "EXPECTEDEXPIRATIONCHECK",
    "EXPECTEDKEYUSAGE",
];

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub file: PathBuf,
    pub check: &'static str,
    pub expected: bool,
    pub actual: bool,
    /// Why the step failed, when it did.
    pub detail: String,
    /// The case sets an expectation but lacks the input the check reads (a 2DCODE check with
    /// no picture): reported, not counted as passed or failed.
    pub skipped: bool,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        !self.skipped && self.expected == self.actual
    }
}

/// Every case file under `dir`: `*/2DCode/raw/*.json`, at any depth, sorted.
pub fn find_cases(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) && in_raw_folder(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn in_raw_folder(path: &Path) -> bool {
    let parts: Vec<String> = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_ascii_lowercase())
        .collect();
    parts.windows(3).any(|w| w[0] == "2dcode" && w[1] == "raw") || parts.ends_with(&["raw".into()])
}

/// Decodes the 2DCODE picture (PNG bytes) into the texts of the codes in it.
pub type PictureDecoder<'a> = &'a dyn Fn(&[u8]) -> Result<Vec<String>, String>;

/// Runs one case file. An unreadable file is one failed check named `FILE`.
pub fn run_case(file: &Path, bytes: &[u8], picture: PictureDecoder) -> Vec<Outcome> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let case: Json = match serde_json::from_slice(bytes) {
        Ok(c) => c,
        Err(e) => {
            return vec![Outcome {
                file: file.to_path_buf(),
                check: "FILE",
                expected: true,
                actual: false,
                detail: format!("not JSON: {e}"),
                skipped: false,
            }];
        }
    };
    let case = Case::new(&case);
    CHECKS
        .iter()
        .filter_map(|&check| {
            let expected = case.expected(check)?;
            if let Some(missing) = case.missing_input(check) {
                return Some(Outcome {
                    file: file.to_path_buf(),
                    check,
                    expected,
                    actual: false,
                    detail: format!("the case has no {missing}"),
                    skipped: true,
                });
            }
            let (actual, detail) = match case.run(check, picture) {
                Ok(()) => (true, String::new()),
                Err(why) => (false, why),
            };
            Some(Outcome {
                file: file.to_path_buf(),
                check,
                expected,
                actual,
                detail,
                skipped: false,
            })
        })
        .collect()
}

struct Case<'a> {
    root: &'a Json,
}

/// `key` in `obj`, case-insensitively.
fn field<'a>(obj: &'a Json, key: &str) -> Option<&'a Json> {
    obj.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// The first value under `key` at any depth.
fn deep<'a>(v: &'a Json, key: &str) -> Option<&'a Json> {
    match v {
        Json::Object(map) => field(v, key).or_else(|| map.values().find_map(|x| deep(x, key))),
        Json::Array(items) => items.iter().find_map(|x| deep(x, key)),
        _ => None,
    }
}

fn as_bool(v: &Json) -> Option<bool> {
    match v {
        Json::Bool(b) => Some(*b),
        Json::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Json::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        Json::Object(_) => field(v, "value").and_then(as_bool),
        _ => None,
    }
}

type Step<T> = Result<T, String>;

impl<'a> Case<'a> {
    fn new(root: &'a Json) -> Case<'a> {
        Case { root }
    }

    fn expected(&self, check: &str) -> Option<bool> {
        let results = field(self.root, "EXPECTEDRESULTS").or_else(|| field(self.root, "EXPECTEDRESULT"))?;
        deep(results, check).and_then(as_bool)
    }

    /// The input a check reads that this case does not hold, if any.
    fn missing_input(&self, check: &str) -> Option<&'static str> {
        let has = |k: &str| field(self.root, k).is_some_and(|v| !v.is_null());
        let has_cose = has("COSE") || has("PREFIX");
        let needs: &[(&'static str, bool)] = match check {
            "EXPECTEDVALIDOBJECT" => &[("JSON", has("JSON"))],
            "EXPECTEDSCHEMAVALIDATION" => &[("payload", has("CBOR") || has_cose || has("JSON"))],
            "EXPECTEDENCODE" => &[("JSON", has("JSON")), ("CBOR", has("CBOR"))],
            "EXPECTEDDECODE" => &[("CBOR", has("CBOR"))],
            "EXPECTEDVERIFY" | "EXPECTEDKEYUSAGE" => &[
                ("COSE or PREFIX", has_cose),
                ("TESTCTX.CERTIFICATE", self.ctx("CERTIFICATE").is_some()),
            ],
            "EXPECTEDUNPREFIX" => &[("PREFIX", has("PREFIX"))],
            "EXPECTEDVALIDJSON" => &[("PREFIX", has("PREFIX")), ("JSON", has("JSON"))],
            "EXPECTEDCOMPRESSION" => &[("COMPRESSED", has("COMPRESSED"))],
            "EXPECTEDB45DECODE" => &[("BASE45", has("BASE45"))],
            "EXPECTEDPICTUREDECODE" => &[("2DCODE", has("2DCODE"))],
            "EXPECTEDEXPIRATIONCHECK" => &[("COSE or PREFIX", has_cose)],
            _ => &[],
        };
        needs.iter().find(|(_, present)| !present).map(|(name, _)| *name)
    }

    fn text(&self, key: &str) -> Option<&'a str> {
        field(self.root, key).and_then(Json::as_str).map(str::trim)
    }

    fn hex(&self, key: &str) -> Option<Step<Vec<u8>>> {
        self.text(key)
            .map(|h| hex::decode(h).map_err(|_| format!("{key} is not hex")))
    }

    fn json(&self) -> Option<&'a Json> {
        field(self.root, "JSON").filter(|j| !j.is_null())
    }

    fn ctx(&self, key: &str) -> Option<&'a Json> {
        let ctx = field(self.root, "TESTCTX")?;
        field(ctx, key)
    }

    fn clock(&self) -> Step<DateTime<Utc>> {
        let raw = self
            .ctx("VALIDATIONCLOCK")
            .or_else(|| self.ctx("validationClockInstant"))
            .and_then(Json::as_str)
            .ok_or("no TESTCTX.VALIDATIONCLOCK")?;
        parse_clock(raw).ok_or_else(|| format!("VALIDATIONCLOCK {raw:?} is not a time"))
    }

    fn trust(&self) -> Step<DscStore> {
        let cert = self
            .ctx("CERTIFICATE")
            .and_then(Json::as_str)
            .ok_or("no TESTCTX.CERTIFICATE")?;
        let mut store = DscStore::new();
        for dsc in parse_certificates(cert.as_bytes()).map_err(|e| e.to_string())? {
            store.add(dsc);
        }
        Ok(store)
    }

    /// The COSE_Sign1: from COSE, else from the whole chain starting at PREFIX.
    fn sign1(&self) -> Step<CoseSign1> {
        match self.hex("COSE") {
            Some(bytes) => envelope::parse_sign1(&bytes?).map_err(|e| e.to_string()),
            None => {
                let prefixed = self.text("PREFIX").ok_or("neither COSE nor PREFIX given")?;
                open(prefixed).map_err(|e| e.to_string())
            }
        }
    }

    /// The payload as JSON, from the rawest layer present: CBOR, else COSE/PREFIX, else JSON.
    fn payload(&self) -> Step<Json> {
        if self.text("CBOR").is_some() {
            return self.cbor();
        }
        if self.text("COSE").is_some() || self.text("PREFIX").is_some() {
            let cwt = claims(&self.sign1()?).map_err(|e| e.to_string())?;
            return cbor_to_json(&cwt.hcert);
        }
        self.json().cloned().ok_or_else(|| "no payload given".into())
    }

    /// The CBOR field as JSON. Some vectors give the bare payload there, others the whole
    /// CWT claim set around it: a claim map holding -260 is opened.
    fn cbor(&self) -> Step<Json> {
        let bytes = self.hex("CBOR").ok_or("no CBOR")??;
        let value: ciborium::Value = ciborium::from_reader(bytes.as_slice()).map_err(|e| format!("CBOR: {e}"))?;
        cbor_to_json(&unwrap_cwt(value))
    }

    fn run(&self, check: &str, picture: PictureDecoder) -> Step<()> {
        match check {
            "EXPECTEDVALIDOBJECT" => {
                validate_strict(self.json().ok_or("no JSON")?).map_err(|e| e.to_string())?;
            }
            "EXPECTEDSCHEMAVALIDATION" => {
                validate_strict(&self.payload()?).map_err(|e| e.to_string())?;
            }
            "EXPECTEDENCODE" => {
                let json = self.json().ok_or("no JSON")?;
                let mut encoded = Vec::new();
                ciborium::into_writer(&json_to_cbor(json), &mut encoded).map_err(|e| e.to_string())?;
                let ours: ciborium::Value = ciborium::from_reader(encoded.as_slice()).map_err(|e| e.to_string())?;
                if !same_payload(&cbor_to_json(&ours)?, &self.cbor()?) {
                    return Err("the JSON encodes to other CBOR than given".into());
                }
            }
            "EXPECTEDDECODE" => {
                let decoded = self.cbor()?;
                if let Some(json) = self.json()
                    && !same_payload(&decoded, json)
                {
                    return Err("the CBOR decodes to other content than the JSON".into());
                }
                if self.text("COSE").is_some() {
                    let cwt = claims(&self.sign1()?).map_err(|e| e.to_string())?;
                    if !same_payload(&cbor_to_json(&cwt.hcert)?, &decoded) {
                        return Err("the COSE payload differs from the CBOR".into());
                    }
                }
            }
            "EXPECTEDVERIFY" => {
                let sign1 = self.sign1()?;
                verify_signature(&sign1, &self.trust()?).map_err(|e| e.to_string())?;
                claims(&sign1).map_err(|e| e.to_string())?;
            }
            "EXPECTEDUNPREFIX" => {
                let prefixed = self.text("PREFIX").ok_or("no PREFIX")?;
                let body = envelope::unprefix(prefixed, PREFIX).map_err(|e| e.to_string())?;
                if let Some(b45) = self.text("BASE45")
                    && b45 != body
                {
                    return Err("the text after the prefix differs from BASE45".into());
                }
            }
            "EXPECTEDVALIDJSON" => {
                let prefixed = self.text("PREFIX").ok_or("no PREFIX")?;
                let cwt = claims(&open(prefixed).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
                let json = self.json().ok_or("no JSON")?;
                if !same_payload(&cbor_to_json(&cwt.hcert)?, json) {
                    return Err("the decoded chain differs from the JSON".into());
                }
            }
            "EXPECTEDCOMPRESSION" => {
                let zipped = self.hex("COMPRESSED").ok_or("no COMPRESSED")??;
                let inflated = envelope::inflate(&zipped).map_err(|e| e.to_string())?;
                if let Some(cose) = self.hex("COSE")
                    && cose? != inflated
                {
                    return Err("COMPRESSED inflates to other bytes than COSE".into());
                }
            }
            "EXPECTEDB45DECODE" => {
                let decoded =
                    envelope::base45_decode(self.text("BASE45").ok_or("no BASE45")?).map_err(|e| e.to_string())?;
                if let Some(zipped) = self.hex("COMPRESSED") {
                    if zipped? != decoded {
                        return Err("BASE45 decodes to other bytes than COMPRESSED".into());
                    }
                } else if let Some(cose) = self.hex("COSE")
                    && envelope::inflate(&decoded).ok() != Some(cose?)
                {
                    return Err("BASE45 decodes and inflates to other bytes than COSE".into());
                }
            }
            "EXPECTEDPICTUREDECODE" => {
                use base64::Engine;
                let png = self.text("2DCODE").ok_or("no 2DCODE")?;
                let clean: String = png.chars().filter(|c| !c.is_whitespace()).collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(clean)
                    .map_err(|_| "2DCODE is not base64")?;
                let texts = picture(&bytes)?;
                let prefixed = self.text("PREFIX");
                let found = texts.iter().any(|t| prefixed.is_none_or(|p| t.trim() == p));
                if !found {
                    return Err(format!(
                        "the picture holds {} code(s), none equal to PREFIX",
                        texts.len()
                    ));
                }
            }
            "EXPECTEDEXPIRATIONCHECK" => {
                let now = self.clock()?;
                let cwt = claims(&self.sign1()?).map_err(|e| e.to_string())?;
                if let Some(iat) = cwt.issued_at
                    && now < iat
                {
                    return Err(format!("the clock ({now}) is before issued-at ({iat})"));
                }
                let exp = cwt.expires_at.ok_or("no expiry")?;
                if now > exp {
                    return Err(format!("expired at {exp} (clock {now})"));
                }
            }
            "EXPECTEDKEYUSAGE" => {
                // The given signer certificate's usage against the payload's type; whether it
                // made the signature is EXPECTEDVERIFY's question.
                let trust = self.trust()?;
                let dsc = trust.iter().next().ok_or("no signer certificate")?;
                let payload = cbor_to_json(&claims(&self.sign1()?).map_err(|e| e.to_string())?.hcert)?;
                let kind = [
                    ("v", CertType::Vaccination),
                    ("t", CertType::Test),
                    ("r", CertType::Recovery),
                ]
                .into_iter()
                .find(|(k, _)| field(&payload, k).is_some())
                .map(|(_, t)| t)
                .ok_or("the payload names no certificate type")?;
                if !dsc.allows(kind) {
                    return Err(format!("the signer may not sign a {} certificate", kind.as_str()));
                }
            }
            other => return Err(format!("unknown check {other}")),
        }
        Ok(())
    }
}

/// The payload inside a CWT claim map (-260 → 1), or the value itself.
fn unwrap_cwt(value: ciborium::Value) -> ciborium::Value {
    let hcert = |v: &ciborium::Value| {
        v.as_map()?
            .iter()
            .find(|(k, _)| k.as_integer().is_some_and(|i| i128::from(i) == -260))
            .and_then(|(_, v)| v.as_map())?
            .iter()
            .find(|(k, _)| k.as_integer().is_some_and(|i| i128::from(i) == 1))
            .map(|(_, v)| v.clone())
    };
    hcert(&value).unwrap_or(value)
}

/// RFC 3339, or a local date-time without offset (read as UTC).
fn parse_clock(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
        .or_else(|| {
            DateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f%z")
                .map(|t| t.with_timezone(&Utc))
                .ok()
        })
}
