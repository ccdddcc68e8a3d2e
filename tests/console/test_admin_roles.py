"""The Django admin follows the console's roles: viewers read, operators edit sites, admins do the rest."""

import pytest
from django.urls import reverse

from sites.models import Deployment, IdentityProvider, ProtectedSite
from tests.console.roles_support import ada, nora, olga, vic  # noqa: F401


def _changelist(client, user):
    client.force_login(user)
    return client.get(reverse("admin:sites_protectedsite_changelist"))


def test_staff_with_no_role_get_the_admins_not_authorised_page(client, nora, site):
    client.force_login(nora)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_viewers_read_every_model_but_change_nothing(client, vic, site, provider):
    page = _changelist(client, vic)
    assert page.status_code == 200
    assert b'value="tear_down"' not in page.content
    change = client.get(reverse("admin:sites_protectedsite_change", args=[site.pk]))
    assert change.status_code == 200 and b'name="_save"' not in change.content
    provider_page = client.get(reverse("admin:sites_identityprovider_change", args=[provider.pk]))
    assert provider_page.status_code == 200 and b'name="_save"' not in provider_page.content
    assert client.get(reverse("admin:sites_identityprovider_add")).status_code == 403
    assert client.post(reverse("admin:sites_protectedsite_change", args=[site.pk]), {"name": "x"}).status_code == 403
    assert ProtectedSite.objects.get(pk=site.pk).name == "Demo"


def test_operators_edit_sites_but_not_their_release_or_disabled_flag_nor_providers(client, olga, site, provider):
    client.force_login(olga)
    change = client.get(reverse("admin:sites_protectedsite_change", args=[site.pk]))
    assert change.status_code == 200 and b'name="_save"' in change.content
    assert b'name="edge_release"' not in change.content
    assert b'name="disabled"' not in change.content
    assert b'name="emails"' in change.content
    assert client.get(reverse("admin:sites_identityprovider_add")).status_code == 403
    provider_page = client.get(reverse("admin:sites_identityprovider_change", args=[provider.pk]))
    assert b'name="_save"' not in provider_page.content


@pytest.mark.parametrize("action", ["tear_down", "sign_everyone_out", "rotate_session_key"])
def test_admin_only_actions_are_neither_offered_nor_run_for_operators(client, olga, site, sent_tasks, action):
    page = _changelist(client, olga)
    assert f'value="{action}"'.encode() not in page.content
    keys = list(site.session_keys.values_list("kid", "retired_at"))
    response = client.post(reverse("admin:sites_protectedsite_changelist"), {"action": action, "_selected_action": [site.pk]})
    assert response.status_code in (200, 302)
    assert ProtectedSite.objects.get(pk=site.pk).status == site.status
    assert list(site.session_keys.values_list("kid", "retired_at")) == keys
    assert not Deployment.objects.filter(site=site).exists()


def test_admins_are_offered_tear_down_and_manage_providers(client, ada, site, provider):
    page = _changelist(client, ada)
    assert b'value="tear_down"' in page.content
    assert b'value="sign_everyone_out"' in page.content
    assert client.get(reverse("admin:sites_identityprovider_add")).status_code == 200
    change = client.get(reverse("admin:sites_protectedsite_change", args=[site.pk]))
    assert b'name="edge_release"' in change.content and b'name="disabled"' in change.content
    assert IdentityProvider.objects.count() == 1


def test_a_raw_delete_stays_refused_even_for_admins(client, ada, site):
    client.force_login(ada)
    assert client.post(reverse("admin:sites_protectedsite_delete", args=[site.pk]), {"post": "yes"}).status_code == 403
    assert ProtectedSite.objects.filter(pk=site.pk).exists()
