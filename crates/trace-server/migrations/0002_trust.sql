-- What the server hands to kiosks, signed: trusted pass issuers and risk regions.
CREATE TABLE server_key (
    id         BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),   -- exactly one row
    secret     TEXT NOT NULL                                  -- vp1 secret key file text
);
CREATE TABLE trusted_issuers (
    issuer_id  TEXT PRIMARY KEY,
    public_key TEXT NOT NULL                                  -- vp1 public key file text
);
CREATE TABLE risk_regions (
    region     TEXT PRIMARY KEY
);
