-- The DCC subject key goes to a kiosk token once (pairing, and a retry within ten minutes),
-- not with every whoami: a token stolen from a paired kiosk cannot fetch it. Rotating the
-- token opens it again for the new one.
ALTER TABLE kiosks ADD COLUMN subject_key_given_at TIMESTAMPTZ;
-- Kiosks that have used their token already were paired by a server that sent the key with
-- every whoami: they have it, and their tokens must not fetch it again.
-- (A token rotated but not yet used keeps its window: last_seen is the old token's.)
UPDATE kiosks SET subject_key_given_at = COALESCE(rotated_at, created_at)
WHERE last_seen IS NOT NULL AND (rotated_at IS NULL OR last_seen >= rotated_at);
