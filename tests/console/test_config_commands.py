"""manage.py republish_all and config_drift, against moto's S3."""

import pytest
from django.core.management import CommandError, call_command

from sites.models import ProtectedSite
from sites.services.sites import site_create
from tests.console.aws_support import aws  # noqa: F401
from tests.console.provisioning_support import upload_pending


@pytest.fixture
def sites(aws, site, provider, django_capture_on_commit_callbacks):
    """Two sites whose configs are uploaded to moto's config bucket."""
    aws.config_bucket_ensure()
    with django_capture_on_commit_callbacks(execute=True):
        other = site_create(client="Acme", name="Shop", slug="acme-shop", hosts=["shop.acme.example"], provider=provider, emails=["a@b.example"])
    upload_pending()
    return site, other


def run(name, *args, capture=None):
    import io

    out = io.StringIO()
    with capture(execute=True):
        call_command(name, *args, stdout=out)
    return out.getvalue()


def s3_put(aws, host, body):
    aws.client("s3").put_object(Bucket=aws.config_bucket_name(), Key=aws.config_object_key(host), Body=body)


def test_republish_all_makes_a_revision_only_for_the_site_whose_config_changed(sites, tasks_run_in_place, django_capture_on_commit_callbacks):
    demo, shop = sites
    # Changed without a save signal, as a deploy of new rendering code would.
    ProtectedSite.objects.filter(pk=shop.pk).update(session_lifetime=3 * 3600)
    out = run("republish_all", capture=django_capture_on_commit_callbacks)
    assert "acme-shop: revision 2" in out and "1 site(s) republished" in out
    assert (demo.revisions.count(), shop.revisions.count()) == (1, 2)
    newest = shop.revisions.order_by("-number").first()
    assert newest.upload_status == "uploaded" and newest.reason == "republished by an operator"


def test_republish_all_with_force_makes_a_revision_for_every_site(sites, tasks_run_in_place, django_capture_on_commit_callbacks):
    demo, shop = sites
    out = run("republish_all", "--force", capture=django_capture_on_commit_callbacks)
    assert "2 site(s) republished" in out
    assert (demo.revisions.count(), shop.revisions.count()) == (2, 2)
    assert run("republish_all", capture=django_capture_on_commit_callbacks).endswith("0 site(s) republished\n")


def test_config_drift_finds_nothing_when_s3_holds_the_last_uploads(sites, django_capture_on_commit_callbacks):
    assert run("config_drift", capture=django_capture_on_commit_callbacks) == "no drift\n"


def test_config_drift_names_a_changed_and_a_missing_object_and_exits_non_zero(aws, sites, django_capture_on_commit_callbacks):
    s3_put(aws, "demo.acme.example", b'{"edited": "by hand"}')
    aws.config_object_delete(host="shop.acme.example")
    import io

    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("config_drift", stdout=out)
    assert raised.value.returncode == 1
    assert out.getvalue().splitlines() == [
        "drifted acme-demo demo.acme.example (last uploaded: revision 1)",
        "missing acme-shop shop.acme.example (last uploaded: revision 1)",
    ]


def test_config_drift_fix_republishes_the_drifted_sites_and_s3_matches_again(aws, sites, tasks_run_in_place, django_capture_on_commit_callbacks):
    demo, shop = sites
    s3_put(aws, "demo.acme.example", b'{"edited": "by hand"}')
    out = run("config_drift", "--fix", capture=django_capture_on_commit_callbacks)
    assert out.splitlines() == ["drifted acme-demo demo.acme.example (last uploaded: revision 1)", "1 site(s) republished"]
    assert (demo.revisions.count(), shop.revisions.count()) == (2, 1)
    assert demo.revisions.order_by("-number").first().upload_status == "uploaded"
    assert run("config_drift", capture=django_capture_on_commit_callbacks) == "no drift\n"
