-- The moderation history of redirect mappings and host lists (linkback state changes stay in
-- `decisions`). `before`/`after` are NULL where there was, or is, no row.
CREATE TABLE changes (
    id      INTEGER PRIMARY KEY,
    subject TEXT    NOT NULL,
    key     TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    before  TEXT,
    after   TEXT,
    actor   TEXT    NOT NULL,
    reason  TEXT    NOT NULL DEFAULT '',
    at      TEXT    NOT NULL
);
CREATE INDEX changes_key ON changes (subject, key, id);
