//! Checking a kiosk's batch before anything is stored: each passage on its own, so one bad
//! passage is refused with its reason while the rest of the batch is stored (a poison pill
//! never blocks a kiosk's queue), and nothing a kiosk token sends can make the server fail.

use chrono::{DateTime, TimeZone, Utc};
use wire::{PassageRecord, Rejection};

/// A passage that passed every check, with its event id parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedPassage {
    pub event_id: uuid::Uuid,
    pub record: PassageRecord,
}

/// Longest text field accepted (ids, gate names, subjects, issuers).
const MAX_TEXT: usize = 128;
/// Sequence numbers stay below 2^53 (exact in every JSON reader).
const MAX_SEQ: i64 = 1 << 53;
/// How far ahead of the server's clock a kiosk's clock may be.
const MAX_AHEAD_HOURS: i64 = 24;

/// Splits a batch (already known to be a JSON array) into the passages to store and the ones
/// refused, for the kiosk `kiosk` at venue `venue` that the token belongs to.
pub fn check_batch(
    items: Vec<serde_json::Value>,
    kiosk: &str,
    venue: &str,
    now: DateTime<Utc>,
) -> (Vec<CheckedPassage>, Vec<Rejection>) {
    let mut ok = Vec::with_capacity(items.len());
    let mut refused = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let event_id = item.get("event_id").and_then(|v| v.as_str()).map(str::to_string);
        match check_one(item, kiosk, venue, now) {
            Ok(p) => ok.push(p),
            Err((reason, identity)) => refused.push(Rejection {
                index,
                event_id: event_id.filter(|e| e.len() <= 64 && safe_text(e)),
                reason,
                identity,
            }),
        }
    }
    (ok, refused)
}

/// Why a passage is refused, and whether only its kiosk/venue ids are the problem.
type Refusal = (String, bool);

fn check_one(item: serde_json::Value, kiosk: &str, venue: &str, now: DateTime<Utc>) -> Result<CheckedPassage, Refusal> {
    let record: PassageRecord =
        serde_json::from_value(item).map_err(|e| (format!("unreadable passage: {e}"), false))?;
    if record.kiosk_id != kiosk || record.venue_id != venue {
        let reason = format!(
            "recorded under kiosk {:?} at venue {:?}, but this token belongs to kiosk {kiosk:?} at venue {venue:?}",
            clip(&record.kiosk_id),
            clip(&record.venue_id)
        );
        return Err((reason, true));
    }
    check_fields(record, now).map_err(|reason| (reason, false))
}

fn check_fields(record: PassageRecord, now: DateTime<Utc>) -> Result<CheckedPassage, String> {
    let event_id: uuid::Uuid = record
        .event_id
        .parse()
        .map_err(|_| "event_id is not a UUID".to_string())?;
    if !valid_log_id(&record.log_id) {
        return Err("log_id must be at most 64 hex digits".into());
    }
    if !(record.hash.is_empty() || (record.hash.len() == 64 && record.hash.bytes().all(|b| b.is_ascii_hexdigit()))) {
        return Err("hash must be 64 hex digits (a SHA-256)".into());
    }
    if !(1..=MAX_SEQ).contains(&record.seq) {
        return Err(format!("seq {} is outside 1..=2^53", record.seq));
    }
    for (name, value) in [
        ("gate", Some(record.gate.as_str())),
        ("subject", record.subject.as_deref()),
        ("kind", record.kind.as_deref()),
        ("issuer", record.issuer.as_deref()),
        ("health", record.health.as_deref()),
    ] {
        if let Some(v) = value {
            if v.chars().count() > MAX_TEXT {
                return Err(format!("{name} is longer than {MAX_TEXT} characters"));
            }
            if !safe_text(v) {
                return Err(format!("{name} holds control or bidirectional-override characters"));
            }
        }
    }
    if let Some(f) = record.format.as_deref()
        && (f.is_empty() || f.len() > 16 || !f.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
    {
        return Err(format!("format {:?} is not a pass format name like \"vp1\"", clip(f)));
    }
    if let Some(h) = record.health.as_deref()
        && !["green", "yellow", "red"].contains(&h)
    {
        return Err(format!("health {:?} is not green, yellow or red", clip(h)));
    }
    let earliest = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).single().unwrap_or(now);
    if record.at < earliest || record.at > now + chrono::Duration::hours(MAX_AHEAD_HOURS) {
        return Err(format!(
            "time {} is before 2020 or more than {MAX_AHEAD_HOURS} h ahead of the server's clock ({now}); check the kiosk's clock",
            record.at
        ));
    }
    Ok(CheckedPassage { event_id, record })
}

/// Splits checked passages into those older than `retention_days` before `now` (which
/// retention would delete within the hour) and the rest, to store.
pub fn split_expired(
    checked: Vec<CheckedPassage>,
    retention_days: Option<u32>,
    now: DateTime<Utc>,
) -> (Vec<CheckedPassage>, Vec<CheckedPassage>) {
    match retention_days {
        Some(days) => {
            let cutoff = now - chrono::Duration::days(days.into());
            checked.into_iter().partition(|p| p.record.at < cutoff)
        }
        None => (Vec::new(), checked),
    }
}

/// No control characters (U+0000 breaks PostgreSQL text) and no bidirectional overrides
/// (they make a report show something other than what is stored).
fn safe_text(s: &str) -> bool {
    !s.chars()
        .any(|c| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
}

/// At most 64 characters of a refused value, for a message.
fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

/// A kiosk log's identity as kiosks make it: hex, at most 64 digits ('' from older kiosks).
pub fn valid_log_id(log_id: &str) -> bool {
    log_id.len() <= 64 && log_id.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
    }

    fn good(seq: i64) -> Value {
        json!({
            "event_id": "0193a0b1-0000-7000-8000-000000000001", "log_id": "ab12", "seq": seq,
            "kiosk_id": "k1", "venue_id": "v1", "gate": "g", "direction": "entry", "subject": "s",
            "kind": "health", "issuer": "iss", "health": "green", "verdict": "admit", "reason": "ok",
            "at": "2026-11-20T09:00:00Z", "inferred": false
        })
    }

    #[test]
    fn a_passage_expires_on_arrival_only_when_older_than_the_retention_period() {
        let at = |days: i64, secs: i64| {
            let mut p = good(1);
            p["at"] = json!(now() - chrono::Duration::days(days) + chrono::Duration::seconds(secs));
            p
        };
        let batch = vec![at(28, -1), at(28, 0), at(28, 1), at(0, 0), at(400, 0)];
        let (checked, refused) = check_batch(batch, "k1", "v1", now());
        assert!(refused.is_empty(), "{refused:?}");
        let (expired, kept) = split_expired(checked.clone(), Some(28), now());
        let ages = |v: &[CheckedPassage]| {
            v.iter()
                .map(|p| (now() - p.record.at).num_seconds())
                .collect::<Vec<_>>()
        };
        assert_eq!(ages(&expired), [28 * 86400 + 1, 400 * 86400]);
        assert_eq!(ages(&kept), [28 * 86400, 28 * 86400 - 1, 0]);
        let (expired, kept) = split_expired(checked, None, now());
        assert_eq!(
            (expired.len(), kept.len()),
            (0, 5),
            "no retention given: everything since 2020 is kept"
        );
    }

    #[test]
    fn each_bad_passage_is_refused_alone_with_its_reason() {
        let mut cases: Vec<(Value, &str)> = Vec::new();
        let with = |field: &str, v: Value| {
            let mut p = good(1);
            p[field] = v;
            p
        };
        cases.push((with("subject", json!("a\u{0000}b")), "control"));
        cases.push((with("subject", json!("a\u{202E}b")), "bidirectional"));
        cases.push((with("subject", json!("x".repeat(129))), "longer than"));
        cases.push((with("kind", json!("x".repeat(10_000))), "longer than"));
        cases.push((with("health", json!("purple")), "not green"));
        cases.push((with("seq", json!(i64::MAX)), "outside"));
        cases.push((with("seq", json!(0)), "outside"));
        cases.push((with("seq", json!(1e300)), "unreadable"));
        cases.push((with("at", json!("2999-01-01T00:00:00Z")), "ahead"));
        cases.push((with("at", json!("1970-01-01T00:00:00Z")), "before 2020"));
        cases.push((with("direction", json!("sideways")), "unreadable"));
        cases.push((with("reason", json!("because")), "unreadable"));
        cases.push((with("event_id", json!("not-a-uuid")), "UUID"));
        cases.push((with("log_id", json!("../etc")), "hex"));
        cases.push((with("format", json!("VP1; DROP")), "pass format"));
        cases.push((with("venue_id", json!("v2")), "belongs to kiosk"));
        cases.push((with("kiosk_id", json!("k2")), "belongs to kiosk"));
        cases.push((json!("just a string"), "unreadable"));
        cases.push((json!({}), "unreadable"));
        let n = cases.len();
        let mut batch: Vec<Value> = cases.iter().map(|(v, _)| v.clone()).collect();
        batch.push(good(7));
        let (ok, refused) = check_batch(batch, "k1", "v1", now());
        assert_eq!(ok.len(), 1, "only the good passage passes");
        assert_eq!(ok[0].record.seq, 7);
        assert_eq!(refused.len(), n);
        for (r, (_, want)) in refused.iter().zip(&cases) {
            assert!(
                r.reason.contains(want),
                "item {}: {:?} should mention {want:?}",
                r.index,
                r.reason
            );
        }
        assert_eq!(
            refused.iter().map(|r| r.index).collect::<Vec<_>>(),
            (0..n).collect::<Vec<_>>()
        );
        let identity: Vec<bool> = refused.iter().map(|r| r.identity).collect();
        assert_eq!(
            identity.iter().filter(|i| **i).count(),
            2,
            "only the kiosk/venue mismatches"
        );
        assert!(identity[n - 4] && identity[n - 3]);
    }

    #[test]
    fn a_passage_from_an_older_kiosk_without_log_id_is_accepted() {
        let mut p = good(3);
        p.as_object_mut().unwrap().remove("log_id");
        let (ok, refused) = check_batch(vec![p], "k1", "v1", now());
        assert!(refused.is_empty(), "{refused:?}");
        assert_eq!(ok[0].record.log_id, "");
    }
}
