"""Origin access controls are sharded (issue 9, scale): CloudFront allows 100
distributions per OAC, so one shared OAC stopped provisioning near the 100th
demo. Tested past a lowered limit (GATEHOUSE_SITES_PER_OAC) against moto;
moto drops an origin's OriginAccessControlId, so the id is checked on the
CreateDistribution / UpdateDistribution request boto3 sends."""

import pytest

from sites.models import ProtectedSite
from sites.services.provisioning.oac import oac_name_for_index
from tests.console.aws_support import aws, record  # noqa: F401
from tests.console.provisioning_support import drive, provision

pytestmark = pytest.mark.django_db


def _more_sites(site, count):
    from sites.services.sites import site_create

    return [
        site_create(client="Acme", name=f"Demo {n}", slug=f"acme-demo-{n}", provider=site.provider, allow_any_user=True)
        for n in range(2, 2 + count)
    ]


def _oac_ids(aws):
    items = aws.client("cloudfront").list_origin_access_controls()["OriginAccessControlList"].get("Items") or []
    return {item["Name"]: item["Id"] for item in items}


def test_a_site_past_the_limit_gets_the_next_origin_access_control(aws, site, settings, django_capture_on_commit_callbacks):
    settings.GATEHOUSE_SITES_PER_OAC = 2
    with django_capture_on_commit_callbacks(execute=True):
        sites = [site, *_more_sites(site, 2)]
    sent = record(aws.client("cloudfront"))
    for each in sites:
        assert drive(provision(each))[-1] == "done"

    names = [ProtectedSite.objects.get(pk=each.pk).oac_name for each in sites]
    assert names == [oac_name_for_index(0), oac_name_for_index(0), oac_name_for_index(1)]
    assert names[2] == f"{settings.GATEHOUSE_OAC_NAME}-2"
    ids = _oac_ids(aws)
    sent_ids = [r.xml().find(".//OriginAccessControlId").text for r in sent.of("CreateDistribution")]
    assert sent_ids == [ids[names[0]], ids[names[0]], ids[names[2]]]
    assert ids[names[0]] != ids[names[2]]


def test_a_redeploy_keeps_the_sites_own_origin_access_control(aws, site, settings, django_capture_on_commit_callbacks):
    from sites.services.provisioning import site_redeploy_start

    settings.GATEHOUSE_SITES_PER_OAC = 1
    with django_capture_on_commit_callbacks(execute=True):
        second = _more_sites(site, 1)[0]
    for each in (site, second):
        assert drive(provision(each))[-1] == "done"
    second.refresh_from_db()
    assert second.oac_name == oac_name_for_index(1)

    # Raising the limit later moves nobody: a site keeps the OAC it was given.
    settings.GATEHOUSE_SITES_PER_OAC = 100
    sent = record(aws.client("cloudfront"))
    drive(site_redeploy_start(site=second))
    update = sent.last("UpdateDistribution").xml()
    assert update.find(".//OriginAccessControlId").text == _oac_ids(aws)[oac_name_for_index(1)]


def test_a_site_leaving_frees_its_place(db, site, settings, django_capture_on_commit_callbacks):
    from sites.services.provisioning.oac import site_oac_name

    settings.GATEHOUSE_SITES_PER_OAC = 1
    with django_capture_on_commit_callbacks(execute=True):
        second, third = _more_sites(site, 2)
    assert site_oac_name(site) == oac_name_for_index(0)
    assert site_oac_name(second) == oac_name_for_index(1)
    ProtectedSite.objects.filter(pk=site.pk).delete()
    assert site_oac_name(third) == oac_name_for_index(0)
