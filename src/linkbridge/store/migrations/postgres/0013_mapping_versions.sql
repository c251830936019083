-- Which mappings changed since a version (as in SQLite's 0013): each written or removed source
-- with the mappings_version of its last change; 'mappings_recorded_version' and
-- 'mappings_unrecorded_version' tell a reader whether every change since its version was
-- recorded here.
CREATE TABLE mapping_versions (
    source  TEXT   PRIMARY KEY,
    version BIGINT NOT NULL
);
CREATE INDEX mapping_versions_version ON mapping_versions (version);
INSERT INTO meta (key, value)
    SELECT 'mappings_recorded_version', value FROM meta WHERE key = 'mappings_version';
INSERT INTO meta (key, value)
    SELECT 'mappings_unrecorded_version', value FROM meta WHERE key = 'mappings_version';
