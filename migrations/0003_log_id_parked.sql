-- A log's identity. A kiosk whose log was reset or replaced starts seq at 1 again under a new
-- id, so the trace server stores the new passages instead of taking them for duplicates of
-- old (kiosk, seq) pairs. A log that already has passages keeps the empty id the server
-- already files them under.
INSERT INTO meta (key, value)
SELECT 'log_id', lower(hex(randomblob(16)))
WHERE NOT EXISTS (SELECT 1 FROM meta WHERE key = 'last_seq');

-- Passages the server refused on their own and will never store (the server's reason). They
-- leave the sync queue, so one bad passage never blocks the others, and stay here (never
-- purged) for the operator.
ALTER TABLE passages ADD COLUMN parked TEXT;
