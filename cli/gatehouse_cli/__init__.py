"""gatehouse: deploy, roll back and inspect Gatehouse sites from a terminal or CI (docs/api.md)."""

__version__ = "0.1.0"
