-- Which mappings changed since a version: each written or removed source keeps the
-- mappings_version of its last change, so a server applies only those rows instead of reading
-- the whole table back. 'mappings_recorded_version' is the mappings_version of the last change
-- recorded here, 'mappings_unrecorded_version' the newest one that may hold a change not
-- recorded here (a writer that moved the version without naming its rows: a restore, an
-- older release): a server whose version is older than that reads every row.
CREATE TABLE mapping_versions (
    source  TEXT    PRIMARY KEY,
    version INTEGER NOT NULL
);
CREATE INDEX mapping_versions_version ON mapping_versions (version);
INSERT INTO meta (key, value)
    SELECT 'mappings_recorded_version', value FROM meta WHERE key = 'mappings_version';
INSERT INTO meta (key, value)
    SELECT 'mappings_unrecorded_version', value FROM meta WHERE key = 'mappings_version';
