"""Requests per token: GATEHOUSE_API_RATE (e.g. "600/min"), counted in Django's cache; over it, 429 with Retry-After.

Only token-authenticated requests are counted: one without a token, or with
one that is refused, is answered 401 before it costs anything (and a token's
256-bit secret leaves nothing to guess). The count is per cache, so with
the default local-memory cache it is per web process.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from ..models import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    scope = "token"

    def get_rate(self):
        # Read per request (not at import, as DRF's THROTTLE_RATES is), so tests and settings changes apply.
        return settings.GATEHOUSE_API_RATE or None

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        token = request.auth
        if not isinstance(token, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": token.key_id}
