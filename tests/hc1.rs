//! EU DCC (HC1) end to end through the real binary: certificates issued here under freshly
//! made signer certificates (DSCs), rendered as QR images, read back by the real decoder and
//! judged by `kiosk scan`; a real certificate from the EU conformance vectors
//! (../shared/dcc-testdata, or $DCC_TESTDATA) checked against its own and a foreign DSC; and
//! `kiosk dcc conformance` over those vectors.

mod common;

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use common::*;
use serde_json::{Value, json};

const VACCINATION_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 1847, 2021, 1, 2];
const TEST_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 1847, 2021, 1, 1];

/// A DSC valid through 2021-2027, limited to the given type OIDs; its PEM is written to `pem`.
fn make_dsc(pem: &Path, country: &str, oids: &[&[u64]]) -> passes::hc1::Signer {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CountryName, country);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("DSC {country}"));
    params.not_before = rcgen::date_time_ymd(2021, 1, 1);
    params.not_after = rcgen::date_time_ymd(2027, 1, 1);
    params.extended_key_usages = oids
        .iter()
        .map(|o| rcgen::ExtendedKeyUsagePurpose::Other(o.to_vec()))
        .collect();
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(pem, cert.pem()).unwrap();
    use p256::pkcs8::DecodePrivateKey;
    passes::hc1::Signer {
        key: p256::ecdsa::SigningKey::from_pkcs8_der(&key.serialize_der()).unwrap(),
        kid: passes::hc1::kid_of(cert.der()),
    }
}

fn vaccination(family: &str, dose: u32) -> Value {
    json!({
        "ver": "1.3.0",
        "nam": {"fn": "Mustermann", "fnt": family, "gn": "Erika", "gnt": "ERIKA"},
        "dob": "1964-08-12",
        "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
               "dn": dose, "sd": 2, "dt": "2026-09-01", "co": "DE", "is": "Robert Koch-Institut",
               "ci": format!("URN:UVCI:01:DE:TEST{dose}#X")}]
    })
}

/// Erika Mustermann's completed vaccination, issued a month before `now`, valid for 300 days.
fn current_vaccination(signer: &passes::hc1::Signer, now: DateTime<Utc>) -> String {
    let (issued, expires) = (now - chrono::Duration::days(30), now + chrono::Duration::days(300));
    passes::hc1::issue(signer, "DE", issued, expires, &vaccination("MUSTERMANN", 2)).unwrap()
}

fn pcr_test(sampled: &str) -> Value {
    json!({
        "ver": "1.3.0",
        "nam": {"fn": "Mustermann", "fnt": "MUSTERMANN", "gn": "Erika", "gnt": "ERIKA"},
        "dob": "1964-08-12",
        "t": [{"tg": "840539006", "tt": "LP6464-4", "sc": sampled, "tr": "260415000", "tc": "Testzentrum",
               "co": "DE", "is": "Robert Koch-Institut", "ci": "URN:UVCI:01:DE:PCR1#Y"}]
    })
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn png(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(format!("{name}.png"));
    kiosk::render::write_qr_png(text, &path).unwrap();
    path
}

fn scan(dir: &Path, dsc: &[&Path], when: &str, images: &[&Path]) -> Vec<Value> {
    let mut cmd = kiosk();
    cmd.current_dir(dir).args(["scan", "--at", when]);
    for d in dsc {
        cmd.arg("--trust-dsc").arg(d);
    }
    cmd.args(images);
    json_lines(&run_ok(&mut cmd))
}

#[test]
fn an_hc1_issued_here_is_admitted_and_forgeries_get_distinct_reasons() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let de = dir.join("dsc-de.pem");
    let signer = make_dsc(&de, "DE", &[VACCINATION_OID]);
    let lab = dir.join("dsc-lab.pem");
    let lab_signer = make_dsc(&lab, "DE", &[TEST_OID]);
    let issued = at("2026-10-01T08:00:00Z");
    let expires = at("2027-01-01T00:00:00Z");
    let when = "2026-11-24T10:00:00Z";

    // Signed to outlive its signer (whose certificate ends 2027-01-01).
    let good = passes::hc1::issue(
        &signer,
        "DE",
        issued,
        at("2028-01-01T00:00:00Z"),
        &vaccination("MUSTERMANN", 2),
    )
    .unwrap();
    // One signature byte flipped, the rest untouched.
    let mut sign1 = passes::hc1::open(&good).unwrap();
    sign1.signature[10] ^= 0x01;
    let flipped = passes::envelope::seal(sign1, passes::hc1::PREFIX).unwrap();
    let incomplete = passes::hc1::issue(&signer, "DE", issued, expires, &vaccination("MUSTERMANN", 1)).unwrap();
    // A test lab's key may sign tests only.
    let wrong_type = passes::hc1::issue(&lab_signer, "DE", issued, expires, &vaccination("MUSTERMANN", 2)).unwrap();
    let old_test = passes::hc1::issue(&lab_signer, "DE", issued, expires, &pcr_test("2026-11-20T09:00:00Z")).unwrap();
    let fresh_test = passes::hc1::issue(&lab_signer, "DE", issued, expires, &pcr_test("2026-11-24T07:00:00Z")).unwrap();

    let images: Vec<PathBuf> = [
        ("good", &good),
        ("flipped", &flipped),
        ("incomplete", &incomplete),
        ("wrong_type", &wrong_type),
        ("old_test", &old_test),
        ("fresh_test", &fresh_test),
    ]
    .iter()
    .map(|(name, text)| png(dir, name, text))
    .collect();
    let refs: Vec<&Path> = images.iter().map(PathBuf::as_path).collect();
    let lines = scan(dir, &[&de, &lab], when, &refs);
    let got: Vec<(String, String)> = lines
        .iter()
        .map(|l| {
            (
                l["verdict"].as_str().unwrap().into(),
                l["reason"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("admit", "ok"),
        ("invalid", "bad_signature"),
        ("deny", "dcc_series_incomplete"),
        ("invalid", "dcc_signer_not_for_type"),
        ("deny", "dcc_test_too_old"),
        ("admit", "ok"),
    ];
    assert_eq!(
        got,
        want.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>(),
        "{lines:#?}"
    );
    let admitted = &lines[0];
    assert_eq!(admitted["format"], "hc1");
    assert_eq!(admitted["name"], "E**** M*********", "the transliterated name, masked");
    assert_eq!(admitted["dcc"]["type"], "vaccination");
    assert!(admitted["subject"].as_str().unwrap().starts_with("hc1:"));

    // Without the signer's certificate the same code is from an unknown signer.
    let unknown = scan(dir, &[&lab], when, &refs[..1]);
    assert_eq!(unknown[0]["reason"], "unknown_issuer");
    // Judged after the signer certificate expired (2027-01-01), it is expired, though its own
    // expiry is a year later: nothing outlives its signer.
    let late = scan(dir, &[&de], "2027-02-01T00:00:00Z", &refs[..1]);
    assert_eq!(late[0]["reason"], "expired");
}

#[test]
fn the_log_keeps_a_keyed_id_linking_one_persons_certificates_and_never_the_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let de = dir.join("dsc.pem");
    let signer = make_dsc(&de, "DE", &[]);
    let issued = Utc.with_ymd_and_hms(2026, 10, 1, 8, 0, 0).unwrap();
    let expires = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
    let vacc = passes::hc1::issue(&signer, "DE", issued, expires, &vaccination("MUSTERMANN", 2)).unwrap();
    let test = passes::hc1::issue(&signer, "DE", issued, expires, &pcr_test("2026-11-24T07:00:00Z")).unwrap();
    let other = passes::hc1::issue(&signer, "DE", issued, expires, &vaccination("MUSTERFRAU", 2)).unwrap();
    let toml = format!(
        "[kiosk]\nid = \"gate-1\"\n[venue]\nid = \"mall-1\"\n[gate]\nmode = \"auto\"\n[storage]\npath = \"kiosk.db\"\n\
         [trust.hc1]\ndsc = [\"dsc.pem\"]\nsubject_key = \"{}\"\n",
        "ab".repeat(32)
    );
    std::fs::write(dir.join("kiosk.toml"), toml).unwrap();
    let images = [
        png(dir, "vacc", &vacc),
        png(dir, "test", &test),
        png(dir, "other", &other),
    ];
    let mut cmd = kiosk();
    cmd.current_dir(dir)
        .args([
            "--config",
            "kiosk.toml",
            "scan",
            "--record",
            "--at",
            "2026-11-24T10:00:00Z",
        ])
        .args(&images);
    let lines = json_lines(&run_ok(&mut cmd));
    let subjects: Vec<&str> = lines.iter().map(|l| l["subject"].as_str().unwrap()).collect();
    assert_eq!(
        subjects[0], subjects[1],
        "one person's vaccination and test link: {lines:#?}"
    );
    assert_ne!(subjects[0], subjects[2], "another person does not");
    assert_eq!(lines[0]["direction"], "entry");
    assert_eq!(
        lines[1]["repeat"], true,
        "the same person scanned again at once is a repeat, not a new visit: {lines:#?}"
    );
    let db = std::fs::read(dir.join("kiosk.db")).unwrap();
    let wal = std::fs::read(dir.join("kiosk.db-wal")).unwrap_or_default();
    for needle in ["MUSTERMANN", "Mustermann", "1964-08-12", "ERIKA"] {
        let found = |bytes: &[u8]| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(!found(&db) && !found(&wal), "{needle} must not be stored");
    }
    // A different deployment key gives different ids: without the key, ids cannot be linked
    // to a guessed name.
    let toml = std::fs::read_to_string(dir.join("kiosk.toml"))
        .unwrap()
        .replace(&"ab".repeat(32), &"cd".repeat(32));
    std::fs::write(dir.join("kiosk.toml"), toml).unwrap();
    let mut cmd = kiosk();
    cmd.current_dir(dir)
        .args(["--config", "kiosk.toml", "scan", "--at", "2026-11-24T10:00:00Z"])
        .arg(&images[0]);
    let again = json_lines(&run_ok(&mut cmd));
    assert_ne!(again[0]["subject"], lines[0]["subject"]);
}

fn testdata() -> PathBuf {
    let dir = std::env::var("DCC_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/dcc-testdata"));
    assert!(
        dir.is_dir(),
        "the EU DCC test vectors are missing: provide ../shared/dcc-testdata or set DCC_TESTDATA"
    );
    dir
}

#[test]
fn a_real_certificate_verifies_under_its_own_signer_and_not_under_another_countrys() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let case: Value =
        serde_json::from_slice(&std::fs::read(testdata().join("common/2DCode/raw/CO3.json")).unwrap()).unwrap();
    let text = case["PREFIX"].as_str().unwrap();
    let own = dir.join("own.b64");
    std::fs::write(&own, case["TESTCTX"]["CERTIFICATE"].as_str().unwrap()).unwrap();
    let foreign = dir.join("foreign.pem");
    make_dsc(&foreign, "FR", &[]);
    let image = png(dir, "real", text);
    let clock = case["TESTCTX"]["VALIDATIONCLOCK"].as_str().unwrap();

    let mine = scan(dir, &[&own], clock, &[&image]);
    assert_ne!(
        mine[0]["verdict"], "invalid",
        "it verifies under its own DSC: {mine:#?}"
    );
    assert_eq!(mine[0]["format"], "hc1");
    let theirs = scan(dir, &[&foreign], clock, &[&image]);
    assert_eq!(theirs[0]["verdict"], "invalid");
    assert_eq!(theirs[0]["reason"], "unknown_issuer");
}

#[test]
fn the_conformance_vectors_pass_at_99_percent_and_every_forgery_case_is_caught() {
    let mut cmd = kiosk();
    cmd.args(["dcc", "conformance", "--format", "json"]).arg(testdata());
    let out = cmd.output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&String::from_utf8(out.stdout).unwrap());
    let (totals, failures) = lines.split_last().unwrap();
    let (checks, passed) = (totals["checks"].as_u64().unwrap(), totals["passed"].as_u64().unwrap());
    assert!(checks > 1000, "{totals}");
    assert!(passed * 100 >= checks * 99, "{passed}/{checks}: {failures:#?}");
    // A check expected to fail that passed would be a forgery let through: none may.
    let let_through: Vec<&Value> = failures.iter().filter(|f| f["expected"] == false).collect();
    let schema_only = let_through.iter().all(|f| f["check"] == "EXPECTEDSCHEMAVALIDATION");
    assert!(
        schema_only,
        "only value-set schema cases may pass unexpectedly: {let_through:#?}"
    );
}

#[test]
fn signer_certificates_added_on_the_server_reach_the_kiosk_in_the_signed_list() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = trace_server::testkit::TestServer::start();
    let token = server.add_kiosk("k1", "v1");
    let pem = dir.join("dsc.pem");
    let signer = make_dsc(&pem, "DE", &[VACCINATION_OID]);
    let bytes = std::fs::read(&pem).unwrap();
    let added = server.with_db(|db| async move { trace_server::trust::add_dscs(&db, &bytes).await.unwrap() });
    assert_eq!(added.len(), 1);
    assert!(added[0].contains("vaccination"), "{added:?}");
    // Adding the same file again is harmless (one row per key id).
    let bytes = std::fs::read(&pem).unwrap();
    server.with_db(|db| async move { trace_server::trust::add_dscs(&db, &bytes).await.unwrap() });
    assert_eq!(server.count("SELECT COUNT(*) FROM trusted_dscs"), 1);

    let now = Utc::now();
    let text = current_vaccination(&signer, now);
    let mut config = kiosk::config::Config::defaults().unwrap();
    let keyless = config.rules();
    config.hc1.subject_key = kiosk::pass::SubjectKey::from_hex(&"ef".repeat(32));
    let base = config.rules();
    assert_eq!(
        base.judge(&text, now).reason,
        wire::Reason::UnknownIssuer,
        "not trusted before the list"
    );

    let cache = kiosk::sync::policy_cache_path(&dir.join("kiosk.db"));
    let client = sync_client(&server.url, &token);
    let list = client.refresh_policy(&server.server_key(), &cache, now).unwrap();
    assert_eq!(list.issuer_count("hc1"), 1);
    let (merged, refused) = kiosk::check::Rules::merged(&base, &list);
    assert!(refused.is_empty(), "{refused:?}");
    let verdict = merged.judge(&text, now);
    assert_eq!(verdict.reason, wire::Reason::Ok, "{verdict:?}");
    // A kiosk with no subject key verifies the signer but accepts no DCC: ids keyed per run
    // would split one visitor into two.
    let (keyless, _) = kiosk::check::Rules::merged(&keyless, &list);
    assert_eq!(keyless.judge(&text, now).reason, wire::Reason::KindNotAccepted);

    // Removed on the server: the next list no longer carries it.
    let kid = added[0].split('\t').next().unwrap().to_string();
    assert!(server.with_db(|db| async move { db.untrust_dsc(&kid).await.unwrap() }));
    let later = now + chrono::Duration::seconds(1);
    let list = client.refresh_policy(&server.server_key(), &cache, later).unwrap();
    assert_eq!(list.issuer_count("hc1"), 0);
}

#[test]
fn paired_kiosks_share_the_deployment_subject_key_and_a_tracer_computes_the_same_id() {
    let server = trace_server::testkit::TestServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pem = dir.join("dsc.pem");
    let signer = make_dsc(&pem, "DE", &[]);
    let now = Utc::now();
    let text = current_vaccination(&signer, now);
    let image = png(dir, "cert", &text);
    let mut subjects = Vec::new();
    for gate in ["north", "south"] {
        let token = server.add_kiosk(gate, "mall");
        let folder = dir.join(gate);
        std::fs::create_dir(&folder).unwrap();
        let config = folder.join("kiosk.toml");
        std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("kiosk.toml"), &config).unwrap();
        let out = kiosk()
            .current_dir(&folder)
            .arg("--config")
            .arg(&config)
            .args([
                "pair",
                "--url",
                &server.url,
                "--token",
                &token,
                "--server-key",
                &server.server_key(),
            ])
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{said}");
        assert!(said.contains("[trust.hc1] subject_key = <secret>"), "{said}");
        let mut cmd = kiosk();
        cmd.current_dir(&folder)
            .arg("--config")
            .arg(&config)
            .args(["scan", "--trust-dsc"])
            .arg(&pem)
            .arg(&image);
        subjects.push(
            json_lines(&run_ok(&mut cmd))[0]["subject"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(subjects[0], subjects[1], "both gates key the holder alike");
    let traced = server.with_db(|db| async move {
        let key = trace_server::trust::subject_key(&db, None).await.unwrap();
        trace_server::trust::dcc_subject(&db, &key, "cli", "MUSTERMANN", Some("ERIKA"), "1964-08-12")
            .await
            .unwrap()
    });
    assert_eq!(
        traced, subjects[0],
        "the tracer finds the holder's visits under the same id"
    );
}
