-- Failed linkbacks (never shown) are pruned after moderation.failed_retention_days with their
-- decisions; a webmention's status resource then answers 410 with the reason it failed.
CREATE TABLE pruned_linkbacks (
    public_id TEXT PRIMARY KEY,
    reason    TEXT NOT NULL,
    pruned_at TIMESTAMPTZ NOT NULL
);
