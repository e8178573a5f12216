-- Tracer tokens made before tokens could expire get the same 90 days as new ones, from now.
UPDATE tracers SET expires_at = now() + interval '90 days' WHERE expires_at IS NULL;
