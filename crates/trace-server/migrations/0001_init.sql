-- Trace server schema. Append-only: later changes are new files.
CREATE TABLE kiosks (
    id          TEXT PRIMARY KEY,
    venue_id    TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,     -- sha256 of the token; the token itself is never stored
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE tracers (
    name        TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE passages (
    event_id    UUID PRIMARY KEY,         -- made on the kiosk: a resend is a no-op
    kiosk_id    TEXT NOT NULL REFERENCES kiosks (id),
    venue_id    TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    gate        TEXT NOT NULL,
    direction   TEXT NOT NULL CHECK (direction IN ('entry', 'exit')),
    subject     TEXT,
    kind        TEXT,
    issuer      TEXT,
    health      TEXT,
    verdict     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,     -- the kiosk's clock
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),  -- ours: kiosk clocks drift
    inferred    BOOLEAN NOT NULL DEFAULT false,
    UNIQUE (kiosk_id, seq)
);
CREATE INDEX passages_subject_at ON passages (subject, at);
CREATE INDEX passages_venue_at ON passages (venue_id, at);
CREATE TABLE audit (
    id          BIGSERIAL PRIMARY KEY,
    tracer      TEXT NOT NULL,
    query       TEXT NOT NULL,
    params      JSONB NOT NULL,
    at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
