-- The passage log. Append-only: a later change is a new file, never an edit of this one.
CREATE TABLE passages (
    seq        INTEGER PRIMARY KEY,              -- per-kiosk, gapless, assigned in the insert's transaction
    event_id   TEXT    NOT NULL UNIQUE,          -- UUIDv7 made on the kiosk: resending is harmless
    kiosk_id   TEXT    NOT NULL,
    venue_id   TEXT    NOT NULL,
    gate       TEXT    NOT NULL,
    direction  TEXT    NOT NULL CHECK (direction IN ('entry', 'exit')),
    subject    TEXT,                             -- pseudonymous id from a verified pass; NULL when unverified
    scan_key   TEXT    NOT NULL,                 -- subject, or a hash of the text: repeat suppression
    kind       TEXT,
    issuer     TEXT,
    health     TEXT,
    verdict    TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    at_ms      INTEGER NOT NULL,                 -- UTC milliseconds
    inferred   INTEGER NOT NULL DEFAULT 0,       -- 1: an exit closed automatically after [visit] max_hours
    prev_hash  TEXT    NOT NULL,
    hash       TEXT    NOT NULL,                 -- sha256 over this row's content and prev_hash
    synced     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX passages_at ON passages (at_ms);
CREATE INDEX passages_scan_key ON passages (scan_key, at_ms);
CREATE INDEX passages_unsynced ON passages (seq) WHERE synced = 0;

-- Visitors inside now: one open visit per subject.
CREATE TABLE open_visits (
    subject    TEXT    PRIMARY KEY,
    entered_ms INTEGER NOT NULL,
    entry_seq  INTEGER NOT NULL
);

-- Chain head and purge anchor: last_seq, last_hash, purged_seq, purged_hash.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
