-- Retention: passages older than the retention period are deleted. Each kiosk remembers the
-- highest sequence number purged, so the rows it deleted are not reported as lost.
ALTER TABLE kiosks ADD COLUMN purged_through BIGINT NOT NULL DEFAULT 0;
