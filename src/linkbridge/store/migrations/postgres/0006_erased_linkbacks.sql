-- Linkbacks erased on a person's request (docs/privacy.md). Only a SHA-256 digest of the source
-- URL and the post is kept, so that importing the WordPress export again does not bring an
-- erased linkback back; nothing in it can be read back as the erased data.
CREATE TABLE erased_linkbacks (
    digest TEXT PRIMARY KEY,
    at     TIMESTAMPTZ NOT NULL
);
