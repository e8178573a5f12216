-- A kiosk's log identity (wire::PassageRecord::log_id). A kiosk whose log was reset starts
-- seq at 1 again under a new log id: its passages are stored, not dropped as duplicates of
-- old (kiosk, seq) pairs. Kiosks older than the field send '' (one log).
ALTER TABLE passages ADD COLUMN log_id TEXT NOT NULL DEFAULT '';
ALTER TABLE passages DROP CONSTRAINT passages_kiosk_id_seq_key;
ALTER TABLE passages ADD CONSTRAINT passages_kiosk_log_seq_key UNIQUE (kiosk_id, log_id, seq);

-- Retention's purge mark per log: the highest seq it deleted, so those rows are not reported
-- as lost (replaces kiosks.purged_through, which knew one log per kiosk).
CREATE TABLE log_purge_marks (
    kiosk_id       TEXT   NOT NULL REFERENCES kiosks (id),
    log_id         TEXT   NOT NULL,
    purged_through BIGINT NOT NULL,
    PRIMARY KEY (kiosk_id, log_id)
);
INSERT INTO log_purge_marks (kiosk_id, log_id, purged_through)
SELECT id, '', purged_through FROM kiosks WHERE purged_through > 0;

-- Passages refused on their own (the rest of their batch is stored), counted per kiosk.
ALTER TABLE kiosks ADD COLUMN rejected BIGINT NOT NULL DEFAULT 0;

-- The pass format of a passage's credential (wire::PassageRecord::format).
ALTER TABLE passages ADD COLUMN format TEXT;
-- The passage's link in its kiosk's hash chain: the anchor a kiosk checks its log against.
ALTER TABLE passages ADD COLUMN chain_hash TEXT;
