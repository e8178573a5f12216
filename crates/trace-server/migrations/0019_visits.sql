-- Visits kept at ingest (db/visits.rs), so that the contacts of a case read only the visits that
-- can overlap its own instead of rebuilding every visit around it from the passages: at 10 M
-- passages a case that went to the busiest mall rebuilt tens of thousands of visits per visit.
--
-- A visit is an admitted entry and the subject's next admitted passage at that venue: an exit
-- ends it there; anything else (an entry, or nothing yet) ends it at the server's visit length,
-- or at that next entry if sooner. The visit length is the server's setting (at most 24 h), so
-- a visit stores its next passage, not its end.
--
-- `span_class` says how long a visit can last, whatever the visit length setting: class k < 7
-- lasts at most 30 min × 2^k, class 7 longer (only a scanned exit makes one). A query for the
-- visits overlapping [t1, t2) reads, per class, those that entered in [t1 − its span, t2): an
-- occasional 12-hour shift no longer makes every short visit's lookback 12 hours.

-- Functions first: Citus copies them to every node, which it cannot do once this transaction has
-- worked on distributed tables in parallel.
CREATE FUNCTION visit_span_class(t_in timestamptz, next_at timestamptz, next_exit boolean)
RETURNS smallint LANGUAGE sql IMMUTABLE AS $$
    SELECT (CASE WHEN s <= 1800 THEN 0 WHEN s <= 3600 THEN 1 WHEN s <= 7200 THEN 2
                 WHEN s <= 14400 THEN 3 WHEN s <= 28800 THEN 4 WHEN s <= 57600 THEN 5
                 WHEN s <= 115200 THEN 6 ELSE 7 END)::smallint
    FROM (SELECT CASE WHEN next_exit THEN EXTRACT(EPOCH FROM next_at - t_in)
                      ELSE LEAST(COALESCE(EXTRACT(EPOCH FROM next_at - t_in), 86400), 86400) END AS s) x
$$;

-- The visits, again from the passages: the backfill below, and part of `recount_rollups`.
CREATE FUNCTION recount_visits() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE visits;
    INSERT INTO visits (venue_id, subject, t_in, entry_seq, entry_event, next_at, next_exit, next_inferred, span_class)
    SELECT venue_id, subject, at, seq, event_id, next_at, COALESCE(next_dir = 'exit', false),
           COALESCE(next_inferred, false), visit_span_class(at, next_at, COALESCE(next_dir = 'exit', false))
    FROM (SELECT venue_id, subject, event_id, seq, direction, at,
                 LEAD(direction) OVER w AS next_dir, LEAD(at) OVER w AS next_at, LEAD(inferred) OVER w AS next_inferred
          FROM passages WHERE subject IS NOT NULL AND verdict = 'admit'
          WINDOW w AS (PARTITION BY venue_id, subject ORDER BY at, seq)) s
    WHERE direction = 'entry';
END $$;

-- Everything derived from the passages, again (0018's, with the visits instead of the longest
-- stays, which bounded the old contacts query: the span classes replace them).
CREATE OR REPLACE FUNCTION recount_rollups() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE venue_hours, venue_days, venue_day_visitors;
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

    PERFORM recount_visits();
END $$;

-- Passages stored while the visits are rebuilt (by a server of the previous version, still
-- running) would be in no visit: ingest waits until this migration commits.
LOCK TABLE passages IN SHARE MODE;

CREATE TABLE visits (
    venue_id text NOT NULL,
    subject text NOT NULL,
    t_in timestamptz NOT NULL,          -- the admitted entry
    entry_seq bigint NOT NULL,          -- its kiosk's seq (orders passages at one instant)
    entry_event uuid NOT NULL,
    next_at timestamptz,                -- the subject's next admitted passage here (NULL: none yet)
    next_exit boolean NOT NULL,         -- that passage is an exit: the visit ends there
    next_inferred boolean NOT NULL,     -- an exit the kiosk inferred (automatic check-out)
    span_class smallint NOT NULL,       -- visit_span_class(t_in, next_at, next_exit)
    PRIMARY KEY (venue_id, entry_event)
);
-- Overlaps at a venue, per span class, read from the index alone.
CREATE INDEX visits_overlap ON visits (venue_id, span_class, t_in)
    INCLUDE (subject, next_at, next_exit, next_inferred);
-- A case's own visits.
CREATE INDEX visits_subject ON visits (subject, t_in);
-- Retention.
CREATE INDEX visits_t_in ON visits (t_in);

-- The longest stays are no longer read or kept.
DROP TABLE venue_stays;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    -- Beside each venue's passages: ingest writes both in one transaction on one node.
    IF EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'passages'::regclass) THEN
        PERFORM create_distributed_table('visits', 'venue_id', colocate_with => 'passages');
    END IF;
END $$;

SELECT recount_visits();
