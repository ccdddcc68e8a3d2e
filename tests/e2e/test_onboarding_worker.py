"""Onboarding end to end: the console's services enqueue on commit, a real
Celery worker process runs the tasks against moto's server, and the edge
runtime (through its local gateway, reading the published config from S3)
protects the site's files with the real OpenID Connect provider."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from sites import aws
from sites.models import Build, ConfigRevision, Deployment, EdgeRelease, IdentityProvider, ProtectedSite
from sites.services.providers import provider_check
from sites.services.provisioning import build_upload_start, site_provision_start
from sites.services.site_actions import build_make_live
from sites.roles import ADMIN, role_assign
from sites.services.sites import site_create
from tests.e2e.support import reload_until, site_zip
from tests.fixtures.browser import screenshot
from tests.fixtures.worker import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HOST = "acme.localhost"


def stage(title):
    return default_storage.save(f"staged/{title.replace(' ', '-')}.zip", ContentFile(site_zip(title)))


def test_onboarding_a_site_runs_on_the_worker_and_the_edge_protects_it(
    celery_worker_process, local_aws, gateway, idp, page
):
    worker = celery_worker_process
    staff = get_user_model().objects.create_user("staff", "staff@consultancy.example", "pw", is_staff=True)
    role_assign(user=staff, role=ADMIN)
    provider = IdentityProvider(name="devidp", issuer=idp.issuer, client_id=idp.client_id)
    provider.client_secret = idp.client_secret
    provider_check(provider)
    provider.save()

    site = site_create(
        actor=staff,
        client="Acme",
        name="Q3 demo",
        slug="acme-q3",
        hosts=[HOST],
        provider=provider,
        email_domains=["client.example"],
    )
    site_provision_start(site=site, actor=staff)
    live = wait_for(
        lambda: ProtectedSite.objects.filter(pk=site.pk, status=ProtectedSite.Status.LIVE).first(),
        timeout=120,
        worker=worker,
        what="the site to go live",
    )

    # What the worker made exists in the local AWS, and the database knows it.
    assert aws.bucket_exists(name=live.bucket_name)
    distribution = aws.distribution_get(live.distribution_id)
    assert distribution is not None
    config, _etag = aws.distribution_config_get(live.distribution_id)
    origin = config["Origins"]["Items"][0]
    assert origin["DomainName"].startswith(live.bucket_name + ".s3")
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    release = EdgeRelease.objects.get(pk=live.edge_release_id)
    assert aws.is_numbered_version_arn(release.version_arn)
    s3 = aws.client("s3")
    body = s3.get_object(Bucket=aws.config_bucket_name(), Key=aws.config_object_key(HOST))["Body"].read()
    doc = json.loads(body)
    assert doc["site"]["distribution_id"] == live.distribution_id
    assert ConfigRevision.objects.filter(site=site, upload_status="uploaded").exists()
    assert Deployment.objects.filter(site=site, kind="provision", status="succeeded").count() == 1

    # The first build goes live through the config.
    build_upload_start(site=live, staged_name=stage("Build one"), actor=staff)
    first = wait_for(
        lambda: ProtectedSite.objects.filter(pk=site.pk, live_build__isnull=False).values_list("live_build", flat=True).first(),
        timeout=60,
        worker=worker,
        what="the first build to go live",
    )

    # Not signed in: sent to the provider. Signed in: the site's own files.
    page.goto(gateway.url + "/reports")
    assert page.url.startswith("http://localhost:")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(gateway.url + "/reports")
    reload_until(page, gateway.url + "/", "Build one")
    screenshot(page, "onboarding-site-served")

    # A second build goes live, then the first comes back (rollback).
    build_upload_start(site=live, staged_name=stage("Build two"), actor=staff)
    wait_for(
        lambda: ProtectedSite.objects.filter(pk=site.pk).exclude(live_build=first).exclude(live_build=None).exists(),
        timeout=60,
        worker=worker,
        what="the second build to go live",
    )
    wait_for(
        lambda: not ConfigRevision.objects.filter(site=site, upload_status__in=["pending", "uploading"]).exists(),
        timeout=60,
        worker=worker,
        what="the config upload",
    )
    reload_until(page, gateway.url + "/", "Build two")
    build_make_live(site=ProtectedSite.objects.get(pk=site.pk), build=Build.objects.get(pk=first), actor=staff)
    wait_for(
        lambda: not ConfigRevision.objects.filter(site=site, upload_status__in=["pending", "uploading"]).exists(),
        timeout=60,
        worker=worker,
        what="the rollback's config upload",
    )
    reload_until(page, gateway.url + "/", "Build one")
