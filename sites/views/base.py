"""What every console page shares: the staff gate and the way actions report back."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from ..models import ProtectedSite


def staff_required(view):
    """Anonymous: to the sign-in page. Signed in but not staff: 403.

    Django's own staff_member_required sends non-staff to the sign-in page
    too, and since they are already signed in that page sends them back:
    a loop. A 403 tells them plainly.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (user.is_active and user.is_staff):
            raise PermissionDenied("Gatehouse is for staff only.")
        return view(request, *args, **kwargs)

    return wrapper


def site_or_404(slug: str, *, related=("provider", "edge_release", "live_build")) -> ProtectedSite:
    return get_object_or_404(ProtectedSite.objects.select_related(*related), slug=slug)

