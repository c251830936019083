-- A re-send never hides what is shown: a pending re-verification is a marker beside the state
-- (the URL as re-sent, and since when), not a state change. Rows imported from WordPress are
-- flagged, so an anonymous re-send cannot re-verify them unless a setting allows it.
ALTER TABLE linkbacks ADD COLUMN reverify_url TEXT;
ALTER TABLE linkbacks ADD COLUMN reverify_since TEXT;
ALTER TABLE linkbacks ADD COLUMN imported INTEGER NOT NULL DEFAULT 0;
UPDATE linkbacks SET imported = 1
 WHERE id IN (SELECT linkback_id FROM decisions WHERE actor = 'import');
-- Rows a re-send had re-opened as 'unverified' go back to what they were, marked pending.
UPDATE linkbacks SET state = resend_from, reverify_url = source_url, reverify_since = updated_at,
       resend_from = NULL
 WHERE state = 'unverified' AND resend_from IN ('held', 'approved');
