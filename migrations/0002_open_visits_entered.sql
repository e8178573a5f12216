-- Every recorded scan looks for overdue visits (entered_ms <= now - max); without this index
-- that is a scan of all open visits per passage, which the store benchmark showed dominating
-- the insert cost once tens of thousands of visits are open.
CREATE INDEX open_visits_entered ON open_visits (entered_ms);

-- Closing an overdue visit copies kind and issuer from the subject's last passage.
CREATE INDEX passages_subject ON passages (subject, seq);
