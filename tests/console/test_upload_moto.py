"""The upload against moto's server: the object the edge will read, per host."""

import json

import boto3
import pytest
from django.conf import settings as django_settings

from sites.services.publishing import config_publish, revision_upload
from tests.console.conftest import CLIENT_SECRET


@pytest.fixture
def s3(request, settings):
    try:
        request.getfixturevalue("aws_env")
        server = request.getfixturevalue("moto_server")
    except pytest.FixtureLookupError:
        pytest.skip("tests/fixtures/moto.py has no moto_server fixture yet")
    from sites import aws

    if getattr(aws, "INTERFACE_ONLY", False):
        pytest.skip("sites/aws.py is not written yet")
    # The console's own client must talk to the same moto server.
    settings.GATEHOUSE_AWS_ENDPOINT_URL = server.endpoint_url
    aws.clients_reset()
    request.addfinalizer(aws.clients_reset)
    client = boto3.client("s3", endpoint_url=server.endpoint_url, region_name=django_settings.GATEHOUSE_AWS_REGION)
    bucket = django_settings.GATEHOUSE_CONFIG_BUCKET
    try:
        client.create_bucket(Bucket=bucket)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return client


def read(s3, host):
    key = f"{django_settings.GATEHOUSE_CONFIG_PREFIX}{host}.json"
    obj = s3.get_object(Bucket=django_settings.GATEHOUSE_CONFIG_BUCKET, Key=key)
    return obj["VersionId"], json.loads(obj["Body"].read())


def test_the_uploaded_object_is_the_injected_config_with_its_version(site, s3):
    revision = site.revisions.get()
    assert revision_upload(revision_id=revision.pk).outcome == "uploaded"
    revision.refresh_from_db()
    version, doc = read(s3, "demo.acme.example")
    assert revision.s3_version_ids == {"demo.acme.example": version}
    assert doc["provider"]["client_secret"] == CLIENT_SECRET


def test_a_removed_host_loses_its_object(site, s3):
    site.__class__.objects.filter(pk=site.pk).update(hosts=["demo.acme.example", "old.acme.example"])
    revision_upload(revision_id=config_publish(site_id=site.pk).pk)
    site.__class__.objects.filter(pk=site.pk).update(hosts=["demo.acme.example"])
    revision_upload(revision_id=config_publish(site_id=site.pk).pk)
    with pytest.raises(s3.exceptions.NoSuchKey):
        read(s3, "old.acme.example")
