"""The moderator's web page under /admin/: off until a password is set, then login-only."""
