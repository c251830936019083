-- Versions per concern (as in SQLite's 0012): a linkback decision moves only the feed scopes
-- it shows in; each input of the in-memory snapshot has its own version.
CREATE TABLE feed_versions (
    scope   TEXT   PRIMARY KEY,  -- '' network, '/blog/' sub-blog, '/blog/#ID' one post
    version BIGINT NOT NULL      -- meta.feeds_version when it last changed
);
CREATE INDEX feed_versions_version ON feed_versions (version);
INSERT INTO meta (key, value) VALUES ('feeds_version', '0'), ('posts_version', '0'),
    ('mappings_version', '0'), ('lists_version', '0');
CREATE INDEX linkbacks_feed ON linkbacks (state, (COALESCE(verified_at, created_at)), id);
CREATE INDEX linkbacks_blog_feed
    ON linkbacks (blog, state, (COALESCE(verified_at, created_at)), id);
CREATE INDEX linkbacks_updated ON linkbacks (updated_at);
CREATE INDEX linkbacks_blog_updated ON linkbacks (blog, updated_at);
