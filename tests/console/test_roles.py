"""The roles themselves: groups that survive a flush, one role at a time, every view naming its action."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import get_resolver

from sites import urls as site_urls
from sites.roles import ACTIONS, ADMIN, GROUP_NAMES, OPERATOR, VIEWER, allowed_actions, can, role_assign, role_of


@pytest.mark.django_db(transaction=True)
def test_the_role_groups_come_back_after_a_flush():
    # live_server tests flush the database after each test; staff are then still given roles.
    call_command("flush", interactive=False, verbosity=0)
    assert set(Group.objects.values_list("name", flat=True)) >= set(GROUP_NAMES.values())
    admin = Group.objects.get(name="Admin")
    assert admin.permissions.count() == 3


def test_a_user_holds_one_role_at_a_time_and_keeps_other_groups(django_user_model):
    user = django_user_model.objects.create_user("pat", is_staff=True)
    other = Group.objects.create(name="Newsletter")
    user.groups.add(other)
    role_assign(user=user, role=ADMIN)
    assert role_of(user) == ADMIN
    role_assign(user=user, role=VIEWER)
    assert role_of(user) == VIEWER and not can(user, "edit")
    role_assign(user=user, role=None)
    assert role_of(user) is None and allowed_actions(user) == frozenset()
    assert list(user.groups.all()) == [other]


def test_roles_are_cumulative(django_user_model):
    user = django_user_model.objects.create_user("pat", is_staff=True)
    role_assign(user=user, role=OPERATOR)
    assert {"view", "edit", "redeploy", "upload_build"} <= allowed_actions(user)
    assert not ({"delete", "disable", "rollout", "manage_providers"} & allowed_actions(user))


def test_a_role_needs_an_active_staff_account(django_user_model):
    user = django_user_model.objects.create_user("pat", is_staff=False)
    role_assign(user=user, role=ADMIN)
    assert not can(user, "view")
    user.is_staff, user.is_active = True, False
    assert not can(user, "view")


def test_a_superuser_may_do_everything(django_user_model):
    boss = django_user_model.objects.create_superuser("boss", "boss@gatehouse.example", "pw")
    assert allowed_actions(boss) == frozenset(ACTIONS)


def test_every_console_view_names_its_action():
    # role_required marks the view; a view without it is open to any staff account.
    for pattern in site_urls.urlpatterns:
        assert getattr(pattern.callback, "required_action", None) in ACTIONS, pattern.name


def test_an_unknown_action_fails_when_the_view_is_declared():
    from sites.roles import role_required

    with pytest.raises(KeyError):
        role_required("launch_rockets")
