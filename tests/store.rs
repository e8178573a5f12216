//! The passage log against a real SQLite file: entry/exit, repeats, capacity, auto check-out,
//! retention, and the tamper-evident chain.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use kiosk::gate::GateMode;
use kiosk::policy::Policy;
use kiosk::policy::{Verdict, VerdictKind};
use kiosk::store::{ScanInput, Store, StoreSettings};
use passes::vp1::{Claims, HealthColour, PassKind};
use wire::{Direction, Reason};

fn t(h: u32, m: u32) -> DateTime<Utc> {
    // 2026-11-22 in UTC; Asia/Shanghai is UTC+8.
    Utc.with_ymd_and_hms(2026, 11, 22, h, m, 0).unwrap()
}

fn settings(mode: GateMode, capacity: Option<u32>) -> StoreSettings {
    StoreSettings {
        kiosk_id: "k1".into(),
        venue_id: "v1".into(),
        gate: "north".into(),
        gate_mode: mode,
        capacity,
        repeat_window: Duration::from_secs(10),
        visit_max: Duration::from_secs(8 * 3600),
        shares_room: false,
    }
}

fn scan(subject: &str, colour: HealthColour, at: DateTime<Utc>) -> ScanInput {
    let claims = Claims {
        issuer: "iss".into(),
        subject: subject.into(),
        display_name: "张*".into(),
        kind: PassKind::Health,
        health: Some(colour),
        travel: vec![],
        risk: false,
        badge_role: None,
        issued_at: at - chrono::Duration::minutes(1),
        expires_at: at + chrono::Duration::hours(1),
    };
    ScanInput {
        verdict: Policy::default().decide(claims, at),
        text: format!("VP1:{subject}"),
        at,
    }
}

fn open(dir: &tempfile::TempDir, s: StoreSettings) -> Store {
    Store::open(&dir.path().join("kiosk.db"), s).unwrap()
}

#[test]
fn auto_gate_enters_then_exits_and_counts_occupancy() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir, settings(GateMode::Auto, None));
    let a = store
        .record_passage(&scan("alice", HealthColour::Green, t(1, 0)))
        .unwrap();
    assert_eq!(
        (a.direction, a.verdict, a.seq, a.occupancy),
        (Direction::Entry, VerdictKind::Admit, Some(1), 1)
    );
    let b = store
        .record_passage(&scan("bob", HealthColour::Green, t(1, 5)))
        .unwrap();
    assert_eq!(b.occupancy, 2);
    let a2 = store
        .record_passage(&scan("alice", HealthColour::Green, t(2, 0)))
        .unwrap();
    assert_eq!(
        (a2.direction, a2.reason, a2.seq, a2.occupancy),
        (Direction::Exit, Reason::OkExit, Some(3), 1)
    );
    // A red code inside is still let out: leaving is never refused.
    let b_red = store.record_passage(&scan("bob", HealthColour::Red, t(3, 0))).unwrap();
    assert_eq!((b_red.direction, b_red.verdict), (Direction::Exit, VerdictKind::Admit));
    assert_eq!(store.occupancy().unwrap(), 0);
    // A red code at the door is refused and logged, and does not enter.
    let c = store
        .record_passage(&scan("carol", HealthColour::Red, t(3, 10)))
        .unwrap();
    assert_eq!(
        (c.direction, c.verdict, c.reason),
        (Direction::Entry, VerdictKind::Deny, Reason::RedCode)
    );
    assert_eq!(store.occupancy().unwrap(), 0);

    let day = store
        .day_passages(
            NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
            chrono_tz::Asia::Shanghai,
        )
        .unwrap();
    assert_eq!(day.len(), 5);
    assert!(day.iter().all(|p| p.event_id.len() == 36 && !p.synced));
    let s = store
        .day_summary(
            NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
            chrono_tz::Asia::Shanghai,
        )
        .unwrap();
    assert_eq!((s.entries, s.exits, s.unique_visitors, s.denied), (2, 2, 2, 1));
    assert_eq!(s.denied_by_reason.get("red_code"), Some(&1));
    assert_eq!(s.peak_hour, Some(9), "01:00 UTC is 09:00 in Shanghai");
    assert_eq!(s.hourly[9], (9, 2, 0));
}

#[test]
fn a_repeat_within_the_window_is_not_a_new_passage() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir, settings(GateMode::Auto, None));
    let first = store
        .record_passage(&scan("alice", HealthColour::Green, t(1, 0)))
        .unwrap();
    let again = store
        .record_passage(&scan(
            "alice",
            HealthColour::Green,
            t(1, 0) + chrono::Duration::seconds(5),
        ))
        .unwrap();
    assert!(again.repeat);
    assert_eq!(again.seq, None);
    assert_eq!(again.event_id, first.event_id);
    assert_eq!(
        again.direction,
        Direction::Entry,
        "a repeat must not check the visitor straight out"
    );
    let later = store
        .record_passage(&scan(
            "alice",
            HealthColour::Green,
            t(1, 0) + chrono::Duration::seconds(11),
        ))
        .unwrap();
    assert_eq!((later.repeat, later.direction), (false, Direction::Exit));
}

#[test]
fn a_full_venue_refuses_entries_but_not_exits() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir, settings(GateMode::Auto, Some(2)));
    store.record_passage(&scan("a", HealthColour::Green, t(1, 0))).unwrap();
    store.record_passage(&scan("b", HealthColour::Green, t(1, 1))).unwrap();
    let c = store.record_passage(&scan("c", HealthColour::Green, t(1, 2))).unwrap();
    assert_eq!(
        (c.verdict, c.reason, c.occupancy),
        (VerdictKind::Deny, Reason::CapacityFull, 2)
    );
    let a_out = store.record_passage(&scan("a", HealthColour::Green, t(1, 3))).unwrap();
    assert_eq!(a_out.direction, Direction::Exit);
    let c2 = store.record_passage(&scan("c", HealthColour::Green, t(1, 4))).unwrap();
    assert_eq!((c2.verdict, c2.occupancy), (VerdictKind::Admit, 2));
}

#[test]
fn forgotten_check_outs_are_closed_and_marked_inferred() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir, settings(GateMode::Auto, None));
    store
        .record_passage(&scan("alice", HealthColour::Green, t(0, 0)))
        .unwrap();
    assert_eq!(store.close_overdue_visits(t(7, 59)).unwrap(), 0);
    assert_eq!(store.close_overdue_visits(t(8, 1)).unwrap(), 1);
    assert_eq!(store.occupancy().unwrap(), 0);
    let day = store.passages_between(t(0, 0), t(9, 0)).unwrap();
    let exit = day.last().unwrap();
    assert_eq!(
        (exit.direction.as_str(), exit.reason.as_str(), exit.inferred),
        ("exit", "auto_checkout", true)
    );
    assert_eq!(
        exit.at,
        t(8, 0),
        "closed at entry + max_hours, not at the time it was noticed"
    );
    // Next scan is a fresh entry, not an exit.
    let again = store
        .record_passage(&scan("alice", HealthColour::Green, t(9, 0)))
        .unwrap();
    assert_eq!(again.direction, Direction::Entry);
}

#[test]
fn retention_purges_synced_passages_only_and_the_chain_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir, settings(GateMode::Entry, None));
    let old = Utc.with_ymd_and_hms(2026, 10, 1, 1, 0, 0).unwrap();
    let r1 = store.record_passage(&scan("a", HealthColour::Green, old)).unwrap();
    store
        .record_passage(&scan("b", HealthColour::Green, old + chrono::Duration::minutes(1)))
        .unwrap();
    store.record_passage(&scan("c", HealthColour::Green, t(1, 0))).unwrap();
    store.mark_synced(&[r1.event_id.unwrap()]).unwrap();
    let report = store.purge_old(t(2, 0), 28).unwrap();
    assert_eq!(report.purged, 1, "only the synced old passage goes");
    // b's entry and both automatic check-outs (made when c was recorded) are old but unsynced.
    assert_eq!(report.kept_unsynced, 3, "unsynced old passages are kept and reported");
    assert_eq!(store.verify_chain().unwrap(), (4, None));
    // New passages continue the chain and the sequence without a gap.
    let next = store.record_passage(&scan("d", HealthColour::Green, t(2, 0))).unwrap();
    assert_eq!(next.seq, Some(6));
    assert_eq!(store.verify_chain().unwrap().1, None);
}

#[test]
fn chain_verification_finds_an_edited_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiosk.db");
    {
        let mut store = Store::open(&path, settings(GateMode::Auto, None)).unwrap();
        for (i, s) in ["a", "b", "c", "d"].iter().enumerate() {
            store
                .record_passage(&scan(s, HealthColour::Green, t(1, i as u32)))
                .unwrap();
        }
        assert_eq!(store.verify_chain().unwrap(), (4, None));
    }
    // Someone turns a refusal into an admission with the sqlite3 shell.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE passages SET health = 'red' WHERE seq = 3", [])
        .unwrap();
    drop(conn);
    let store = Store::open(&path, settings(GateMode::Auto, None)).unwrap();
    let (_, broken) = store.verify_chain().unwrap();
    let broken = broken.expect("edit must be detected");
    assert_eq!(broken.seq, 3);
    assert!(broken.problem.contains("edited"));

    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE passages SET health = NULL WHERE seq = 3", [])
        .unwrap();
    conn.execute("UPDATE passages SET health = 'green' WHERE seq = 3", [])
        .unwrap();
    conn.execute("DELETE FROM passages WHERE seq = 2", []).unwrap();
    drop(conn);
    let store = Store::open(&path, settings(GateMode::Auto, None)).unwrap();
    assert_eq!(
        store.verify_chain().unwrap().1.unwrap().seq,
        3,
        "a deleted row shows as a gap"
    );
}

#[test]
fn unverified_codes_are_logged_without_a_subject_and_repeat_suppressed() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir, settings(GateMode::Auto, None));
    let forged = ScanInput {
        verdict: Verdict::from_pass_error(&passes::vp1::PassError::BadSignature),
        text: "VP1:FORGED".into(),
        at: t(1, 0),
    };
    let r = store.record_passage(&forged).unwrap();
    assert_eq!(
        (r.verdict, r.reason, r.direction),
        (VerdictKind::Invalid, Reason::BadSignature, Direction::Entry)
    );
    let again = store
        .record_passage(&ScanInput {
            at: t(1, 0) + chrono::Duration::seconds(2),
            ..forged
        })
        .unwrap();
    assert!(again.repeat);
    let day = store.passages_between(t(0, 0), t(2, 0)).unwrap();
    assert_eq!(day.len(), 1);
    assert_eq!(day[0].subject, None);
}

#[test]
fn migrations_refuse_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiosk.db");
    drop(Store::open(&path, settings(GateMode::Auto, None)).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = Store::open(&path, settings(GateMode::Auto, None)).err().unwrap();
    assert!(err.to_string().contains("newer kiosk"), "{err}");
}

#[test]
fn a_copied_pass_does_not_let_a_second_person_in() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir, settings(GateMode::Entry, Some(10)));
    let first = store
        .record_passage(&scan("p-7", HealthColour::Green, t(1, 0)))
        .unwrap();
    assert_eq!(first.verdict, VerdictKind::Admit);
    // A screenshot of the same pass, shown after the repeat window by someone else.
    let copy = store
        .record_passage(&scan("p-7", HealthColour::Green, t(1, 5)))
        .unwrap();
    assert_eq!((copy.verdict, copy.reason), (VerdictKind::Deny, Reason::AlreadyInside));
    assert_eq!(store.occupancy().unwrap(), 1, "the copy is not counted inside");
    assert!(
        copy.seq.is_some(),
        "the refusal is logged, for the operator and the tracer"
    );
}

#[test]
fn a_pin_lockout_round_trips_and_no_lock_reads_back_as_none() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir, settings(GateMode::Auto, None));
    assert_eq!(store.pin_lockout().unwrap(), kiosk::store::PinLockout::default());
    let four = kiosk::store::PinLockout {
        failures: 4,
        lockouts: 0,
        locked_until: None,
    };
    store.save_pin_lockout(&four).unwrap();
    // "Not locked" is saved as 0 ms: it must not come back as a lock that ended in 1970.
    assert_eq!(store.pin_lockout().unwrap(), four);
    let locked = kiosk::store::PinLockout {
        failures: 0,
        lockouts: 1,
        locked_until: Some(t(10, 0)),
    };
    store.save_pin_lockout(&locked).unwrap();
    assert_eq!(store.pin_lockout().unwrap(), locked);
}

#[test]
fn a_scan_judged_while_staff_checked_its_holder_out_is_not_a_new_entry() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir, settings(GateMode::Auto, None));
    store
        .record_passage(&scan("alice", HealthColour::Green, t(1, 0)))
        .unwrap();
    // Staff check alice out at 02:00:05; her exit scan, read at 02:00:03, commits after it.
    let staff = t(2, 0) + chrono::Duration::seconds(5);
    let out = store
        .check_out(&kiosk::store::CheckOut::One("alice".into()), staff)
        .unwrap();
    assert_eq!((out.closed, out.occupancy), (1, 0));
    let late = store
        .record_passage(&scan(
            "alice",
            HealthColour::Green,
            t(2, 0) + chrono::Duration::seconds(3),
        ))
        .unwrap();
    assert!(late.repeat, "the same passage, not an entry after the exit: {late:?}");
    assert_eq!((late.direction, late.occupancy), (Direction::Exit, 0));
    // A check-out on a clock set behind the entry is dated at the entry, never before it.
    store
        .record_passage(&scan("bob", HealthColour::Green, t(3, 0)))
        .unwrap();
    store.check_out(&kiosk::store::CheckOut::ThisGate, t(2, 30)).unwrap();
    let exit = store.passages_between(t(0, 0), t(9, 0)).unwrap().pop().unwrap();
    assert_eq!(
        (exit.subject.as_deref(), exit.reason, exit.at),
        (Some("bob"), Reason::ClosingCheckout, t(3, 0))
    );
    assert_eq!(store.verify_chain().unwrap().1, None);
}
