"""Gatehouse's Lambda@Edge viewer-request authenticator.

Standard library only: the package is zipped for Lambda@Edge (1 MB limit) and
every import is paid at cold start.
"""

__version__ = "1.0.0"
