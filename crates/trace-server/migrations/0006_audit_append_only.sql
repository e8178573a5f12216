-- The audit trail of tracing queries is append-only: no row is changed, and none is deleted
-- before it is a year old (retention then removes it). Enforced by the database itself, so
-- neither a bug nor an operator with the server's credentials rewrites who asked what.
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'the audit trail is append-only';
    END IF;
    IF OLD.at > now() - interval '365 days' THEN
        RAISE EXCEPTION 'audit rows are kept for a year';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
