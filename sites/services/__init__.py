"""Writes: one module per area, functions named `<thing>_<action>`."""
