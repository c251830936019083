"""Retirement: the redirect table, its outcomes, Sunset headers and the origin proxy."""
