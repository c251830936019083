"""Storage: one Store protocol, SQLite embedded by default, PostgreSQL for several instances."""

from linkbridge.store.base import Store, open_configured_store, open_store

__all__ = ["Store", "open_configured_store", "open_store"]
