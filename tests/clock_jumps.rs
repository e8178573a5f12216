//! The wall clock stepping back an hour (NTP after a spell running fast) and forward a day
//! (NTP after weeks offline) breaks neither the sequence, the hash chain, automatic check-out,
//! the repeat window nor the day views. A real SQLite file; the times are what the clock said.

use chrono::{DateTime, Duration, TimeZone, Utc};
use kiosk::store::{ScanInput, Store, StoreSettings};
use wire::{Direction, Reason};

fn settings() -> StoreSettings {
    StoreSettings {
        kiosk_id: "k1".into(),
        venue_id: "v1".into(),
        gate: "g".into(),
        gate_mode: kiosk::gate::GateMode::Auto,
        capacity: None,
        repeat_window: std::time::Duration::from_secs(10),
        visit_max: std::time::Duration::from_secs(8 * 3600),
        shares_room: false,
    }
}

/// `subject`'s green code, issued an hour before the kiosk's clock reads `at`.
fn scan(subject: &str, at: DateTime<Utc>) -> ScanInput {
    let claims = passes::vp1::Claims::health(
        "iss",
        subject.to_string(),
        "A*",
        passes::vp1::HealthColour::Green,
        at - Duration::hours(1),
        at + Duration::hours(12),
    );
    ScanInput {
        verdict: kiosk::policy::Policy::default().decide(claims, at),
        text: String::new(),
        at,
    }
}

#[test]
fn stepping_back_an_hour_and_forward_a_day_keeps_the_log_sound() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("kiosk.db"), settings()).unwrap();
    let shanghai = chrono_tz::Asia::Shanghai;
    let t0 = Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap(); // 10:00 in Shanghai

    let a_in = store.record_passage(&scan("a", t0)).unwrap();
    assert_eq!(a_in.reason, Reason::Ok, "{a_in:?}");
    assert_eq!(a_in.direction, Direction::Entry);

    // The clock steps back an hour; a minute later (real time) A leaves: still an exit (the
    // check-out works), recorded no earlier than A's entry.
    let back = t0 - Duration::hours(1) + Duration::minutes(1);
    let a_out = store.record_passage(&scan("a", back)).unwrap();
    assert_eq!(a_out.direction, Direction::Exit, "automatic check-out across the step");
    assert!(!a_out.repeat);

    // B arrives after the step; B's code shown again 5 s later is a repeat, not an exit.
    let b_in = store.record_passage(&scan("b", back + Duration::minutes(1))).unwrap();
    assert_eq!(b_in.direction, Direction::Entry);
    let again = store
        .record_passage(&scan("b", back + Duration::minutes(1) + Duration::seconds(5)))
        .unwrap();
    assert!(again.repeat, "the repeat window holds after the step");

    // The clock jumps forward a day: B's visit is overdue and closed at its limit (inferred),
    // and B's scan then is a new entry.
    let ahead = back + Duration::days(1);
    let b_next = store.record_passage(&scan("b", ahead)).unwrap();
    assert_eq!(b_next.direction, Direction::Entry);

    // The sequence has no holes and the chain verifies end to end.
    let seqs: Vec<i64> = [a_in.seq, a_out.seq, b_in.seq, b_next.seq]
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 5], "seq 4 is B's automatic check-out");
    let (verified, broken) = store.verify_chain().unwrap();
    assert_eq!((verified, broken), (5, None));

    // Day views: the 22nd holds A's visit and B's first, the 23rd B's second entry; A's exit
    // is not before A's entry.
    let day1 = store
        .day_passages(t0.with_timezone(&shanghai).date_naive(), shanghai)
        .unwrap();
    let a = |d: Direction| {
        let found: Vec<_> = day1
            .iter()
            .filter(|p| p.subject.as_deref() == Some("a") && p.direction == d)
            .collect();
        assert_eq!(found.len(), 1, "{day1:?}");
        found[0].at
    };
    let (entered, left) = (a(Direction::Entry), a(Direction::Exit));
    assert!(left >= entered, "A's exit ({left}) is before A's entry ({entered})");
    let closing = day1.iter().find(|p| p.reason == Reason::AutoCheckout);
    assert!(closing.is_some_and(|p| p.inferred), "{day1:?}");
    let summary1 = store
        .day_summary(t0.with_timezone(&shanghai).date_naive(), shanghai)
        .unwrap();
    assert_eq!((summary1.entries, summary1.exits), (2, 2));
    let summary2 = store
        .day_summary(ahead.with_timezone(&shanghai).date_naive(), shanghai)
        .unwrap();
    assert_eq!((summary2.entries, summary2.exits, summary2.occupancy), (1, 0, 1));
}
