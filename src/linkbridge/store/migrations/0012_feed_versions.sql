-- Versions per concern: a linkback decision moves only the feed scopes it shows in (its post,
-- its sub-blog, the network), not meta.version (posts, redirect table, host lists).
CREATE TABLE feed_versions (
    scope   TEXT    PRIMARY KEY,  -- '' network, '/blog/' sub-blog, '/blog/#ID' one post
    version INTEGER NOT NULL      -- the value of meta.feeds_version when it last changed
);
CREATE INDEX feed_versions_version ON feed_versions (version);
INSERT INTO meta (key, value) VALUES ('feeds_version', '0');
-- And one version per input of the in-memory snapshot, so that a host list change does not
-- rebuild the redirect table, nor a mapping change the post registry. 'version' still moves
-- with each of them (any snapshot change).
INSERT INTO meta (key, value) VALUES ('posts_version', '0'), ('mappings_version', '0'),
    ('lists_version', '0');
-- The comment feeds' order (newest shown first), served by an index instead of a sort.
CREATE INDEX linkbacks_feed ON linkbacks (state, COALESCE(verified_at, created_at), id);
CREATE INDEX linkbacks_blog_feed ON linkbacks (blog, state, COALESCE(verified_at, created_at), id);
-- A feed's Last-Modified floor: the newest change of its scope.
CREATE INDEX linkbacks_updated ON linkbacks (updated_at);
CREATE INDEX linkbacks_blog_updated ON linkbacks (blog, updated_at);
