-- A console session holds to the token it was signed in with: rotating or revoking that token
-- ends it (sessions from before this column are ended: they have none).
ALTER TABLE console_sessions ADD COLUMN token_hash TEXT NOT NULL DEFAULT '';
