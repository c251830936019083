-- linkbridge schema, version 1. Migrations are numbered and only ever appended.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('version', '1');

CREATE TABLE posts (
    blog           TEXT    NOT NULL,
    post_id        INTEGER NOT NULL,
    permalink      TEXT    NOT NULL,
    path           TEXT    NOT NULL,
    slug           TEXT    NOT NULL,
    title          TEXT    NOT NULL,
    excerpt        TEXT    NOT NULL DEFAULT '',
    author         TEXT    NOT NULL DEFAULT '',
    published_at   TEXT,
    modified_at    TEXT,
    status         TEXT    NOT NULL,
    comment_status TEXT    NOT NULL,
    ping_status    TEXT    NOT NULL,
    post_type      TEXT    NOT NULL,
    categories     TEXT    NOT NULL DEFAULT '[]',
    human_comments INTEGER NOT NULL DEFAULT 0,
    tombstone      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (blog, post_id)
);

CREATE TABLE linkbacks (
    id               INTEGER PRIMARY KEY,
    blog             TEXT    NOT NULL,
    post_id          INTEGER NOT NULL,
    source_url       TEXT    NOT NULL,
    source_canonical TEXT    NOT NULL,
    source_host      TEXT    NOT NULL,
    protocol         TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    title            TEXT    NOT NULL DEFAULT '',
    excerpt          TEXT    NOT NULL DEFAULT '',
    blog_name        TEXT    NOT NULL DEFAULT '',
    author_name      TEXT    NOT NULL DEFAULT '',
    author_url       TEXT    NOT NULL DEFAULT '',
    author_photo     TEXT    NOT NULL DEFAULT '',
    published_at     TEXT,
    mention_type     TEXT    NOT NULL DEFAULT 'mention',
    target_url       TEXT    NOT NULL DEFAULT '',
    reason           TEXT    NOT NULL DEFAULT '',
    public_id        TEXT UNIQUE,
    client_ip        TEXT    NOT NULL DEFAULT '',
    content          TEXT    NOT NULL DEFAULT '',
    resend_from      TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    verified_at      TEXT,
    UNIQUE (source_canonical, blog, post_id)
);
CREATE INDEX linkbacks_state ON linkbacks (state, updated_at);
CREATE INDEX linkbacks_post ON linkbacks (blog, post_id, state);
CREATE INDEX linkbacks_host ON linkbacks (source_host, state);

CREATE TABLE decisions (
    id          INTEGER PRIMARY KEY,
    linkback_id INTEGER NOT NULL REFERENCES linkbacks (id),
    old_state   TEXT    NOT NULL,
    new_state   TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    reason      TEXT    NOT NULL DEFAULT '',
    at          TEXT    NOT NULL
);
CREATE INDEX decisions_linkback ON decisions (linkback_id);

CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    dedupe_key  TEXT UNIQUE,
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_after   TEXT    NOT NULL,
    lease_until TEXT,
    last_error  TEXT    NOT NULL DEFAULT '',
    created_at  TEXT    NOT NULL
);
CREATE INDEX jobs_due ON jobs (run_after);

CREATE TABLE mappings (
    source     TEXT PRIMARY KEY,
    target     TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);

CREATE TABLE hits (
    day    TEXT    NOT NULL,
    path   TEXT    NOT NULL,
    status INTEGER NOT NULL,
    rule   TEXT    NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (day, path, status, rule)
);

CREATE TABLE host_lists (
    host       TEXT NOT NULL,
    list       TEXT NOT NULL CHECK (list IN ('block', 'allow')),
    reason     TEXT NOT NULL DEFAULT '',
    actor      TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    PRIMARY KEY (host, list)
);

CREATE TABLE admin_kv (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE admin_sessions (
    token_hash TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id           INTEGER PRIMARY KEY,
    event        TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT    NOT NULL DEFAULT '',
    created_at   TEXT    NOT NULL,
    delivered_at TEXT
);

CREATE TABLE successor_checks (
    url        TEXT PRIMARY KEY,
    status     INTEGER,
    ok         INTEGER NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    checked_at TEXT NOT NULL
);
