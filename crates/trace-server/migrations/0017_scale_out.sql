-- Past one machine (docs/scale-out.md): on Citus, passages are distributed by venue and the
-- small tables are copied to every node. A distributed table's unique keys must hold its
-- distribution column, so passages' keys gain venue_id here, on plain PostgreSQL too: one
-- schema everywhere. A kiosk's token writes only its own venue, so a resent passage (same
-- event id, same venue) is still a duplicate and (kiosk, log, seq) still names one passage.
ALTER TABLE passages DROP CONSTRAINT passages_pkey;
ALTER TABLE passages ADD PRIMARY KEY (venue_id, event_id);
ALTER TABLE passages DROP CONSTRAINT passages_kiosk_log_seq_key;
ALTER TABLE passages ADD CONSTRAINT passages_kiosk_log_seq_key UNIQUE (venue_id, kiosk_id, log_id, seq);

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RETURN;
    END IF;
    -- Foreign keys to a reference table need one connection per node within a transaction.
    PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    -- Foreign keys to kiosks are made again once both sides are Citus tables.
    ALTER TABLE passages DROP CONSTRAINT passages_kiosk_id_fkey;
    ALTER TABLE log_purge_marks DROP CONSTRAINT log_purge_marks_kiosk_id_fkey;
    ALTER TABLE venue_shares DROP CONSTRAINT venue_shares_kiosk_id_fkey;
    -- Read on every ingest and venue round, joined with passages: a copy on each node.
    PERFORM create_reference_table('kiosks');
    PERFORM create_reference_table('log_purge_marks');
    PERFORM create_reference_table('venue_shares');
    PERFORM create_distributed_table('passages', 'venue_id');
    ALTER TABLE passages ADD CONSTRAINT passages_kiosk_id_fkey FOREIGN KEY (kiosk_id) REFERENCES kiosks (id);
    ALTER TABLE log_purge_marks ADD CONSTRAINT log_purge_marks_kiosk_id_fkey FOREIGN KEY (kiosk_id) REFERENCES kiosks (id);
    ALTER TABLE venue_shares ADD CONSTRAINT venue_shares_kiosk_id_fkey FOREIGN KEY (kiosk_id) REFERENCES kiosks (id);
    -- The rest (credentials, cases, trust list, sessions, the audit trail and its
    -- append-only trigger) stay on the coordinator, which alone answers for them: nothing
    -- joins them with passages, and confirmed cases are not copied to every worker. Every
    -- server must connect to the coordinator (its advisory locks order ingest and shares).
    -- A database migrated before Citus was installed stays undistributed.
END $$;
