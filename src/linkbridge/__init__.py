"""linkbridge: keeps a closing blog's links alive."""

__version__ = "0.1.0"
