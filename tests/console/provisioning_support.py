"""Driving provisioning services directly, against moto's server."""

import io
import json
import urllib.request
import zipfile

import pytest

from tests.console.aws_support import aws  # noqa: F401


def upload_pending():
    """What the revision upload task would do on a worker."""
    from sites.models import ConfigRevision
    from sites.services.publishing import revision_upload

    for pk in ConfigRevision.objects.filter(upload_status__in=["pending", "uploading"]).order_by("number").values_list("pk", flat=True):
        revision_upload(revision_id=pk)


def drive(deployment, *, uploads=True, limit=20):
    """Run a deployment to its end as re-enqueued tasks would; the states seen."""
    from sites.services.provisioning import deployment_run

    states = []
    for _ in range(limit):
        progress = deployment_run(deployment_id=deployment.pk)
        states.append(progress.state)
        if uploads:
            upload_pending()
        if progress.state != "wait":
            return states
    raise AssertionError(f"still waiting after {limit} runs: {states}")


def provision(site, actor=None):
    from sites.services.provisioning import site_provision_start

    return site_provision_start(site=site, actor=actor)


def kill_after(client, operation, times=1):
    """The call reaches AWS, then the worker "dies" before it can record the answer."""
    service = client.meta.service_model.service_name
    calls = {"n": 0}

    class WorkerKilled(BaseException):
        pass

    def die(**kwargs):
        if calls["n"] < times:
            calls["n"] += 1
            raise WorkerKilled(operation)

    client.meta.events.register(f"after-call.{service}.{operation}", die)
    return WorkerKilled


@pytest.fixture
def cloudfront_slow(moto_reset):
    """Distributions stay InProgress for `times` reads (moto's state manager)."""

    def set_times(times):
        body = {"model_name": "cloudfront::distribution", "transition": {"progression": "manual", "times": times}}
        request = urllib.request.Request(
            moto_reset.endpoint_url + "/moto-api/state-manager/set-transition",
            data=json.dumps(body).encode(),
            method="POST",
        )
        urllib.request.urlopen(request, timeout=5).read()

    def unset():
        request = urllib.request.Request(
            moto_reset.endpoint_url + "/moto-api/state-manager/unset-transition",
            data=json.dumps({"model_name": "cloudfront::distribution"}).encode(),
            method="POST",
        )
        urllib.request.urlopen(request, timeout=5).read()

    set_times.deployed = unset  # from now on distributions read as Deployed
    yield set_times
    unset()


def make_zip(files: dict, *, links=()):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        for name, target in links:
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (0o120777 & 0xFFFF) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def counts(aws_module):
    cloudfront = aws_module.client("cloudfront")
    lam = aws_module.client("lambda", region_name="us-east-1")
    functions = lam.list_functions()["Functions"]
    return {
        "distributions": len(cloudfront.list_distributions()["DistributionList"].get("Items", [])),
        "oacs": len(cloudfront.list_origin_access_controls()["OriginAccessControlList"].get("Items", [])),
        "buckets": len(aws_module.client("s3").list_buckets()["Buckets"]),
        "functions": len(functions),
        "versions": sum(
            len(lam.list_versions_by_function(FunctionName=f["FunctionName"])["Versions"]) - 1 for f in functions
        ),
        "keys": len(aws_module.client("kms").list_keys()["Keys"]),
        "roles": len(aws_module.client("iam").list_roles()["Roles"]),
    }
