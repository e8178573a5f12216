-- EU DCC Document Signer Certificates the server hands to kiosks in its signed list (hc1).
CREATE TABLE trusted_dscs (
    kid          TEXT PRIMARY KEY,          -- base64 of the first 8 bytes of SHA-256(DER)
    country      TEXT,                      -- the certificate subject's C=
    certificate  TEXT NOT NULL,             -- base64 DER
    not_after    TIMESTAMPTZ NOT NULL,
    added_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
