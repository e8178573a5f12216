-- One venue, many gates: the venue as the trace server last showed it (wire::VenueState).
-- Visits open at the venue that this gate did not open (its own are in open_visits).
CREATE TABLE venue_inside (
    subject     TEXT PRIMARY KEY,
    kiosk_id    TEXT NOT NULL,
    gate        TEXT NOT NULL,
    entered_ms  INTEGER NOT NULL
);
-- This gate's share of the venue's room: entries it may admit beyond passage counted_seq of
-- log log_id (visits it opened after that and that are still open spend it). One row.
CREATE TABLE venue_share (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    log_id       TEXT NOT NULL,
    counted_seq  INTEGER NOT NULL,
    share        INTEGER,            -- NULL: the venue has no capacity
    capacity     INTEGER,
    gates        INTEGER NOT NULL,
    pulled_ms    INTEGER NOT NULL    -- the kiosk's clock when the view arrived
);
