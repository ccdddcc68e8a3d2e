"""Host names: one SiteHost row per name, unique, kept in step with the site in the same save.

The check in clean() reads one indexed query; the unique index closes the
check-then-act race (two saves that both passed the check: the second one's
save fails as a field error, and nothing of it is kept).
"""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sites.models import ProtectedSite, SiteHost
from tests.console.pages_support import fast_passwords, live_site, provisioning_calls, release, staff_client  # noqa: F401
from tests.console.test_pages_edit import CERT, _save


def _new(provider, slug, hosts):
    return ProtectedSite(client="Beta", name=slug, slug=slug, hosts=hosts, provider=provider)


def test_a_save_writes_one_row_per_config_host(site):
    ProtectedSite.objects.filter(pk=site.pk).update(distribution_domain="d1.cloudfront.net")
    site.refresh_from_db()
    site.hosts = ["demo.acme.example", "www.acme.example"]
    site.save()
    assert set(SiteHost.objects.filter(site=site).values_list("host", flat=True)) == {
        "demo.acme.example", "www.acme.example", "d1.cloudfront.net",
    }
    site.hosts = ["www.acme.example"]
    site.save(update_fields=["hosts"])
    assert set(SiteHost.objects.filter(site=site).values_list("host", flat=True)) == {"www.acme.example", "d1.cloudfront.net"}


def test_a_deleted_site_frees_its_names(site, provider):
    site.delete()
    other = _new(provider, "beta", ["demo.acme.example"])
    other.full_clean()
    other.save()
    assert SiteHost.objects.get(host="demo.acme.example").site_id == other.pk


def test_a_save_that_passed_a_stale_check_fails_on_the_index_and_keeps_nothing(site, provider):
    """The race: B's clean() ran before A took the name. Without the index B's save stored a second owner."""
    late = _new(provider, "late", ["demo.acme.example", "fresh.acme.example"])
    with pytest.raises(ValidationError) as exc:
        late.save()  # its check passed earlier, before `site` committed the name
    assert "Already used by another site: demo.acme.example" in exc.value.message_dict["hosts"][0]
    assert not ProtectedSite.objects.filter(slug="late").exists()
    assert not SiteHost.objects.filter(host="fresh.acme.example").exists()


def test_the_race_in_the_edit_page_is_a_field_error(staff_client, live_site, django_capture_on_commit_callbacks, monkeypatch):
    """Another site takes the name between the form's check and the save: the page shows it beside the hosts."""
    checked = ProtectedSite.hosts_taken
    calls = []

    def check_then_lose_the_race(hosts, *, exclude_site_id=None):
        result = checked(hosts, exclude_site_id=exclude_site_id)
        if "taken.example" in hosts and not calls:
            calls.append(1)
            ProtectedSite.objects.create(client="Other", name="Site", slug="other", hosts=["taken.example"], provider=live_site.provider)
        return result

    monkeypatch.setattr(ProtectedSite, "hosts_taken", staticmethod(check_then_lose_the_race))
    response = _save(staff_client, live_site, django_capture_on_commit_callbacks, hosts="taken.example", acm_certificate_arn=CERT)
    assert response.status_code == 400
    assert "Already used by another site: taken.example" in response.content.decode()
    live_site.refresh_from_db()
    assert live_site.hosts != ["taken.example"]
    assert SiteHost.objects.get(host="taken.example").site.slug == "other"


@pytest.mark.django_db(transaction=True)
def test_two_saves_racing_leave_one_owner(provider):
    """Two threads, each past its check, save the same name at once: one wins, the other gets the field error."""
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"] in ("", ":memory:") or "mode=memory" in str(connection.settings_dict["NAME"]):
        pytest.skip("threads need a database file or server")
    barrier = threading.Barrier(2)
    outcomes = []

    def save(slug):
        from django.db import connection as thread_connection

        try:
            site = _new(provider, slug, ["race.example"])
            site.full_clean()
            barrier.wait(timeout=10)
            site.save()
            outcomes.append("saved")
        except ValidationError as exc:
            outcomes.append(exc.message_dict["hosts"][0])
        except Exception as exc:  # SQLite's "database is locked" is a lost race too
            outcomes.append(f"error: {exc}")
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=save, args=(slug,)) for slug in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("saved") == 1, outcomes
    assert SiteHost.objects.filter(host="race.example").count() == 1


def test_the_check_is_one_query_whatever_the_number_of_sites(site, provider):
    ProtectedSite.objects.bulk_create([_new(provider, f"s{i}", [f"s{i}.example"]) for i in range(50)])
    candidate = _new(provider, "new", ["new.example"])
    with CaptureQueriesContext(connection) as queries:
        assert ProtectedSite.hosts_taken(candidate.hosts) == set()
    assert len(queries) == 1


def test_the_migration_fills_the_table_from_existing_sites(provider):
    from importlib import import_module

    from django.apps import apps as global_apps

    fill = import_module("sites.migrations.0013_scale").site_hosts_fill
    ProtectedSite.objects.bulk_create([
        _new(provider, "old", ["a.example", "b.example"]),
        _new(provider, "twin", ["b.example", "c.example"]),  # the race left b.example on two sites
    ])
    ProtectedSite.objects.filter(slug="old").update(distribution_domain="d9.cloudfront.net")
    SiteHost.objects.all().delete()
    fill(global_apps, None)
    owners = dict(SiteHost.objects.values_list("host", "site__slug"))
    assert owners == {"a.example": "old", "b.example": "old", "d9.cloudfront.net": "old", "c.example": "twin"}
