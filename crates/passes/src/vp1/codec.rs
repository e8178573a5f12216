//! The QR text form: `VP1:` + base45(zlib(COSE_Sign1 over a CWT claim set)).

use chrono::{DateTime, NaiveDate, Utc};
use ciborium::Value;
use coset::cwt::{ClaimsSet, ClaimsSetBuilder, Timestamp};
use coset::{CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder, iana};
use ed25519_dalek::{Signature, Signer};

use super::claims::{Claims, HealthColour, PassKind, TravelEntry};
use super::error::PassError;
use super::keys::{IssuerKey, TrustStore};

pub const PREFIX: &str = "VP1:";
/// Version of the claim set inside the `vp` claim; bumped on any incompatible change.
const CLAIMS_VERSION: i64 = 1;
/// Name of the CWT claim holding the VP1 claim map.
const VP_CLAIM: &str = "vp";

/// Signs `claims` with `key` and returns the QR text. The issuer claim is taken from the key,
/// so a key can only ever issue passes in its own name.
pub fn issue(key: &IssuerKey, claims: &Claims) -> Result<String, PassError> {
    let mut vp: Vec<(Value, Value)> = vec![
        (text("v"), Value::Integer(CLAIMS_VERSION.into())),
        (text("n"), text(&claims.display_name)),
        (text("k"), text(claims.kind.as_str())),
    ];
    if let Some(h) = claims.health {
        vp.push((text("h"), text(h.as_str())));
    }
    if !claims.travel.is_empty() {
        let entries = claims
            .travel
            .iter()
            .map(|e| Value::Array(vec![text(&e.region), text(&e.date.to_string())]))
            .collect();
        vp.push((text("t"), Value::Array(entries)));
    }
    if claims.risk {
        vp.push((text("r"), Value::Bool(true)));
    }
    if let Some(role) = &claims.badge_role {
        vp.push((text("b"), text(role)));
    }
    let cwt = ClaimsSetBuilder::new()
        .issuer(key.issuer.clone())
        .subject(claims.subject.clone())
        .issued_at(Timestamp::WholeSeconds(claims.issued_at.timestamp()))
        .expiration_time(Timestamp::WholeSeconds(claims.expires_at.timestamp()))
        .text_claim(VP_CLAIM.to_string(), Value::Map(vp))
        .build();
    seal(key, cwt)
}

/// Signs a CWT with `key` and packs it: COSE_Sign1 → zlib → base45 → `VP1:`.
fn seal(key: &IssuerKey, cwt: ClaimsSet) -> Result<String, PassError> {
    let payload = cwt.to_vec().map_err(|e| PassError::Malformed(e.to_string()))?;
    issue_raw(key, payload)
}

/// Signs any payload bytes as a VP1 pass, well-formed claims or not: for the fuzzer and for
/// tests that need a validly signed pass with hostile contents (only a key holder can).
pub fn issue_raw(key: &IssuerKey, payload: Vec<u8>) -> Result<String, PassError> {
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .key_id(key.issuer.as_bytes().to_vec())
        .build();
    let sign1 = CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .create_signature(b"", |data| key.key.sign(data).to_bytes().to_vec())
        .build();
    crate::envelope::seal(sign1, PREFIX).map_err(|e| PassError::Malformed(e.to_string()))
}

/// Parses a pass without checking its signature: the key id and the claims it asserts.
/// Only for diagnostics and the fuzzer; admission decisions use [`verify`].
pub fn decode_unverified(qr_text: &str) -> Result<(String, Claims, CoseSign1), PassError> {
    let sign1 = crate::envelope::open(qr_text, PREFIX).map_err(|e| match e {
        crate::envelope::EnvelopeError::Prefix(_) => PassError::NotAPass,
        other => PassError::Malformed(other.to_string()),
    })?;
    if sign1.protected.header.alg != Some(coset::RegisteredLabelWithPrivate::Assigned(iana::Algorithm::EdDSA)) {
        return Err(malformed("signature algorithm is not EdDSA"));
    }
    let kid = String::from_utf8(sign1.protected.header.key_id.clone()).map_err(|_| malformed("key id is not text"))?;
    let payload = sign1.payload.as_deref().ok_or_else(|| malformed("no payload"))?;
    let cwt = ClaimsSet::from_slice(payload).map_err(|_| malformed("claims are not a CWT"))?;
    let claims = claims_from_cwt(cwt)?;
    Ok((kid, claims, sign1))
}

/// Verifies a pass against the trusted issuers and returns its claims.
/// Time checks (expiry, freshness) are the policy's, because they need the kiosk's clock.
pub fn verify(qr_text: &str, trust: &TrustStore) -> Result<Claims, PassError> {
    let (kid, claims, sign1) = decode_unverified(qr_text)?;
    let key = trust.get(&kid).ok_or_else(|| PassError::UnknownIssuer(kid.clone()))?;
    sign1.verify_signature(b"", |sig, data| {
        let sig = Signature::from_slice(sig).map_err(|_| PassError::BadSignature)?;
        key.verify_strict(data, &sig).map_err(|_| PassError::BadSignature)
    })?;
    // The signature covers the issuer claim; a key may only speak for its own issuer id.
    if claims.issuer != kid {
        return Err(PassError::BadSignature);
    }
    Ok(claims)
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn malformed(what: &str) -> PassError {
    PassError::Malformed(what.to_string())
}

fn timestamp(ts: Option<Timestamp>, name: &str) -> Result<DateTime<Utc>, PassError> {
    let secs = match ts {
        Some(Timestamp::WholeSeconds(s)) => s,
        Some(Timestamp::FractionalSeconds(f)) if f.is_finite() => f as i64,
        _ => return Err(PassError::Malformed(format!("missing or bad {name}"))),
    };
    DateTime::from_timestamp(secs, 0).ok_or_else(|| PassError::Malformed(format!("{name} out of range")))
}

fn claims_from_cwt(cwt: ClaimsSet) -> Result<Claims, PassError> {
    let issuer = cwt.issuer.clone().ok_or_else(|| malformed("no issuer"))?;
    let subject = cwt
        .subject
        .clone()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| malformed("no subject"))?;
    if subject.len() > 128 {
        return Err(malformed("subject too long"));
    }
    let issued_at = timestamp(cwt.issued_at.clone(), "issued-at")?;
    let expires_at = timestamp(cwt.expiration_time.clone(), "expiry")?;
    let vp = cwt
        .rest
        .into_iter()
        .find_map(|(name, value)| match name {
            coset::cwt::ClaimName::Text(t) if t == VP_CLAIM => Some(value),
            _ => None,
        })
        .ok_or_else(|| malformed("no vp claim"))?;
    let Value::Map(entries) = vp else {
        return Err(malformed("vp claim is not a map"));
    };
    // A key twice ("h": "red", "h": "green") would let two readers of one signed pass see two
    // different passes; refused, as are keys that are not text.
    let mut seen = std::collections::HashSet::new();
    for (k, _) in &entries {
        let k = k
            .as_text()
            .ok_or_else(|| malformed("vp claim has a key that is not text"))?;
        if !seen.insert(k) {
            return Err(malformed("vp claim has a duplicate key"));
        }
    }
    let get = |key: &str| entries.iter().find(|(k, _)| k.as_text() == Some(key)).map(|(_, v)| v);
    let version = get("v").and_then(|v| v.as_integer()).map(i128::from);
    if version != Some(CLAIMS_VERSION as i128) {
        return Err(malformed("unsupported claims version"));
    }
    let text_of = |key: &str| get(key).and_then(Value::as_text).map(str::to_string);
    let kind: PassKind = text_of("k")
        .ok_or_else(|| malformed("no kind"))?
        .parse()
        .map_err(PassError::Malformed)?;
    let health = match text_of("h") {
        Some(h) => Some(h.parse::<HealthColour>().map_err(PassError::Malformed)?),
        None => None,
    };
    if kind == PassKind::Health && health.is_none() {
        return Err(malformed("health pass without a colour"));
    }
    let mut travel = Vec::new();
    if let Some(t) = get("t") {
        let list = t.as_array().ok_or_else(|| malformed("travel is not a list"))?;
        for item in list {
            let pair = item
                .as_array()
                .filter(|p| p.len() == 2)
                .ok_or_else(|| malformed("bad travel entry"))?;
            let region = pair[0]
                .as_text()
                .ok_or_else(|| malformed("bad travel region"))?
                .to_string();
            let date = pair[1]
                .as_text()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .ok_or_else(|| malformed("bad travel date"))?;
            travel.push(TravelEntry { region, date });
        }
    }
    let risk = match get("r") {
        None => false,
        Some(v) => v.as_bool().ok_or_else(|| malformed("risk flag is not a boolean"))?,
    };
    Ok(Claims {
        issuer,
        subject,
        display_name: text_of("n").unwrap_or_default(),
        kind,
        health,
        travel,
        risk,
        badge_role: text_of("b"),
        issued_at,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use coset::TaggedCborSerializable;
    use flate2::Compression;
    use flate2::write::ZlibEncoder;

    use super::*;
    use chrono::TimeZone;

    fn sample() -> Claims {
        Claims {
            issuer: "gd-health".into(),
            subject: "p-7f3a".into(),
            display_name: "张*三".into(),
            kind: PassKind::Travel,
            health: Some(HealthColour::Green),
            travel: vec![TravelEntry {
                region: "HK".into(),
                date: NaiveDate::from_ymd_opt(2026, 11, 10).unwrap(),
            }],
            risk: true,
            badge_role: None,
            issued_at: Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap(),
            expires_at: Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap(),
        }
    }

    fn trust(key: &IssuerKey) -> TrustStore {
        let mut t = TrustStore::new();
        t.add(&key.issuer, key.public_key());
        t
    }

    #[test]
    fn round_trip_keeps_every_claim_and_stays_alphanumeric() {
        let key = IssuerKey::from_seed("gd-health", [1; 32]);
        let qr = issue(&key, &sample()).unwrap();
        assert!(qr.starts_with(PREFIX));
        // base45 output stays in the QR alphanumeric set, so the code stays small.
        assert!(
            qr.bytes()
                .all(|b| b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains(&b))
        );
        assert_eq!(verify(&qr, &trust(&key)).unwrap(), sample());
    }

    #[test]
    fn forgeries_are_refused_with_the_right_reason() {
        let key = IssuerKey::from_seed("gd-health", [1; 32]);
        let other = IssuerKey::from_seed("gd-health", [2; 32]);
        let qr = issue(&key, &sample()).unwrap();
        // Same issuer id, different key: the signature must not verify.
        assert_eq!(
            verify(&issue(&other, &sample()).unwrap(), &trust(&key)),
            Err(PassError::BadSignature)
        );
        let stranger = IssuerKey::from_seed("xx-health", [3; 32]);
        assert_eq!(
            verify(&issue(&stranger, &sample()).unwrap(), &trust(&key)),
            Err(PassError::UnknownIssuer("xx-health".into()))
        );
        assert_eq!(verify("hello", &trust(&key)), Err(PassError::NotAPass));
        assert_eq!(
            verify(&qr[..qr.len() / 2], &trust(&key)).unwrap_err().reason(),
            "malformed"
        );
    }

    #[test]
    fn a_signed_pass_with_a_key_twice_is_refused() {
        let key = IssuerKey::from_seed("gd-health", [1; 32]);
        let claims = sample();
        let cwt = |vp: Vec<(Value, Value)>| {
            ClaimsSetBuilder::new()
                .issuer("gd-health".into())
                .subject("p-7f3a".into())
                .issued_at(Timestamp::WholeSeconds(claims.issued_at.timestamp()))
                .expiration_time(Timestamp::WholeSeconds(claims.expires_at.timestamp()))
                .text_claim("vp".into(), Value::Map(vp))
                .build()
        };
        let base = vec![
            (text("v"), Value::Integer(1.into())),
            (text("k"), text("health")),
            (text("h"), text("red")),
        ];
        let single = seal(&key, cwt(base.clone())).unwrap();
        assert_eq!(verify(&single, &trust(&key)).unwrap().health, Some(HealthColour::Red));
        let mut twice = base.clone();
        twice.push((text("h"), text("green")));
        let err = verify(&seal(&key, cwt(twice)).unwrap(), &trust(&key)).unwrap_err();
        assert!(
            matches!(&err, PassError::Malformed(m) if m.contains("duplicate")),
            "{err:?}"
        );
        let mut odd = base;
        odd.push((Value::Integer(7.into()), text("x")));
        assert!(verify(&seal(&key, cwt(odd)).unwrap(), &trust(&key)).is_err());
    }

    #[test]
    fn a_flipped_payload_byte_breaks_the_signature() {
        let key = IssuerKey::from_seed("gd-health", [1; 32]);
        let qr = issue(&key, &sample()).unwrap();
        let (_, _, sign1) = decode_unverified(&qr).unwrap();
        let mut tampered = sign1.clone();
        let mut claims = sample();
        claims.health = Some(HealthColour::Green);
        claims.risk = false; // the forger's wish
        let forged_payload = ClaimsSetBuilder::new()
            .issuer("gd-health".into())
            .subject("p-7f3a".into())
            .issued_at(Timestamp::WholeSeconds(claims.issued_at.timestamp()))
            .expiration_time(Timestamp::WholeSeconds(claims.expires_at.timestamp()))
            .text_claim(
                "vp".into(),
                Value::Map(vec![
                    (text("v"), Value::Integer(1.into())),
                    (text("k"), text("health")),
                    (text("h"), text("green")),
                ]),
            )
            .build()
            .to_vec()
            .unwrap();
        tampered.payload = Some(forged_payload);
        let cose = tampered.to_tagged_vec().unwrap();
        let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
        z.write_all(&cose).unwrap();
        let forged = format!("{PREFIX}{}", base45::encode(z.finish().unwrap()));
        assert_eq!(verify(&forged, &trust(&key)), Err(PassError::BadSignature));
    }
}
