//! One venue, many gates: what a kiosk asks the trace server about its venue, and the answer —
//! who is inside by every gate's passages, and this gate's share of the room left.
//!
//! The share is what keeps a venue under capacity when its gates cannot talk: the server hands
//! each gate a number of entries it may admit beyond what the server has of its log, and never
//! hands out more than the room left. A gate admits against its share whether it is connected
//! or cut off (connected, the share is renewed every few seconds), so no two gates can spend
//! the same place.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `POST` body of [`crate::routes::VENUE`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct VenueRequest {
    /// The kiosk's passage log ([`crate::PassageRecord::log_id`]): the share is counted from the
    /// newest passage of this log the server holds.
    pub log_id: String,
    /// `[gate] capacity` as this kiosk is configured (`None`: no limit). The venue's capacity
    /// is the smallest its gates report, so one gate set lower holds for all.
    pub capacity: Option<u32>,
    /// The kiosk's version and its backlog (passages not yet sent), for the kiosk health page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<u32>,
    /// The share this gate holds now, as the server last gave it: until the gate confirms a
    /// newer one, the server keeps the places of both reserved (a reply lost on the way must
    /// not free places the gate may still spend).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<HeldShare>,
}

/// A share as a gate holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct HeldShare {
    pub counted_seq: i64,
    pub share: u32,
}

/// The server's view of the venue, and this gate's share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct VenueState {
    pub venue_id: String,
    pub server_time: DateTime<Utc>,
    /// Subjects inside by the venue's passages (the newest admitted passage of each is an
    /// entry), at whichever gate they came in.
    pub inside: Vec<OpenVisit>,
    /// The venue's capacity: the smallest `[gate] capacity` its gates report.
    pub capacity: Option<u32>,
    /// Entries this gate may admit beyond passage [`VenueState::counted_seq`] of its log
    /// (minus the visits it opened since that are still open). `None`: no capacity.
    pub share: Option<u32>,
    /// The newest passage of the asking kiosk's log that the server holds (0: none): the share
    /// is counted from here, and the kiosk's own passages after it are newer than this view.
    pub counted_seq: i64,
    /// The venue's gates (kiosks not revoked) and today's counts at each.
    pub gates: Vec<GateCount>,
    /// The same subject admitted at two gates without leaving in between (the gates were cut
    /// off from each other, or a pass was copied), in the last day: for the operator.
    pub conflicts: Vec<GateConflict>,
}

/// A visit open at the venue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct OpenVisit {
    pub subject: String,
    pub kiosk_id: String,
    pub gate: String,
    pub entered_at: DateTime<Utc>,
}

/// One gate of the venue, with the last day's admitted passages through it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct GateCount {
    pub kiosk_id: String,
    pub gate: String,
    pub entries: i64,
    pub exits: i64,
    /// When the server last heard from the gate.
    pub last_seen: Option<DateTime<Utc>>,
}

/// Two admitted entries of one subject with no exit between them, at different gates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct GateConflict {
    pub subject: String,
    pub first_kiosk: String,
    pub first_gate: String,
    pub first_at: DateTime<Utc>,
    pub second_kiosk: String,
    pub second_gate: String,
    pub second_at: DateTime<Utc>,
}
