-- Each old post's nearest web-archive snapshot before the shutdown instant (Memento), as last
-- looked up by `linkbridge archive check`; url is empty when the archive had none.
CREATE TABLE archive_snapshots (
    path       TEXT PRIMARY KEY,
    url        TEXT NOT NULL DEFAULT '',
    memento_at TEXT,
    checked_at TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT ''
);
