"""Content negotiation: which representation a client's Accept header asks for first."""

from __future__ import annotations


def wants_json(accept: str | None) -> bool:
    """True when the client asked for JSON first (errors and the admin page answer in JSON)."""
    accept = accept or ""
    return "application/json" in accept and "text/html" not in accept.split(",")[0]
