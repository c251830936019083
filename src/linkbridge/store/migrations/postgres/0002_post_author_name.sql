-- Posts keep their author's display name (wp:author_display_name) beside the login.
ALTER TABLE posts ADD COLUMN author_name TEXT NOT NULL DEFAULT '';
