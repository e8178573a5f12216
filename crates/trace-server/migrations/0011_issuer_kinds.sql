-- The kinds of pass an issuer is trusted for (NULL: any), carried in the signed list.
ALTER TABLE trusted_issuers ADD COLUMN kinds TEXT[];
