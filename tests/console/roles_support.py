"""Staff personas, one per role (import the fixtures a test uses).

Each is staff; the role is the group it is in, as on a real console.
"""

import pytest
from django.contrib.auth.models import Group


def _staff(django_user_model, username, group=None):
    user = django_user_model.objects.create_user(username, f"{username}@gatehouse.example", "pw", is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def nora(django_user_model):
    """Staff, but no role yet."""
    return _staff(django_user_model, "nora")


@pytest.fixture
def vic(django_user_model):
    """A Viewer."""
    return _staff(django_user_model, "vic", "Viewer")


@pytest.fixture
def olga(django_user_model):
    """An Operator."""
    return _staff(django_user_model, "olga", "Operator")


@pytest.fixture
def ada(django_user_model):
    """An Admin (by role, not a superuser)."""
    return _staff(django_user_model, "ada", "Admin")
