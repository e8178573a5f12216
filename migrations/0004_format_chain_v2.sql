-- The pass format a passage's credential came in ('vp1', later 'hc1'); NULL for an
-- unverified code and for rows recorded before formats were named.
ALTER TABLE passages ADD COLUMN format TEXT;
-- The hash chain's version per row: 1 hashes the original fields, 2 also covers `format`.
-- Old rows keep version 1 and still verify.
ALTER TABLE passages ADD COLUMN chain_v INTEGER NOT NULL DEFAULT 1;
