-- The DCC subject key goes to a kiosk token once (pairing, and a retry within ten minutes),
-- not with every whoami: a token stolen from a paired kiosk cannot fetch it. Rotating the
-- token opens it again for the new one.
ALTER TABLE kiosks ADD COLUMN subject_key_given_at TIMESTAMPTZ;
