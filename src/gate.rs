//! The gate's rules, apart from SQL: which way a passage goes, and whether the gate lets it
//! through given who is inside and how full the venue is. Leaving is never refused; entering
//! while the pass's holder is inside is (a shared or copied pass admits one person).

use serde::{Deserialize, Serialize};
use wire::{Direction, Reason, VerdictKind};

/// Whether this gate records entries, exits, or decides per visitor (`[gate] mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GateMode {
    Entry,
    Exit,
    /// A subject already inside is leaving; anyone else is entering.
    Auto,
}

/// What the gate does with an admitted pass when the passage cannot be recorded (disk full,
/// log damaged): refuse (the default: nobody walks in unlogged) or admit (a venue that must
/// never hold a queue, accepting that tracing will miss the visit). `[gate] when_not_recorded`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WhenNotRecorded {
    #[default]
    Refuse,
    Admit,
}

/// Who is inside the venue, as the gate sees it when a pass is shown: the visits this gate
/// opened and those the trace server says the venue's other gates opened (read inside the
/// recording transaction; `store::venue`).
pub trait Presence {
    type Error;
    /// Whether this subject has an open visit at the venue.
    fn is_inside(&self, subject: &str) -> Result<bool, Self::Error>;
    /// How many visits are open at the venue, as far as this gate knows.
    fn occupancy(&self) -> Result<u32, Self::Error>;
    /// The room this gate decides capacity on: (places spent, limit). With a share from the
    /// server, the visits opened on it and the share; without one, occupancy and capacity.
    fn room(&self) -> Result<(u32, Option<u32>), Self::Error>;
    /// The venue's capacity (`None`: no limit).
    fn capacity(&self) -> Result<Option<u32>, Self::Error>;
}

/// What the gate decides from: its mode and the venue's state, and the pass policy's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateInput {
    pub mode: GateMode,
    /// The pass verified (a subject is known); unverified codes never open or close a visit.
    pub verified: bool,
    pub inside: bool,
    /// Places spent of `capacity` (see [`Presence::room`]).
    pub occupancy: u32,
    pub capacity: Option<u32>,
    pub verdict: VerdictKind,
    pub reason: Reason,
}

/// What the gate does with the passage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateDecision {
    pub direction: Direction,
    pub verdict: VerdictKind,
    pub reason: Reason,
    /// Start a visit (an admitted entry of someone not inside).
    pub opens_visit: bool,
    /// End the subject's visit (any verified exit).
    pub closes_visit: bool,
}

/// The gate's decision: a pure function of its input.
pub fn decide(input: GateInput) -> GateDecision {
    let direction = match input.mode {
        GateMode::Entry => Direction::Entry,
        GateMode::Exit => Direction::Exit,
        GateMode::Auto if input.inside => Direction::Exit,
        GateMode::Auto => Direction::Entry,
    };
    let (verdict, reason) = match direction {
        // Leaving is never refused: a verified holder (even of a red or expired pass) is let
        // out, and their visit is closed.
        Direction::Exit if input.verified && input.inside => (VerdictKind::Admit, Reason::OkExit),
        // An exit needs a matching entry: with none open at the venue (a missed entry scan, or
        // the copy of a pass whose holder is already out), the holder is still let out, but the
        // passage says so for staff and tracers.
        Direction::Exit if input.verified => (VerdictKind::Admit, Reason::ExitWithoutEntry),
        // Only an entry-only gate can see an entry by someone inside (an auto gate reads it
        // as leaving): the pass is being used twice.
        Direction::Entry if input.verified && input.inside && input.verdict == VerdictKind::Admit => {
            (VerdictKind::Deny, Reason::AlreadyInside)
        }
        Direction::Entry
            if input.verdict == VerdictKind::Admit
                && !input.inside
                && input.capacity.is_some_and(|cap| input.occupancy >= cap) =>
        {
            (VerdictKind::Deny, Reason::CapacityFull)
        }
        _ => (input.verdict, input.reason),
    };
    GateDecision {
        direction,
        verdict,
        reason,
        opens_visit: input.verified && direction == Direction::Entry && verdict == VerdictKind::Admit && !input.inside,
        closes_visit: input.verified && direction == Direction::Exit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{Entry as In, Exit as Out};
    use GateMode::{Auto, Entry, Exit};
    use VerdictKind::{Admit, Deny, Invalid};

    #[test]
    fn gate_decision_table() {
        // mode, verified, inside, occupancy, capacity, policy verdict/reason
        //   → direction, verdict, reason, opens, closes
        #[rustfmt::skip]
        let table = [
            (Auto,  true,  false, 0, None,    Admit,   Reason::Ok,         In,  Admit,   Reason::Ok,           true,  false),
            (Auto,  true,  true,  5, None,    Admit,   Reason::Ok,         Out, Admit,   Reason::OkExit,       false, true),
            (Auto,  true,  true,  5, None,    Deny,    Reason::RedCode,    Out, Admit,   Reason::OkExit,       false, true),
            (Auto,  true,  false, 2, Some(2), Admit,   Reason::Ok,         In,  Deny,    Reason::CapacityFull, false, false),
            (Auto,  true,  false, 1, Some(2), Admit,   Reason::Ok,         In,  Admit,   Reason::Ok,           true,  false),
            (Auto,  true,  false, 0, None,    Deny,    Reason::YellowCode, In,  Deny,    Reason::YellowCode,   false, false),
            (Auto,  false, false, 0, None,    Invalid, Reason::BadSignature, In, Invalid, Reason::BadSignature, false, false),
            (Entry, true,  true,  9, Some(9), Admit,   Reason::Ok,         In,  Deny,    Reason::AlreadyInside, false, false),
            (Entry, true,  true,  0, None,    Deny,    Reason::RedCode,    In,  Deny,    Reason::RedCode,      false, false),
            (Entry, true,  false, 9, Some(9), Admit,   Reason::Ok,         In,  Deny,    Reason::CapacityFull, false, false),
            (Exit,  true,  false, 0, None,    Invalid, Reason::Expired,    Out, Admit,   Reason::ExitWithoutEntry, false, true),
            (Exit,  true,  true,  3, None,    Invalid, Reason::Expired,    Out, Admit,   Reason::OkExit,       false, true),
            (Exit,  false, false, 0, None,    Invalid, Reason::Malformed,  Out, Invalid, Reason::Malformed,    false, false),
            (Exit,  true,  false, 9, Some(1), Deny,    Reason::RedCode,    Out, Admit,   Reason::ExitWithoutEntry, false, true),
        ];
        for (i, row) in table.into_iter().enumerate() {
            let (mode, verified, inside, occupancy, capacity, verdict, reason, dir, v, r, opens, closes) = row;
            let got = decide(GateInput {
                mode,
                verified,
                inside,
                occupancy,
                capacity,
                verdict,
                reason,
            });
            let want = GateDecision {
                direction: dir,
                verdict: v,
                reason: r,
                opens_visit: opens,
                closes_visit: closes,
            };
            assert_eq!(got, want, "row {i}: {row:?}");
        }
    }
}
