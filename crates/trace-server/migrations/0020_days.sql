-- Passages, and the visits kept from them (on plain PostgreSQL), partitioned by UTC day (of `at`,
-- of `t_in`): retention
-- drops a day's partitions instead of deleting millions of rows one by one (db/days.rs), and a
-- window of days reads only those days. The partitions of a day are made by
-- `ensure_day_partitions` (ahead of time by the server, hourly; by ingest for a day it lacks).
--
-- A partitioned table's unique keys must hold the partition column: the keys gain `at` (`t_in`).
-- A resend carries the same event id at the same time, so it is still a duplicate; only a kiosk
-- sending one event id at two times could store it twice, and its token writes only its venue.

-- Citus: one connection per node for the whole migration (it creates, fills and drops
-- distributed tables in one transaction). A placeholder setting on plain PostgreSQL.
SELECT set_config('citus.multi_shard_modify_mode', 'sequential', true);

-- Made first: Citus copies functions to every node, which it cannot do once this transaction has
-- worked on distributed tables in parallel. Names: passages_p20261107, visits_p20261107.
CREATE FUNCTION ensure_day_partitions(first date, last date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    d date;
BEGIN
    FOR d IN SELECT generate_series(first, last, interval '1 day')::date LOOP
        IF to_regclass('passages_p' || to_char(d, 'YYYYMMDD')) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF passages FOR VALUES FROM (%L) TO (%L)',
                           'passages_p' || to_char(d, 'YYYYMMDD'), d::text || ' 00:00:00+00', (d + 1)::text || ' 00:00:00+00');
        END IF;
        IF to_regclass('visits_p' || to_char(d, 'YYYYMMDD')) IS NULL
           AND EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'visits'::regclass) THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF visits FOR VALUES FROM (%L) TO (%L)',
                           'visits_p' || to_char(d, 'YYYYMMDD'), d::text || ' 00:00:00+00', (d + 1)::text || ' 00:00:00+00');
        END IF;
    END LOOP;
END $$;

-- Nothing is stored or read while the tables are rebuilt.
LOCK TABLE passages, visits IN ACCESS EXCLUSIVE MODE;
-- ALTER TABLE in blocks of their own: Citus sends an ALTER TABLE to the shards as the
-- statement's text, which for this file sent as one string would be every statement in it.
DO $$
BEGIN
    ALTER TABLE passages RENAME TO passages_undivided;
    ALTER TABLE visits RENAME TO visits_undivided;
END $$;

CREATE TABLE passages (LIKE passages_undivided INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (at);
ALTER TABLE passages ADD CONSTRAINT passages_day_key PRIMARY KEY (venue_id, event_id, at);
ALTER TABLE passages ADD CONSTRAINT passages_day_log_seq_key UNIQUE (venue_id, kiosk_id, log_id, seq, at);
CREATE INDEX passages_day_subject_at ON passages (subject, at);
CREATE INDEX passages_day_venue_at ON passages (venue_id, at);
CREATE INDEX passages_day_at ON passages (at);
CREATE INDEX passages_day_kiosk_log_seq ON passages (kiosk_id, log_id, seq);

-- On Citus the visits stay whole: the contacts query asks every shard for a case's visits, and
-- each shard's day partitions multiplied that (a subject's lookup took 134 ms instead of 15 ms
-- on a 32-shard cluster); retention deletes their rows instead.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        CREATE TABLE visits (LIKE visits_undivided INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
    ELSE
        CREATE TABLE visits (LIKE visits_undivided INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (t_in);
    END IF;
END $$;
ALTER TABLE visits ADD CONSTRAINT visits_day_key PRIMARY KEY (venue_id, entry_event, t_in);
CREATE INDEX visits_day_overlap ON visits (venue_id, span_class, t_in)
    INCLUDE (subject, next_at, next_exit, next_inferred);
CREATE INDEX visits_day_subject ON visits (subject, t_in);

-- A partition for each day that has passages, and for the days about to come.
SELECT ensure_day_partitions(d, d)
FROM (SELECT DISTINCT (at AT TIME ZONE 'UTC')::date AS d FROM passages_undivided
      UNION SELECT generate_series((now() AT TIME ZONE 'UTC')::date - 1, (now() AT TIME ZONE 'UTC')::date + 2, interval '1 day')::date) days;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    -- In the same place as before: every venue's passages, visits and counts on one node. (A
    -- database migrated before Citus was installed keeps them local.)
    IF EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'passages_undivided'::regclass) THEN
        PERFORM create_distributed_table('passages', 'venue_id', colocate_with => 'passages_undivided');
        PERFORM create_distributed_table('visits', 'venue_id', colocate_with => 'passages_undivided');
    END IF;
END $$;

INSERT INTO passages SELECT * FROM passages_undivided;
INSERT INTO visits SELECT * FROM visits_undivided;
DROP TABLE passages_undivided, visits_undivided;
DO $$
BEGIN
    ALTER TABLE passages ADD CONSTRAINT passages_day_kiosk_fkey FOREIGN KEY (kiosk_id) REFERENCES kiosks (id);
END $$;
