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
use wire::{GateConflict, GateCount, VenueRequest, VenueState, routes};

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

/// Where the venue round reads the log identity and keeps the server's view.
pub trait VenueStore {
    fn log_id(&mut self) -> Result<String, StoreError>;
    /// Takes in the view (if one arrived) and answers this gate's share.
    fn take_venue(&mut self, state: Option<VenueState>, now: DateTime<Utc>) -> Result<Option<ShareView>, StoreError>;
}

impl VenueStore for Store {
    fn log_id(&mut self) -> Result<String, StoreError> {
        Store::log_id(self)
    }
    fn take_venue(&mut self, state: Option<VenueState>, now: DateTime<Utc>) -> Result<Option<ShareView>, StoreError> {
        if let Some(state) = &state {
            self.apply_venue_state(state, now)?;
        }
        self.share_view()
    }
}

impl VenueStore for StoreHandle {
    fn log_id(&mut self) -> Result<String, StoreError> {
        StoreHandle::log_id(self).recv().map_err(|_| StoreError::Gone)?
    }
    fn take_venue(&mut self, state: Option<VenueState>, now: DateTime<Utc>) -> Result<Option<ShareView>, StoreError> {
        self.venue(state, now).recv().map_err(|_| StoreError::Gone)?
    }
}

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
/// for the sync status.
pub fn venue_round(
    client: &SyncClient,
    store: &mut dyn VenueStore,
    capacity: Option<u32>,
    now: DateTime<Utc>,
    status: &mut VenueStatus,
) -> Result<(), SyncError> {
    let asked = store
        .log_id()
        .map_err(SyncError::from)
        .and_then(|log_id| client.venue_state(&VenueRequest { log_id, capacity }));
    let state = asked.as_ref().ok().cloned();
    if let Some(state) = &state {
        status.inside = state.inside.len() as u32;
        status.capacity = state.capacity;
        status.gates = state.gates.clone();
        status.conflicts = state.conflicts.clone();
        status.last_contact = Some(now);
    }
    status.share = store.take_venue(state, now)?;
    let shared = status.shared() || status.share.as_ref().is_some_and(|s| s.share.is_some() || s.gates > 1);
    status.alone = asked.is_err() && shared;
    match asked {
        // A trace server older than venue sharing: the gate counts alone, as before.
        Err(SyncError::Refused { status: 404, .. }) => Ok(()),
        other => other.map(|_| ()),
    }
}
