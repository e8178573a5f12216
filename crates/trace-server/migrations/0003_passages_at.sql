-- A day's hotspots and peak flows read every passage of a time range across all venues:
-- without this index that is a scan of the whole table (measured: benches/trace.rs).
CREATE INDEX passages_at ON passages (at);
