"""The dashboard, history and activity pages cost the same queries for 3 rows as for 30."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sites.models import Activity, ConfigRevision, Deployment, DeploymentStep, ProtectedSite
from tests.console.pages_support import bob, fast_passwords, release, staff_client  # noqa: F401


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def _add_sites(count, *, provider, release, alice, start=0):
    for n in range(start, start + count):
        site = ProtectedSite.objects.create(
            client=f"Client {n % 4}",
            name=f"Demo {n}",
            slug=f"demo-{n}",
            hosts=[f"demo-{n}.client.example"],
            provider=provider,
            edge_release=release,
            allow_any_user=True,
            status=ProtectedSite.Status.LIVE,
        )
        deployment = Deployment.objects.create(site=site, kind=Deployment.Kind.PROVISION, started_by=alice)
        DeploymentStep.objects.create(deployment=deployment, name="Bucket")


def test_the_dashboard_costs_the_same_for_3_and_30_sites(staff_client, provider, release, alice):
    url = reverse("sites:dashboard")
    _add_sites(3, provider=provider, release=release, alice=alice)
    few = _queries(staff_client, url)
    _add_sites(27, provider=provider, release=release, alice=alice, start=3)
    many = _queries(staff_client, url)
    assert few == many
    # Filtering must not add per-row queries either.
    assert _queries(staff_client, url + "?q=demo&status=live&client=Client+1") == many


def _add_revisions(site, count, users):
    latest = site.revisions.order_by("-number").first()
    for n in range(count):
        ConfigRevision.objects.create(
            site=site,
            number=latest.number + 1 + n,
            schema_version=latest.schema_version,
            content=latest.content,
            sha256=f"{n:064d}",
            created_by=users[n % len(users)],
            reason=f"change {n}",
        )


def test_the_history_costs_the_same_for_3_and_30_revisions(staff_client, site, alice, bob):
    url = reverse("sites:history", args=[site.slug])
    _add_revisions(site, 2, [alice, bob])
    few = _queries(staff_client, url)
    _add_revisions(site, 27, [alice, bob, None])
    many = _queries(staff_client, url)
    assert site.revisions.count() == 30
    assert few == many
    # A diff between two of them is a fixed cost too.
    assert _queries(staff_client, url + "?from=1&to=3") == _queries(staff_client, url + "?from=2&to=30")


def _add_activity(count, sites, users):
    for n in range(count):
        Activity.objects.create(verb="site.change", site=sites[n % len(sites)], site_slug=sites[n % len(sites)].slug, actor=users[n % len(users)], detail=str(n))


def test_the_activity_log_costs_the_same_for_3_and_30_entries(staff_client, site, alice, bob, provider):
    other = ProtectedSite.objects.create(client="Globex", name="Demo", slug="globex", provider=provider, allow_any_user=True)
    Activity.objects.all().delete()
    url = reverse("sites:activity")
    _add_activity(3, [site, other], [alice, bob, None])
    few = _queries(staff_client, url)
    _add_activity(27, [site, other], [alice, bob, None])
    many = _queries(staff_client, url)
    assert few == many
    # Filtered: one more, the chosen site's name beside the typed id.
    assert _queries(staff_client, url + f"?site={site.slug}&person=alice") == many + 1


@pytest.mark.parametrize("count", [3, 60])
def test_long_lists_paginate(staff_client, provider, release, alice, count):
    _add_sites(count, provider=provider, release=release, alice=alice)
    page = staff_client.get(reverse("sites:dashboard")).content.decode()
    assert page.count('data-site="') == min(count, 50)
    assert ("Next" in page) == (count > 50)


def test_a_deep_dashboard_page_looks_up_last_deployments_for_its_own_rows_only(staff_client, provider, release, alice):
    """Issue 9, scale: the page's query carried three subqueries in its SELECT,
    which PostgreSQL runs for every row the OFFSET skips as well (3 subplans x
    10,004 loops at 10,000 sites). The paged query now has none; the last
    deployments are read for the page's own rows, by primary key."""
    import re

    _add_sites(60, provider=provider, release=release, alice=alice)
    on_page_two = list(ProtectedSite.objects.order_by("client", "name", "pk"))[50:]
    Deployment.objects.create(site=on_page_two[0], kind=Deployment.Kind.BUILD, started_by=alice)
    with CaptureQueriesContext(connection) as captured:
        page = staff_client.get(reverse("sites:dashboard") + "?page=2").content.decode()
    paged = [q["sql"] for q in captured.captured_queries if "OFFSET" in q["sql"] and "sites_protectedsite" in q["sql"]]
    assert len(paged) == 1
    assert "sites_deployment" not in paged[0]
    assert re.findall(r'data-site="([^"]+)"', page) == [site.slug for site in on_page_two]
    rows = {slug: row for slug, row in re.findall(r'data-site="([^"]+)"(.*?)</tr>', page, flags=re.S)}
    # Each row still shows its own latest deployment.
    assert "Build ·" in rows[on_page_two[0].slug]
    assert "Provision ·" in rows[on_page_two[1].slug]


def test_the_dashboards_client_filter_is_typed_not_a_menu_of_every_client(staff_client, provider, release, alice):
    """Issue 9, scale: at 10,000 sites the menu listed 1,000 clients on every page (101 KB against 14 KB)."""
    _add_sites(3, provider=provider, release=release, alice=alice)
    ProtectedSite.objects.filter(slug="demo-2").update(client="Globex")
    page = staff_client.get(reverse("sites:dashboard")).content.decode()
    assert "<option value=\"Client" not in page and '<option value="Globex"' not in page
    filtered = staff_client.get(reverse("sites:dashboard") + "?client=Globex").content.decode()
    assert 'name="client" value="Globex"' in filtered
    assert [s for s in ("demo-0", "demo-1", "demo-2") if f'data-site="{s}"' in filtered] == ["demo-2"]
