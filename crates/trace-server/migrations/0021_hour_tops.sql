-- The busiest venues of each hour, from an index (db/trace.rs `peaks`): a day's peaks read each
-- hour's first few rows instead of sorting every venue's 24 hours (48 000 rows for 2 000
-- venues, tens of ms; a nation has a million venues). In a block of its own: Citus sends some
-- DDL to the shards as the statement's text, which for this file as one string would be all of it.
DO $$
BEGIN
    CREATE INDEX venue_hours_top ON venue_hours (hour, entries DESC, venue_id);
    DROP INDEX venue_hours_hour;
END $$;
