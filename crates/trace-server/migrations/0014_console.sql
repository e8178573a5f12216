-- The web console (/ui): venue operators, a role that sees only its own venue, and sign-in
-- sessions. Tokens and session ids are stored as hashes only.
CREATE TABLE operators (
    name        TEXT PRIMARY KEY,
    venue_id    TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at  TIMESTAMPTZ,
    last_seen   TIMESTAMPTZ
);
CREATE TABLE console_sessions (
    id_hash     TEXT PRIMARY KEY,                 -- sha256 of the cookie's value
    role        TEXT NOT NULL CHECK (role IN ('tracer', 'operator')),
    name        TEXT NOT NULL,                    -- the tracer's or operator's name
    csrf        TEXT NOT NULL,                    -- sent back in every form
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);
-- What a kiosk reports with each venue round, for the console's kiosk health page.
ALTER TABLE kiosks ADD COLUMN version TEXT, ADD COLUMN backlog BIGINT, ADD COLUMN reported_at TIMESTAMPTZ;

-- Venue shares: the share a gate still holds while a newer one is on its way to it (a lost
-- reply must not free places the gate may still spend), kept reserved until the gate confirms.
ALTER TABLE venue_shares ADD COLUMN held_seq BIGINT, ADD COLUMN held_share INTEGER;
-- The unique (kiosk_id, log_id, seq) index serves the share queries already.
DROP INDEX IF EXISTS passages_kiosk_log_seq;
