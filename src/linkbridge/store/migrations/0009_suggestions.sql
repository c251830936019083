-- Mapping suggestions (docs/retirement.md): the successor site's pages as read from its sitemaps
-- (a cache, so `redirects suggest` resumes where it stopped), and one suggestion per old post,
-- open until a moderator accepts or rejects it.
CREATE TABLE successor_pages (
    url        TEXT PRIMARY KEY,
    title      TEXT NOT NULL DEFAULT '',
    text       TEXT NOT NULL DEFAULT '',
    lastmod    TEXT,
    fetched_at TEXT NOT NULL
);
CREATE TABLE suggestions (
    path       TEXT PRIMARY KEY,
    target     TEXT,
    score      REAL    NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    ranked     TEXT    NOT NULL DEFAULT '[]',
    title      TEXT    NOT NULL DEFAULT '',
    state      TEXT    NOT NULL DEFAULT 'open',
    priority   INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT    NOT NULL
);
CREATE INDEX suggestions_open ON suggestions (state, priority, score);
