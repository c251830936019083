-- Jobs carry the keys fair scheduling counts: the source host a verification fetches and the
-- sender's address group (IPv4 address or IPv6 /64). Empty for other kinds and older jobs.
ALTER TABLE jobs ADD COLUMN source_host TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN sender TEXT NOT NULL DEFAULT '';
UPDATE jobs SET source_host = COALESCE(
    (SELECT l.source_host FROM linkbacks l WHERE l.id = (jobs.payload ->> 'linkback_id')::bigint),
    '')
WHERE kind = 'verify';
CREATE INDEX jobs_leased_host ON jobs (source_host, lease_until);
CREATE INDEX jobs_leased_sender ON jobs (sender, lease_until);
