-- Pairing (`kiosk pair`) gives a kiosk the ids the trace server knows it by. Passages it
-- recorded before, under other ids at the same venue, are sent under the paired ids: the row
-- keeps the ids it was recorded (and hashed) under, this table says what to send instead.
CREATE TABLE sent_as (
    kiosk_id   TEXT NOT NULL,
    venue_id   TEXT NOT NULL,
    as_kiosk   TEXT NOT NULL,
    as_venue   TEXT NOT NULL,
    since_ms   INTEGER NOT NULL,
    PRIMARY KEY (kiosk_id, venue_id)
);
