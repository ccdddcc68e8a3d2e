"""Origin access controls, sharded like the edge functions.

CloudFront's quotas allow 100 distributions per origin access control (the
Developer Guide, Quotas; adjustable). One shared OAC stopped provisioning at
the 100th demo, so each site records the OAC it was given (`oac_name`), and a
new site takes the first one with room: GATEHOUSE_OAC_NAME, then
GATEHOUSE_OAC_NAME-2, -3, ... each holding GATEHOUSE_SITES_PER_OAC sites.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from ... import aws
from ...models import ProtectedSite


def oac_name_for_index(n: int) -> str:
    """The n-th origin access control (0-based); the first keeps the configured name."""
    base = settings.GATEHOUSE_OAC_NAME
    return base if n == 0 else f"{base}-{n + 1}"


def site_oac_name(site: ProtectedSite) -> str:
    """The OAC name the site's distribution uses: its recorded one, else the first with room (recorded now)."""
    if site.oac_name:
        return site.oac_name
    limit = max(1, settings.GATEHOUSE_SITES_PER_OAC)
    index = 0
    with transaction.atomic():
        while True:
            name = oac_name_for_index(index)
            # Locking the shard's rows makes a second site choosing at the
            # same moment wait and then count this one (PostgreSQL; SQLite's
            # IMMEDIATE transactions are serial anyway).
            held = list(
                ProtectedSite.objects.select_for_update().filter(oac_name=name).exclude(pk=site.pk).values_list("pk", flat=True)
            )
            if len(held) < limit:
                break
            index += 1
        ProtectedSite.objects.filter(pk=site.pk).update(oac_name=name)
    site.oac_name = name
    return name


def site_oac_id(site: ProtectedSite, *, known: dict[str, str] | None = None) -> str:
    """The id of the site's OAC (created the first time a site needs it). `known`: name -> id, filled as found."""
    name = site_oac_name(site)
    if known is not None and name in known:
        return known[name]
    oac_id = aws.oac_ensure(name=name)
    if known is not None:
        known[name] = oac_id
    return oac_id
