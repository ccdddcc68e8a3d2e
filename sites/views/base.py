"""What every console page shares: the way a view finds its site.

The staff gate is `sites.roles.role_required(action)`: every view names the
action it is for, so no page is open to a staff account by default.
"""

from django.shortcuts import get_object_or_404

from ..models import ProtectedSite


def site_or_404(slug: str, *, related=("provider", "edge_release", "live_build")) -> ProtectedSite:
    return get_object_or_404(ProtectedSite.objects.select_related(*related), slug=slug)
