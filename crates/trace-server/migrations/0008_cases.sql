-- Tracing a person is bound to an opened case: a tracer opens one for a confirmed case's
-- subject, with a reason (a lab report, an order number) and an end; contacts and venue
-- visitor lists are only answered within an open case, and the audit trail names it.
CREATE TABLE cases (
    id          BIGSERIAL PRIMARY KEY,
    subject     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    opened_by   TEXT NOT NULL,
    opened_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    closes_at   TIMESTAMPTZ NOT NULL,
    closed_at   TIMESTAMPTZ
);
