-- One venue, many gates: each gate's share of its venue's room (wire::VenueState::share),
-- counted from a passage of its log, and the capacity it reports. A gate admits against its
-- share whether connected or cut off; the server never hands out more than the room left.
-- A revoked kiosk's share is released (its rows are ignored).
CREATE TABLE venue_shares (
    kiosk_id     TEXT PRIMARY KEY REFERENCES kiosks (id),
    log_id       TEXT NOT NULL,
    counted_seq  BIGINT NOT NULL,
    share        INTEGER,                -- NULL: the venue has no capacity
    capacity     INTEGER,                -- the kiosk's [gate] capacity; NULL: none set
    issued_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX passages_kiosk_log_seq ON passages (kiosk_id, log_id, seq);
