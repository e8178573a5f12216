-- Query budgets at national scale (docs/scale-out.md): hotspots and peaks over whole UTC days
-- and hours are read from counts kept at ingest (db/rollup.rs), not from the passages. The
-- counts and the visitor sets (a day's distinct visitors per venue, for "unique visitors"
-- over several days; they name subjects) are purged with the passages.
-- Counts everything again from the passages: the backfill below, and `Db::rebuild_rollups`
-- (synthetic data written around ingest, tests holding the kept counts to a recount). One
-- definition, beside the tables it fills; made first because Citus copies functions to every
-- node and cannot once this transaction has worked on distributed tables in parallel.
CREATE FUNCTION recount_rollups() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE venue_hours, venue_days, venue_day_visitors, venue_stays;
    INSERT INTO venue_hours (venue_id, hour, passages, entries, exits)
    SELECT venue_id, date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', COUNT(*),
           COUNT(*) FILTER (WHERE direction = 'entry' AND verdict = 'admit'),
           COUNT(*) FILTER (WHERE direction = 'exit')
    FROM passages GROUP BY 1, 2;

    INSERT INTO venue_day_visitors (venue_id, day, subject)
    SELECT DISTINCT venue_id, (at AT TIME ZONE 'UTC')::date, subject
    FROM passages WHERE direction = 'entry' AND verdict = 'admit' AND subject IS NOT NULL;

    INSERT INTO venue_days (venue_id, day, entries, visitors)
    SELECT venue_id, (at AT TIME ZONE 'UTC')::date, COUNT(*), COUNT(DISTINCT subject)
    FROM passages WHERE direction = 'entry' AND verdict = 'admit' GROUP BY 1, 2;

    INSERT INTO venue_stays (venue_id, longest_secs)
    SELECT venue_id, MAX(EXTRACT(EPOCH FROM next_at - at))::float8 FROM (
        SELECT venue_id, direction, at, LEAD(direction) OVER w AS next_dir, LEAD(at) OVER w AS next_at
        FROM passages WHERE subject IS NOT NULL AND verdict = 'admit'
        WINDOW w AS (PARTITION BY venue_id, subject ORDER BY at, seq)
    ) s WHERE direction = 'entry' AND next_dir = 'exit' GROUP BY venue_id;
END $$;

-- Passages stored while the counts below are taken (by a server of the previous version, still
-- running) would be counted by nobody: ingest waits until this migration commits.
LOCK TABLE passages IN SHARE MODE;

CREATE TABLE venue_hours (
    venue_id text NOT NULL,
    hour timestamptz NOT NULL,          -- the UTC hour the passages fall in
    passages bigint NOT NULL DEFAULT 0, -- every passage, refused ones included
    entries bigint NOT NULL DEFAULT 0,  -- admitted entries
    exits bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (venue_id, hour)
);
CREATE INDEX venue_hours_hour ON venue_hours (hour);

CREATE TABLE venue_days (
    venue_id text NOT NULL,
    day date NOT NULL,                  -- UTC
    entries bigint NOT NULL DEFAULT 0,  -- admitted entries
    visitors bigint NOT NULL DEFAULT 0, -- distinct subjects of those entries
    PRIMARY KEY (venue_id, day)
);
CREATE INDEX venue_days_day ON venue_days (day);

-- The longest stay scanned at each venue (entry to its exit), which bounds how far around a
-- case visit the contacts query reads (db/trace.rs). Raised at ingest, never lowered: a late
-- passage can only shorten a stay, so an old maximum stays safe.
CREATE TABLE venue_stays (
    venue_id text PRIMARY KEY,
    longest_secs float8 NOT NULL
);

CREATE TABLE venue_day_visitors (
    venue_id text NOT NULL,
    day date NOT NULL,
    subject text NOT NULL,
    PRIMARY KEY (venue_id, day, subject)
);

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    -- Beside each venue's passages (a database migrated before Citus was installed keeps them
    -- local, and these too): ingest writes both in one transaction on one node.
    IF EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'passages'::regclass) THEN
        PERFORM create_distributed_table('venue_hours', 'venue_id', colocate_with => 'passages');
        PERFORM create_distributed_table('venue_days', 'venue_id', colocate_with => 'passages');
        PERFORM create_distributed_table('venue_day_visitors', 'venue_id', colocate_with => 'passages');
        PERFORM create_distributed_table('venue_stays', 'venue_id', colocate_with => 'passages');
    END IF;
END $$;

-- The counts of the passages already stored.
SELECT recount_rollups();
