//! The contract between kiosk and trace server, in one place both compile against: the domain
//! words (direction, verdict, reason), the records as they travel, the route paths and the
//! limits. A renamed field or word is a compile error on both sides, not a silent loss.

mod api;
mod venue;
pub mod when;
mod words;

pub use api::{
    FormatTrust, IngestReport, KioskIdentity, KioskStatus, MAX_BATCH, POLICY_VERSION, PassageRecord, PolicyDocument,
    Rejection, ScopedIssuer, SignedDocument, routes,
};
pub use venue::{GateConflict, GateCount, HeldShare, OpenVisit, VenueRequest, VenueState};
pub use words::{Direction, Reason, UnknownWord, VerdictKind};
