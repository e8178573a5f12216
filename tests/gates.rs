//! One venue, many gates: full kiosk stacks (a real SQLite log each, the real sync client and
//! venue round) against a real trace server on 127.0.0.1 with a real PostgreSQL. Capacity
//! across gates, leaving by another gate, a partition (shares hold) and the heal (counts
//! converge, conflicts listed).

use chrono::{DateTime, Utc};
use kiosk::gate::GateMode;
use kiosk::store::{Recorded, ScanInput, Store, StoreSettings};
use kiosk::sync::SyncClient;
use kiosk::venue::{VenueStatus, venue_round};
use trace_server::testkit::TestServer;
use wire::{Direction, Reason, VerdictKind};

mod common;

/// One gate: its own passage log and its own token.
struct Gate {
    _dir: tempfile::TempDir,
    store: Store,
    client: SyncClient,
    venue: VenueStatus,
}

impl Gate {
    fn new(server: &TestServer, id: &str, capacity: Option<u32>) -> Gate {
        Gate::with_mode(server, id, capacity, GateMode::Auto)
    }

    fn with_mode(server: &TestServer, id: &str, capacity: Option<u32>, gate_mode: GateMode) -> Gate {
        let token = server.add_kiosk(id, "mall");
        let dir = tempfile::tempdir().unwrap();
        let settings = StoreSettings {
            kiosk_id: id.into(),
            venue_id: "mall".into(),
            gate: format!("{id} door"),
            gate_mode,
            capacity,
            repeat_window: std::time::Duration::from_secs(0),
            visit_max: std::time::Duration::from_secs(8 * 3600),
            shares_room: true,
        };
        let store = Store::open(&dir.path().join("kiosk.db"), settings).unwrap();
        Gate {
            client: common::sync_client(&server.url, &token),
            _dir: dir,
            store,
            venue: VenueStatus::default(),
        }
    }

    /// One sync round as the kiosk's sync thread runs it: send, then ask for the venue.
    fn round(&mut self) -> Result<(), kiosk::sync::SyncError> {
        let now = Utc::now();
        let sent = self.client.sync_once(&mut self.store);
        let capacity = self.capacity();
        let venue = venue_round(&self.client, &mut self.store, capacity, now, &mut self.venue);
        sent.and(venue)
    }

    fn capacity(&self) -> Option<u32> {
        self.store.settings().capacity
    }

    /// A visitor with a green code shows it at this gate now.
    fn scan(&mut self, subject: &str) -> Recorded {
        self.store.record_passage(&green(subject, Utc::now())).unwrap()
    }

    fn admits(&mut self, subject: &str) -> bool {
        self.scan(subject).verdict == VerdictKind::Admit
    }
}

fn green(subject: &str, at: DateTime<Utc>) -> ScanInput {
    let claims = passes::vp1::Claims::health(
        "iss",
        subject.to_string(),
        "A*",
        passes::vp1::HealthColour::Green,
        at - chrono::Duration::minutes(1),
        at + chrono::Duration::hours(2),
    );
    ScanInput {
        verdict: kiosk::policy::Policy::default().decide(claims, at),
        text: String::new(),
        at,
    }
}

#[test]
fn capacity_counts_every_gate_and_a_visitor_leaves_by_another_gate() {
    let server = TestServer::start();
    let mut north = Gate::new(&server, "north", Some(4));
    let mut south = Gate::new(&server, "south", Some(4));
    north.round().unwrap();
    south.round().unwrap();
    let share = |g: &Gate| g.venue.share.as_ref().and_then(|s| s.share).unwrap();
    assert_eq!(share(&north) + share(&south), 4, "the room is shared out, no more");

    // Two in at each gate fill the venue; a fifth is refused at either gate.
    assert!(north.admits("p1") && north.admits("p2"));
    assert!(south.admits("p3") && south.admits("p4"));
    let refused = south.scan("p5");
    assert_eq!(
        (refused.verdict, refused.reason),
        (VerdictKind::Deny, Reason::CapacityFull)
    );
    north.round().unwrap();
    south.round().unwrap();
    north.round().unwrap();
    assert_eq!((north.venue.inside, south.venue.inside), (4, 4));
    assert_eq!(
        (north.scan("p5").reason, south.scan("p5").reason),
        (Reason::CapacityFull, Reason::CapacityFull),
        "full, with every gate's passages known"
    );

    // p1 came in at the north gate and leaves by the south one: an exit, not a second entry.
    let out = south.scan("p1");
    assert_eq!(
        (out.direction, out.verdict, out.reason),
        (Direction::Exit, VerdictKind::Admit, Reason::OkExit)
    );
    south.round().unwrap();
    north.round().unwrap();
    south.round().unwrap();
    assert_eq!(north.venue.inside, 3);
    // The north gate heard of it: p1 coming back there is an entry again, not an exit.
    let back = south.scan("p6");
    assert_eq!(
        (back.direction, back.verdict),
        (Direction::Entry, VerdictKind::Admit),
        "{back:?}"
    );
    south.round().unwrap();
    north.round().unwrap();
    let again = north.scan("p1");
    assert_eq!(
        (again.direction, again.reason),
        (Direction::Entry, Reason::CapacityFull),
        "{again:?}"
    );
    assert!(north.venue.conflicts.is_empty(), "{:?}", north.venue.conflicts);

    // One visit on the server: in at north, out at south.
    assert_eq!(
        server.count(
            "SELECT COUNT(*) FROM passages WHERE subject = 'p1' AND verdict = 'admit' AND
             ((kiosk_id = 'north' AND direction = 'entry') OR (kiosk_id = 'south' AND direction = 'exit'))"
        ),
        2
    );
}

#[test]
fn cut_off_gates_keep_to_their_shares_and_converge_when_they_meet_again() {
    let server = TestServer::start();
    let mut gates = [
        Gate::new(&server, "north", Some(6)),
        Gate::new(&server, "south", Some(6)),
        Gate::new(&server, "east", Some(6)),
    ];
    for g in gates.iter_mut() {
        g.round().unwrap();
    }
    let shares: Vec<u32> = gates
        .iter()
        .map(|g| g.venue.share.as_ref().and_then(|s| s.share).unwrap())
        .collect();
    assert_eq!(shares.iter().sum::<u32>(), 6, "{shares:?}");

    // The server goes away: every gate works alone on its share.
    let (runtime, database_url, addr) = server.stop();
    let mut admitted = 0;
    for (i, g) in gates.iter_mut().enumerate() {
        assert!(g.round().is_err(), "cut off");
        assert!(g.venue.alone, "and says so");
        // The same pass shows up at the north and south gates while they cannot compare notes.
        let people: Vec<String> = match i {
            0 | 1 => std::iter::once("dup".to_string())
                .chain((0..4).map(|n| format!("g{i}-{n}")))
                .collect(),
            _ => (0..5).map(|n| format!("g{i}-{n}")).collect(),
        };
        let here = people.iter().filter(|p| g.admits(p)).count() as u32;
        assert_eq!(here, shares[i], "gate {i} admits exactly its share");
        admitted += here;
        assert_eq!(
            g.venue.share.as_ref().and_then(|s| s.left),
            Some(shares[i]),
            "left before this batch"
        );
        g.round().unwrap_err();
        assert_eq!(g.venue.share.as_ref().and_then(|s| s.left), Some(0), "spent");
    }
    assert!(admitted <= 6, "the venue never passes its capacity: {admitted}");

    // Back together: every passage arrives once, every gate sees the same venue, and the
    // double admission is listed for the operator.
    let server = TestServer::start_on(runtime, database_url, Some(addr));
    for _ in 0..2 {
        for g in gates.iter_mut() {
            g.round().unwrap();
            assert!(!g.venue.alone);
        }
    }
    let recorded: i64 = gates.iter().map(|g| g.store.pending_sync().unwrap() as i64).sum();
    assert_eq!(recorded, 0);
    assert_eq!(
        server.count("SELECT COUNT(*) FROM passages"),
        15,
        "5 scans at each of 3 gates, once each"
    );
    let inside =
        server.count("SELECT COUNT(DISTINCT subject) FROM passages WHERE verdict = 'admit' AND direction = 'entry'");
    assert_eq!(inside, admitted as i64 - 1, "dup is one person");
    for g in &gates {
        assert_eq!(g.venue.inside as i64, inside);
        assert_eq!(g.venue.conflicts.len(), 1, "{:?}", g.venue.conflicts);
        let c = &g.venue.conflicts[0];
        assert_eq!(c.subject, "dup");
        let pair = [c.first_kiosk.as_str(), c.second_kiosk.as_str()];
        assert!(pair.contains(&"north") && pair.contains(&"south"), "{c:?}");
    }
    // Room is left for one more (5 of 6 inside), and exactly one gate may use it.
    let shares: u32 = gates
        .iter()
        .map(|g| g.venue.share.as_ref().and_then(|s| s.left).unwrap())
        .sum();
    assert!(shares <= 1, "{shares}");
}

#[test]
fn a_share_whose_reply_was_lost_stays_reserved_until_the_gate_confirms_a_newer_one() {
    let server = TestServer::start();
    let mut a = Gate::new(&server, "a", Some(10));
    let mut b = Gate::new(&server, "b", Some(10));
    a.round().unwrap();
    b.round().unwrap();
    let held = |g: &Gate| g.venue.share.as_ref().and_then(|s| s.share).unwrap();
    assert_eq!((held(&a), held(&b)), (5, 5));
    // The south gate is busy: five in, and it tells the server.
    for n in 0..5 {
        assert!(b.admits(&format!("b{n}")));
    }
    b.round().unwrap();
    // The north gate asks for a new share, but the answer never reaches it (a timeout): it
    // still holds its 5.
    let log_id = a.store.log_id().unwrap();
    let lost = a
        .client
        .venue_state(&wire::VenueRequest {
            log_id,
            capacity: Some(10),
            version: None,
            pending: None,
            held: Some(wire::HeldShare {
                counted_seq: 0,
                share: 5,
            }),
        })
        .unwrap();
    assert!(lost.share.unwrap() < 5, "the busy gate weighs more: {lost:?}");
    // The busy gate asks again: the north gate's 5 are still reserved, so none is free.
    b.round().unwrap();
    assert_eq!(held(&b), 0);
    let admitted_at_a = (0..6).filter(|n| a.admits(&format!("a{n}"))).count();
    assert_eq!(admitted_at_a, 5, "the north gate spends the share it holds");
    assert!(!b.admits("b9"), "the venue is full: 10 of 10");

    // Once the north gate has confirmed a newer share, the old one stops counting.
    a.round().unwrap();
    b.round().unwrap();
    a.round().unwrap();
    assert_eq!(a.venue.inside, 10);
}

#[test]
fn a_paired_gate_spends_nothing_on_capacity_before_its_first_share_and_gives_it_up_when_revoked() {
    let server = TestServer::start();
    let mut g = Gate::new(&server, "new", Some(10));
    let first = g.scan("p1");
    assert_eq!(
        (first.verdict, first.reason),
        (VerdictKind::Deny, Reason::CapacityFull),
        "no share yet"
    );
    g.round().unwrap();
    assert!(g.admits("p1"));
    server.with_db(|db| async move { db.revoke_kiosk("new").await.unwrap() });
    assert!(matches!(g.round(), Err(kiosk::sync::SyncError::Unauthorized(_))));
    assert_eq!(g.venue.share.as_ref().and_then(|s| s.left), Some(0), "given up");
    assert_eq!(g.scan("p2").reason, Reason::CapacityFull);
}

#[test]
fn an_exit_gate_lets_everyone_out_and_flags_an_exit_with_no_entry_at_any_gate() {
    let server = TestServer::start();
    let mut door = Gate::with_mode(&server, "door", None, GateMode::Entry);
    let mut out = Gate::with_mode(&server, "out", None, GateMode::Exit);
    assert!(door.admits("p1"));
    door.round().unwrap();
    out.round().unwrap();
    // In at the door, out at the exit gate: a matching entry.
    let left = out.scan("p1");
    assert_eq!(
        (left.direction, left.verdict, left.reason),
        (Direction::Exit, VerdictKind::Admit, Reason::OkExit)
    );
    // Nobody came in on this pass (a copy, or a missed scan): let out all the same, flagged.
    let copy = out.scan("p2");
    assert_eq!(
        (copy.direction, copy.verdict, copy.reason),
        (Direction::Exit, VerdictKind::Admit, Reason::ExitWithoutEntry)
    );
    out.round().unwrap();
    assert_eq!(
        server.count("SELECT COUNT(*) FROM passages WHERE reason = 'exit_without_entry' AND subject = 'p2'"),
        1,
        "the server keeps the flag"
    );
}

#[test]
fn a_gate_whose_log_was_reset_learns_who_it_let_in_from_the_server() {
    let server = TestServer::start();
    let mut gate = Gate::new(&server, "solo", Some(5));
    gate.round().unwrap();
    assert!(gate.admits("p1"));
    gate.round().unwrap();
    // The log is lost (a new disk): a new, empty log under the same kiosk.
    let settings = gate.store.settings().clone();
    let fresh = tempfile::tempdir().unwrap();
    gate.store = Store::open(&fresh.path().join("kiosk.db"), settings).unwrap();
    let before = gate.scan("p2");
    assert_eq!(before.reason, Reason::CapacityFull, "no share for the new log yet");
    gate.round().unwrap();
    // p1 came in through this gate before the reset: leaving now is an exit, not an entry.
    let out = gate.scan("p1");
    assert_eq!(
        (out.direction, out.reason),
        (Direction::Exit, Reason::OkExit),
        "{out:?}"
    );
    assert!(gate.admits("p2"));
    gate._dir = fresh;
}

#[test]
fn staff_check_out_one_visitor_and_everyone_at_closing_time_across_gates() {
    let server = TestServer::start();
    let mut north = Gate::new(&server, "north", None);
    let mut south = Gate::new(&server, "south", None);
    assert!(north.admits("forgot") && north.admits("n1") && south.admits("s1"));
    north.round().unwrap();
    south.round().unwrap();
    north.round().unwrap();
    assert_eq!(north.venue.inside, 3);

    // A visitor who left without scanning is checked out by staff at the north gate.
    let one = north
        .store
        .check_out(&kiosk::store::CheckOut::One("forgot".into()), Utc::now())
        .unwrap();
    assert_eq!((one.closed, one.occupancy), (1, 2));
    let nobody = north
        .store
        .check_out(&kiosk::store::CheckOut::One("stranger".into()), Utc::now())
        .unwrap();
    assert_eq!(nobody.closed, 0, "someone not inside is not checked out");

    // Closing time: who is inside, s1 who came in by the south gate too.
    let inside: Vec<String> = north
        .store
        .inside_now(Utc::now())
        .unwrap()
        .into_iter()
        .map(|v| format!("{}@{}", v.subject, v.gate.unwrap_or_default()))
        .collect();
    assert_eq!(inside, ["n1@", "s1@south door"]);
    // The north gate closes first: only those who came in by it are checked out.
    let gate = north
        .store
        .check_out(&kiosk::store::CheckOut::ThisGate, Utc::now())
        .unwrap();
    assert_eq!((gate.closed, gate.occupancy), (1, 1), "s1 is still inside");
    // Then the venue closes.
    let all = north
        .store
        .check_out(&kiosk::store::CheckOut::WholeVenue, Utc::now())
        .unwrap();
    assert_eq!((all.closed, all.occupancy), (1, 0));
    let exits: Vec<(String, Reason, bool)> = north
        .store
        .passages_between(
            Utc::now() - chrono::Duration::hours(1),
            Utc::now() + chrono::Duration::hours(1),
        )
        .unwrap()
        .into_iter()
        .filter(|p| p.direction == Direction::Exit)
        .map(|p| (p.subject.unwrap(), p.reason, p.inferred))
        .collect();
    assert_eq!(
        exits,
        [
            ("forgot".to_string(), Reason::StaffCheckout, true),
            ("n1".to_string(), Reason::ClosingCheckout, true),
            ("s1".to_string(), Reason::ClosingCheckout, true),
        ]
    );
    assert_eq!(north.store.verify_chain().unwrap().1, None);

    // The exits reach the server like any passage; the venue and the other gate see it empty.
    north.round().unwrap();
    south.round().unwrap();
    assert_eq!((north.venue.inside, south.venue.inside), (0, 0));
    assert_eq!(south.store.inside_now(Utc::now()).unwrap(), []);
    assert!(south.admits("s1"), "s1 comes back the next day as a new entry");
    assert_eq!(south.scan("s1").direction, Direction::Exit);
}
