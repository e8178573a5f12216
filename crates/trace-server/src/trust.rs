//! The signed policy document kiosks fetch: trusted issuers per format and risk regions,
//! signed with the server's Ed25519 key (its public half is pinned in each kiosk's
//! `[sync] server_key`).

use chrono::Utc;
use wire::{FormatTrust, POLICY_VERSION, PolicyDocument, SignedDocument};

use crate::db::Db;
use crate::error::ServerError;

/// How long a signed trust list is good for: a kiosk offline longer than this falls back to
/// the issuers in its own kiosk.toml (a stolen old list cannot be replayed for ever).
pub const TRUST_LIST_DAYS: i64 = 30;

/// The trust-list signing key: from `file` when given (kept out of the database: a leaked
/// database or backup then cannot forge trust lists), else the one kept in the database
/// (made on first use; fine for trying things, `trace-server key move-out` takes it out).
pub async fn signing_key(db: &Db, file: Option<&std::path::Path>) -> Result<passes::vp1::IssuerKey, ServerError> {
    let Some(path) = file else {
        return server_key(db).await;
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        ServerError::Config(format!(
            "cannot read the signing key {}: {e}; make one with `trace-server key generate --out FILE`",
            path.display()
        ))
    })?;
    let key = passes::vp1::IssuerKey::parse_secret_file(&text)
        .map_err(|e| ServerError::Config(format!("signing key {}: {e}", path.display())))?;
    let public = public_hex(&key);
    let stored = db.server_key_secret().await?;
    if let Some(pinned) = stored.as_deref().and_then(moved_out_id)
        && pinned != public
    {
        // The key was moved out (or served from a file from the start) and this file holds
        // another: kiosks are pinned to the first.
        return Err(ServerError::Config(format!(
            "{} holds signing key {public}, but kiosks are pinned to {pinned} (the key this database was \
             served with): give the file that holds that key",
            path.display()
        )));
    }
    if let Some(stored) = stored
        && passes::vp1::IssuerKey::parse_secret_file(&stored).is_ok_and(|k| public_hex(&k) != public)
    {
        // Kiosks are pinned to the database's key: signing with another would cut them all off.
        return Err(ServerError::Config(format!(
            "the database holds the signing key kiosks are pinned to, and {} is another one. Move the \
             database's key out instead: remove {} (if it was made at install) and run \
             `trace-server key move-out --out {}`",
            path.display(),
            path.display(),
            path.display()
        )));
    }
    // A file from the start: the database notes it, so a later run without the file fails
    // loudly instead of making a second key no kiosk is pinned to.
    db.keep_first_server_key(&moved_out(&public)).await?;
    Ok(key)
}

/// Writes the database's signing key to `out` (0600, never over an existing file) and deletes
/// it from the database, so kiosks keep their pinned key and the database no longer holds it.
pub async fn move_key_out(db: &Db, out: &std::path::Path) -> Result<passes::vp1::IssuerKey, ServerError> {
    let text = db
        .server_key_secret()
        .await?
        .filter(|t| !is_moved_out(t))
        .ok_or_else(|| {
            ServerError::Config("the database holds no signing key (it is made on first use, or was moved out)".into())
        })?;
    let key = passes::vp1::IssuerKey::parse_secret_file(&text).map_err(|e| ServerError::Config(e.to_string()))?;
    write_new_secret(out, &text)?;
    db.mark_server_key_moved_out(&moved_out(&public_hex(&key))).await?;
    Ok(key)
}

/// Writes a secret key file: created new (never over another), mode 0600, synced.
pub fn write_new_secret(path: &std::path::Path, text: &str) -> Result<(), ServerError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |e: std::io::Error| ServerError::Config(format!("cannot write {}: {e}", path.display()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(fail)?;
    f.write_all(text.as_bytes()).and_then(|()| f.sync_all()).map_err(fail)
}

/// What the database keeps in place of a key kept in a file (moved out, or given from the
/// start): `moved-out:` and the key's public hex or fingerprint. A command run without the
/// file then says so instead of quietly making a second key, and a file holding another key
/// is refused. (A bare `moved-out` is from before the key was noted: any file is taken.)
const MOVED_OUT: &str = "moved-out";

fn moved_out(id: &str) -> String {
    format!("{MOVED_OUT}:{id}")
}

fn is_moved_out(stored: &str) -> bool {
    stored == MOVED_OUT || moved_out_id(stored).is_some()
}

fn moved_out_id(stored: &str) -> Option<&str> {
    stored.strip_prefix(MOVED_OUT)?.strip_prefix(':')
}

/// The signing key kept in the database, made on first use.
pub async fn server_key(db: &Db) -> Result<passes::vp1::IssuerKey, ServerError> {
    let parse =
        |text: &str| passes::vp1::IssuerKey::parse_secret_file(text).map_err(|e| ServerError::Config(e.to_string()));
    if let Some(text) = db.server_key_secret().await? {
        if is_moved_out(&text) {
            return Err(ServerError::Config(
                "the signing key is kept in a file, not in the database (moved out, or served from a file \
                 from the start): give --signing-key FILE or set TRACE_SERVER_SIGNING_KEY (a .deb install \
                 keeps it in /etc/trace-server/signing.key)"
                    .into(),
            ));
        }
        return parse(&text);
    }
    let key = passes::vp1::IssuerKey::generate("trace-server").map_err(|e| ServerError::Config(e.to_string()))?;
    parse(&db.keep_first_server_key(&key.to_secret_file()).await?)
}

/// Hex public key for kiosk.toml `[sync] server_key`.
pub fn public_hex(key: &passes::vp1::IssuerKey) -> String {
    key.to_public_file()
        .trim()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Trusts a VP1 issuer from its `.pub` file text, for `kinds` of pass only when given (a
/// worksite's badge key must not mint health codes; without `kinds` an issuer trusted before
/// keeps its scope); returns the issuer id and the scope now stored (`None`: any kind).
pub async fn add_issuer(
    db: &Db,
    public_file_text: &str,
    kinds: Option<&[passes::vp1::PassKind]>,
) -> Result<(String, Option<Vec<String>>), ServerError> {
    let mut probe = passes::vp1::TrustStore::new();
    let issuer = probe
        .add_public_file(public_file_text)
        .map_err(|e| ServerError::BadRequest(e.to_string()))?;
    if probe.get(&issuer).is_some_and(passes::vp1::is_demo_key) {
        return Err(ServerError::BadRequest(
            "this is the demo issuer's key, whose secret is public: a trust list must never carry it".into(),
        ));
    }
    if kinds.is_some_and(<[_]>::is_empty) {
        return Err(ServerError::BadRequest(
            "--kinds names no kind: give health, travel or badge (or leave it out for any)".into(),
        ));
    }
    let kinds: Option<Vec<String>> = kinds.map(|k| k.iter().map(|k| k.as_str().to_string()).collect());
    let scope = db
        .trust_issuer(&issuer, public_file_text.trim(), kinds.as_deref())
        .await?;
    Ok((issuer, scope))
}

/// Trusts every EU DCC signer certificate in `bytes` (DER, PEM, or a JSON list such as a
/// gateway export), all in one transaction. Expired ones are skipped (an export holds many):
/// one line each, like the added ones (key id, subject, validity, types it may sign).
pub async fn add_dscs(db: &Db, bytes: &[u8]) -> Result<Vec<String>, ServerError> {
    let dscs = passes::hc1::parse_certificates(bytes).map_err(|e| ServerError::BadRequest(e.to_string()))?;
    let now = Utc::now();
    let mut lines = Vec::new();
    let mut rows = Vec::new();
    for dsc in dscs {
        let types: Vec<&str> = dsc.types.iter().map(|t| t.as_str()).collect();
        let expired = dsc.not_after <= now;
        lines.push(format!(
            "{}{}\t{}\tvalid {} to {}\t{}",
            if expired { "skipped (expired) " } else { "" },
            dsc.kid_base64(),
            dsc.subject,
            dsc.not_before.format("%Y-%m-%d"),
            dsc.not_after.format("%Y-%m-%d"),
            if types.is_empty() {
                "every type".to_string()
            } else {
                types.join(", ")
            }
        ));
        if !expired {
            rows.push((dsc.kid_base64(), dsc.country.clone(), dsc.to_base64(), dsc.not_after));
        }
    }
    db.trust_dscs(&rows).await?;
    Ok(lines)
}

/// The deployment's secret for DCC holders' ids: kiosks receive it once at pairing (`whoami`),
/// so every kiosk keys ids alike; tracers use it via `dcc-subject`; the console derives its
/// per-venue aliases from it. Never printed by `Debug`.
#[derive(Clone)]
pub struct SubjectKey([u8; 32]);

impl std::fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SubjectKey(<secret>)")
    }
}

impl SubjectKey {
    fn parse(text: &str, whence: &str) -> Result<SubjectKey, ServerError> {
        hex::decode(text.trim())
            .ok()
            .and_then(|k| k.try_into().ok())
            .map(SubjectKey)
            .ok_or_else(|| ServerError::Config(format!("{whence}: the subject key must be 64 hex characters")))
    }

    fn fresh() -> Result<SubjectKey, ServerError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| ServerError::Config(format!("no randomness from the system: {e}")))?;
        Ok(SubjectKey(key))
    }

    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn fingerprint(&self) -> String {
        passes::hc1::subject_key_fingerprint(&self.0)
    }
}

/// The subject key: from `file` when given (kept out of the database like the signing key: a
/// dump then holds pseudonymous ids but not the key that links them to names), else the one
/// kept in the database (made on first use; `trace-server subject-key move-out` takes it out).
pub async fn subject_key(db: &Db, file: Option<&std::path::Path>) -> Result<SubjectKey, ServerError> {
    let stored = db.subject_key_secret().await?;
    let Some(path) = file else {
        return match stored {
            Some(text) if is_moved_out(&text) => Err(ServerError::Config(
                "the DCC subject key is kept in a file, not in the database (`subject-key move-out`, or \
                 served from a file from the start): give --subject-key FILE or set TRACE_SERVER_SUBJECT_KEY"
                    .into(),
            )),
            Some(text) => SubjectKey::parse(&text, "the database's subject key"),
            None => SubjectKey::parse(
                &db.keep_first_subject_key(&SubjectKey::fresh()?.hex()).await?,
                "the database's subject key",
            ),
        };
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        ServerError::Config(format!(
            "cannot read the subject key {}: {e}; make one with `trace-server subject-key generate --out FILE`",
            path.display()
        ))
    })?;
    let key = SubjectKey::parse(&text, &path.display().to_string())?;
    match stored {
        Some(text) if moved_out_id(&text).is_some_and(|id| id != key.fingerprint()) => {
            Err(ServerError::Config(format!(
                "{} holds another subject key than the one this deployment's ids were made with: give the file \
             `subject-key move-out` wrote (a new key would split every holder's history)",
                path.display()
            )))
        }
        Some(text) if !is_moved_out(&text) && SubjectKey::parse(&text, "").is_ok_and(|k| k.0 != key.0) => {
            // Kiosks key ids with the database's key: another one would split every history.
            Err(ServerError::Config(format!(
                "the database holds the subject key kiosks use, and {} is another one. Move the database's \
                 key out instead: remove {} and run `trace-server subject-key move-out --out {}`",
                path.display(),
                path.display(),
                path.display()
            )))
        }
        Some(_) => Ok(key),
        // A file from the start: the database notes it, so a later run without the file fails
        // loudly instead of making a second key.
        None => {
            db.keep_first_subject_key(&moved_out(&key.fingerprint())).await?;
            Ok(key)
        }
    }
}

/// Writes the database's subject key to `out` (0600, never over an existing file) and deletes
/// it from the database.
pub async fn move_subject_key_out(db: &Db, out: &std::path::Path) -> Result<SubjectKey, ServerError> {
    let text = db
        .subject_key_secret()
        .await?
        .filter(|t| !is_moved_out(t))
        .ok_or_else(|| {
            ServerError::Config("the database holds no subject key (it is made on first use, or was moved out)".into())
        })?;
    let key = SubjectKey::parse(&text, "the database's subject key")?;
    write_new_secret(out, &format!("{}\n", key.hex()))?;
    db.mark_subject_key_moved_out(&moved_out(&key.fingerprint())).await?;
    Ok(key)
}

/// A new subject key file (0600), for a deployment that keeps it out of the database from the
/// start.
pub fn generate_subject_key(out: &std::path::Path) -> Result<(), ServerError> {
    write_new_secret(out, &format!("{}\n", SubjectKey::fresh()?.hex()))
}

/// A name as the certificate transliterates it (ICAO 9303): upper case A-Z, `<` between parts.
/// "Mustermann-Gabler" → "MUSTERMANN<GABLER"; letters outside A-Z must be given transliterated.
fn transliterated(name: &str) -> Result<String, ServerError> {
    let upper: String = name
        .trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '<',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    if upper.is_empty() || !passes::hc1::is_transliteration(&upper) {
        return Err(ServerError::BadRequest(format!(
            "{name:?}: give the name as the certificate transliterates it (A-Z, `<` between parts, e.g. MUSTERMANN<GABLER)"
        )));
    }
    Ok(upper)
}

/// The pseudonymous id the kiosks log for a DCC holder (names as transliterated on the
/// certificate, e.g. MUSTERMANN, ERIKA — case and spaces are normalised; date of birth as
/// printed: YYYY-MM-DD, YYYY-MM or YYYY). Audited under `who` with the id it gave, never the
/// name: turning a name into an id is how a tracer finds a person.
pub async fn dcc_subject(
    db: &Db,
    key: &SubjectKey,
    who: &str,
    family_t: &str,
    given_t: Option<&str>,
    dob: &str,
) -> Result<String, ServerError> {
    let family_t = transliterated(family_t)?;
    let given_t = given_t.map(transliterated).transpose()?;
    let dob_ok = passes::hc1::is_dob(dob);
    if !dob_ok {
        return Err(ServerError::BadRequest(format!(
            "date of birth {dob:?}: give it as the certificate prints it (YYYY-MM-DD, YYYY-MM, YYYY, or empty)"
        )));
    }
    let (family_t, given_t) = (family_t.as_str(), given_t.as_deref());
    let id = passes::hc1::subject_id(key.bytes(), family_t, given_t, dob);
    db.audit(who, "dcc_subject", &serde_json::json!({ "subject": id }))
        .await?;
    Ok(id)
}

pub async fn add_risk_region(db: &Db, region: &str) -> Result<(), ServerError> {
    db.add_risk_region(region).await
}

/// The current trust list, signed.
pub async fn signed_policy(db: &Db, key: &passes::vp1::IssuerKey) -> Result<SignedDocument, ServerError> {
    let (rows, risk_regions) = db.trust_list().await?;
    // Scoped issuers apart from the others: a kiosk too old to read scopes must not see them.
    let (scoped, anykind): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.kinds.is_some());
    let scoped = scoped
        .into_iter()
        .map(|r| wire::ScopedIssuer {
            key: r.public_key,
            kinds: r.kinds.unwrap_or_default(),
        })
        .collect();
    let issuers = anykind.into_iter().map(|r| r.public_key).collect();
    let now = Utc::now();
    let dscs = db.dsc_list(now).await?;
    let doc = PolicyDocument {
        version: POLICY_VERSION,
        issued_at: now,
        expires_at: Some(now + chrono::Duration::days(TRUST_LIST_DAYS)),
        issuers: Vec::new(),
        // Each format its section: VP1 issuer key files, HC1 signer certificates (base64 DER).
        formats: [
            (
                "vp1".to_string(),
                FormatTrust {
                    issuers,
                    scoped,
                    ..FormatTrust::default()
                },
            ),
            (
                "hc1".to_string(),
                FormatTrust {
                    issuers: dscs,
                    ..FormatTrust::default()
                },
            ),
        ]
        .into(),
        risk_regions,
    };
    let document = serde_json::to_string(&doc).map_err(|e| ServerError::Config(e.to_string()))?;
    let signature = passes::vp1::sign_document(key, document.as_bytes());
    Ok(SignedDocument { document, signature })
}
