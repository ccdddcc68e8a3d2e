"""devidp: a development OpenID Connect provider (django-oauth-toolkit in OIDC mode).

Never deployed. It is its own Django project (``devidp.settings``) with its own
SQLite database, signing key and users, started with ``python -m devidp``.
This module imports nothing so that ``import devidp.personas`` stays cheap for
the test fixtures.
"""
