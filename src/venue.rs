//! One venue, many gates (the kiosk's side): after each sync round a gate tells the trace
//! server its log and capacity and takes back who is inside by every gate's passages and its
//! share of the room left (`wire::VenueState`); `store::venue` decides on that view.
//!
//! Why through the trace server and not gate to gate on the local network: the server is
//! already the one authenticated, pinned channel every kiosk has (per-kiosk tokens, the venue
//! bound to the token); a peer protocol would add a shared venue secret on every kiosk, peer
//! discovery through venue firewalls and a second way for two ledgers to disagree. What a LAN
//! would buy — gates that see each other but not the server — the shares cover safely: a gate
//! cut off admits only on the share it was given while connected, so the venue stays under
//! capacity however the network splits, and the server merges the passages when they arrive
//! (event ids are unique) and lists the conflicts.

use chrono::{DateTime, Utc};
use serde::Serialize;
use wire::{GateConflict, GateCount, HeldShare, VenueRequest, VenueState, routes};

use crate::store::writer::StoreHandle;
use crate::store::{ShareView, Store, StoreError};
use crate::sync::{SyncClient, SyncError, accepted};

/// What the screens show about the venue.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VenueStatus {
    /// This gate's share and what is left of it (none until the server gave one).
    pub share: Option<ShareView>,
    /// Inside the venue by the server's last view.
    pub inside: u32,
    /// Inside as this gate knows it now: the server's last view and this gate's passages since.
    pub occupancy: u32,
    pub capacity: Option<u32>,
    pub gates: Vec<GateCount>,
    /// The same person admitted at two gates without leaving between (cut-off gates, or a
    /// copied pass): for the operator to look at.
    pub conflicts: Vec<GateConflict>,
    /// When the server last answered.
    pub last_contact: Option<DateTime<Utc>>,
    /// The venue shares its room (a capacity, or several gates) and the last round could not
    /// reach the server: the gate is working alone on its share, and the screens say so.
    pub alone: bool,
}

impl VenueStatus {
    /// Whether the gate should ask again soon (`[sync] venue_interval_seconds`) rather than
    /// at the sync interval: the venue has a capacity or more than one gate.
    pub fn shared(&self) -> bool {
        self.capacity.is_some() || self.gates.len() > 1
    }
}

/// What a venue round brings back to the store.
#[derive(Debug, Clone)]
pub enum VenueUpdate {
    /// Nothing new (the server was not reached): only read the standing share.
    Nothing,
    /// The server's view of the venue, with a new share.
    View(Box<VenueState>),
    /// The server refused this kiosk's token: give up the share.
    Forfeit,
}

/// Where the venue round reads the log identity and keeps the server's view.
pub trait VenueStore {
    fn log_id(&mut self) -> Result<String, StoreError>;
    /// Passages not yet sent (reported to the server for its kiosk health page).
    fn backlog(&mut self) -> Result<u32, StoreError>;
    /// Takes in what the round brought and answers this gate's share and who is inside as
    /// this gate knows it.
    fn take_venue(&mut self, update: VenueUpdate, now: DateTime<Utc>) -> Result<(Option<ShareView>, u32), StoreError>;
}

impl VenueStore for Store {
    fn log_id(&mut self) -> Result<String, StoreError> {
        Store::log_id(self)
    }
    fn backlog(&mut self) -> Result<u32, StoreError> {
        self.pending_sync()
    }
    fn take_venue(&mut self, update: VenueUpdate, now: DateTime<Utc>) -> Result<(Option<ShareView>, u32), StoreError> {
        match update {
            VenueUpdate::Nothing => {}
            VenueUpdate::View(state) => self.apply_venue_state(&state, now)?,
            VenueUpdate::Forfeit => self.forfeit_share()?,
        }
        Ok((self.share_view()?, self.venue_occupancy(now)?))
    }
}

impl VenueStore for StoreHandle {
    fn log_id(&mut self) -> Result<String, StoreError> {
        StoreHandle::log_id(self).recv().map_err(|_| StoreError::Gone)?
    }
    fn backlog(&mut self) -> Result<u32, StoreError> {
        self.pending_sync().recv().map_err(|_| StoreError::Gone)?
    }
    fn take_venue(&mut self, update: VenueUpdate, now: DateTime<Utc>) -> Result<(Option<ShareView>, u32), StoreError> {
        self.venue(update, now).recv().map_err(|_| StoreError::Gone)?
    }
}

/// The largest capacity the server takes (a larger `[venue] capacity` is sent as this).
const MAX_CAPACITY: u32 = 10_000_000;

impl SyncClient {
    /// The venue by every gate's passages, and a new share for this gate.
    pub fn venue_state(&self, request: &VenueRequest) -> Result<VenueState, SyncError> {
        let response = self
            .request(reqwest::Method::POST, routes::VENUE)
            .json(request)
            .send()
            .map_err(|e| SyncError::Unreachable(e.to_string()))?;
        accepted(response)?.json().map_err(|e| SyncError::Refused {
            status: 200,
            body: format!("unreadable venue view: {e}"),
        })
    }
}

/// One round: asks the server for the venue and keeps its answer. Cut off, the store still
/// answers the standing share, so the screen shows what is left of it; the error is returned
/// for the sync status (a server older than venue sharing is not an error).
pub fn venue_round(
    client: &SyncClient,
    store: &mut dyn VenueStore,
    capacity: Option<u32>,
    now: DateTime<Utc>,
    status: &mut VenueStatus,
) -> Result<(), SyncError> {
    let (standing, _) = store.take_venue(VenueUpdate::Nothing, now)?;
    let held = standing.and_then(|s| {
        s.share.map(|share| HeldShare {
            counted_seq: s.counted_seq,
            share,
        })
    });
    let asked = store.log_id().map_err(SyncError::from).and_then(|log_id| {
        client.venue_state(&VenueRequest {
            log_id,
            capacity: capacity.map(|c| c.min(MAX_CAPACITY)),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
            pending: store.backlog().ok(),
            held,
        })
    });
    let update = match &asked {
        Ok(state) => {
            status.inside = state.inside.len() as u32;
            status.capacity = state.capacity;
            status.gates = state.gates.clone();
            status.conflicts = state.conflicts.clone();
            status.last_contact = Some(now);
            VenueUpdate::View(Box::new(state.clone()))
        }
        Err(SyncError::Unauthorized(_)) => VenueUpdate::Forfeit,
        Err(_) => VenueUpdate::Nothing,
    };
    let (share, occupancy) = store.take_venue(update, now)?;
    status.share = share;
    status.occupancy = occupancy;
    let shared = status.shared() || status.share.as_ref().is_some_and(|s| s.share.is_some() || s.gates > 1);
    status.alone = asked.is_err() && shared;
    match asked {
        // A trace server (or a proxy before it) that does not know venue sharing: this gate
        // counts alone, as before.
        Err(SyncError::Refused {
            status: 404 | 405 | 501,
            ..
        }) => Ok(()),
        other => other.map(|_| ()),
    }
}
