-- The deployment's secret for EU DCC holders' pseudonymous ids: kiosks get it at pairing,
-- tracers' `dcc-subject` uses it. One row, made on first use.
CREATE TABLE subject_key (
    id      BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
    secret  TEXT NOT NULL                                   -- 64 hex characters
);
