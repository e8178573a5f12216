-- Credentials that can be revoked, rotated and expired, and the clock each kiosk reports.
-- A revoked kiosk keeps its row: its passages still name it.
ALTER TABLE kiosks
    ADD COLUMN revoked_at  TIMESTAMPTZ,
    ADD COLUMN rotated_at  TIMESTAMPTZ,
    ADD COLUMN last_seen   TIMESTAMPTZ,
    -- kiosk clock minus server clock at its last request, from the Kiosk-Clock header
    ADD COLUMN clock_skew_seconds DOUBLE PRECISION;
ALTER TABLE tracers
    ADD COLUMN revoked_at  TIMESTAMPTZ,
    ADD COLUMN rotated_at  TIMESTAMPTZ,
    ADD COLUMN expires_at  TIMESTAMPTZ,
    ADD COLUMN last_seen   TIMESTAMPTZ;
CREATE INDEX audit_at ON audit (at);
