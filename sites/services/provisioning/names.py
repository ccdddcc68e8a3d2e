"""AWS names derived from a site, so a crash after a create finds the same resource again."""

from __future__ import annotations

import re

from django.conf import settings

from ...models import ProtectedSite


def site_bucket_name(site: ProtectedSite) -> str:
    """Deterministic from the site, so a crash after CreateBucket finds the same bucket."""
    prefix = settings.GATEHOUSE_SITE_BUCKET_PREFIX
    slug = re.sub(r"[^a-z0-9-]+", "-", site.slug.lower()).strip("-")
    return f"{prefix}{site.pk}-{slug}"[:63].rstrip("-.")


def site_caller_reference(site: ProtectedSite) -> str:
    # The bucket name carries the environment's prefix and the site id, so
    # two consoles sharing an account never adopt each other's distribution.
    return f"gatehouse:{site_bucket_name(site)}"
