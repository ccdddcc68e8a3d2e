"""Config and site buckets, against moto's server."""

import json

import pytest

from tests.console.aws_support import aws, fail, record  # noqa: F401

SITE_BUCKET = "gatehouse-site-7-acme-demo"


def test_the_config_bucket_is_private_versioned_and_encrypted_with_the_config_key(aws, settings):
    key_arn = aws.config_bucket_ensure()
    s3 = aws.client("s3")
    bucket = settings.GATEHOUSE_CONFIG_BUCKET

    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_the_account_root_the_console_and_the_edge_role_may_use_the_config_key(aws, settings):
    key_arn = aws.config_bucket_ensure()
    kms = aws.client("kms")
    policy = json.loads(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])
    principals = {json.dumps(s["Principal"]): s["Action"] for s in policy["Statement"]}
    role_arn = aws.client("iam").get_role(RoleName=settings.GATEHOUSE_EDGE_ROLE_NAME)["Role"]["Arn"]
    assert principals == {
        json.dumps({"AWS": f"arn:aws:iam::{aws.account_id()}:root"}): "kms:*",
        json.dumps({"AWS": aws.console_principal_arn()}): "kms:*",
        json.dumps({"AWS": role_arn}): "kms:Decrypt",
    }
    assert kms.describe_key(KeyId=settings.GATEHOUSE_CONFIG_KMS_KEY_ALIAS)["KeyMetadata"]["Arn"] == key_arn


def test_ensuring_the_config_bucket_twice_makes_one_key_and_one_bucket(aws):
    first = aws.config_bucket_ensure()
    assert aws.config_bucket_ensure() == first
    assert len(aws.client("kms").list_keys()["Keys"]) == 1
    assert len(aws.client("s3").list_buckets()["Buckets"]) == 1


def test_a_key_whose_alias_was_never_made_is_reused(aws, settings):
    first = aws.config_key_ensure()
    # A crash between CreateKey and CreateAlias leaves a tagged key, no alias.
    aws.client("kms").delete_alias(AliasName=settings.GATEHOUSE_CONFIG_KMS_KEY_ALIAS)
    assert aws.config_key_ensure() == first
    assert len(aws.client("kms").list_keys()["Keys"]) == 1


def test_a_config_object_is_json_uncached_and_kms_encrypted_with_a_version(aws, settings):
    aws.config_bucket_ensure()
    sent = record(aws.client("s3"))
    version = aws.config_object_put(host="demo.acme.example", body=b'{"schema_version": 1}')
    assert version

    obj = aws.client("s3").get_object(Bucket=settings.GATEHOUSE_CONFIG_BUCKET, Key="sites/demo.acme.example.json")
    assert obj["VersionId"] == version
    assert obj["ContentType"] == "application/json"
    assert obj["CacheControl"] == "no-store"
    assert obj["Body"].read() == b'{"schema_version": 1}'
    put = sent.last("PutObject").params
    assert put["ServerSideEncryption"] == "aws:kms"
    assert put["SSEKMSKeyId"] == settings.GATEHOUSE_CONFIG_KMS_KEY_ALIAS


def test_deleting_a_config_object_that_is_not_there_is_fine(aws):
    aws.config_bucket_ensure()
    aws.config_object_put(host="demo.acme.example", body=b"{}")
    aws.config_object_delete(host="demo.acme.example")
    aws.config_object_delete(host="demo.acme.example")
    listed = aws.client("s3").list_objects_v2(Bucket="gatehouse-config").get("Contents", [])
    assert listed == []


def test_s3_refusing_the_upload_is_an_error_and_a_5xx_is_transient(aws):
    aws.config_bucket_ensure()
    fail(aws.client("s3"), "PutObject", "AccessDenied", status=403)
    with pytest.raises(aws.AwsError) as refused:
        aws.config_object_put(host="demo.acme.example", body=b"{}")
    assert not isinstance(refused.value, aws.AwsTransientError)
    assert refused.value.code == "AccessDenied"

    fail(aws.client("s3"), "PutObject", "InternalError", status=500)
    with pytest.raises(aws.AwsTransientError):
        aws.config_object_put(host="demo.acme.example", body=b"{}")
    assert aws.config_object_put(host="demo.acme.example", body=b"{}")


def test_a_site_bucket_is_private_owner_enforced_and_encrypted(aws):
    aws.site_bucket_ensure(name=SITE_BUCKET)
    aws.site_bucket_ensure(name=SITE_BUCKET)  # BucketAlreadyOwnedByYou is fine
    s3 = aws.client("s3")
    assert all(s3.get_public_access_block(Bucket=SITE_BUCKET)["PublicAccessBlockConfiguration"].values())
    rule = s3.get_bucket_encryption(Bucket=SITE_BUCKET)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_ownership_controls(Bucket=SITE_BUCKET)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}
    ]
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [SITE_BUCKET]


def test_only_cloudfront_for_that_distribution_may_read_the_site_bucket(aws):
    aws.site_bucket_ensure(name=SITE_BUCKET)
    arn = "arn:aws:cloudfront::123456789012:distribution/EDFDVBD6EXAMPLE"
    aws.site_bucket_policy_put(name=SITE_BUCKET, distribution_arn=arn)
    policy = json.loads(aws.client("s3").get_bucket_policy(Bucket=SITE_BUCKET)["Policy"])
    allows = {s["Action"]: s for s in policy["Statement"] if s["Effect"] == "Allow"}
    assert set(allows) == {"s3:GetObject", "s3:ListBucket"}
    for allow in allows.values():
        assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        assert allow["Condition"] == {"StringEquals": {"AWS:SourceArn": arn}}
    assert allows["s3:GetObject"]["Resource"] == f"arn:aws:s3:::{SITE_BUCKET}/*"
    # So that a missing key is S3's 404, which the distribution maps to the
    # not-found page, not a 403 that looks like a denial (issue 7, item 16).
    assert allows["s3:ListBucket"]["Resource"] == f"arn:aws:s3:::{SITE_BUCKET}"


def test_build_objects_carry_their_type_and_cache_headers(aws):
    aws.site_bucket_ensure(name=SITE_BUCKET)
    aws.build_object_put(
        bucket=SITE_BUCKET, key="builds/3/index.html", body=b"<p>hi", content_type="text/html; charset=utf-8", cache_control="no-cache"
    )
    head = aws.client("s3").head_object(Bucket=SITE_BUCKET, Key="builds/3/index.html")
    assert head["ContentType"] == "text/html; charset=utf-8"
    assert head["CacheControl"] == "no-cache"


def test_emptying_and_deleting_a_site_bucket_removes_every_version(aws):
    aws.site_bucket_ensure(name=SITE_BUCKET)
    s3 = aws.client("s3")
    s3.put_bucket_versioning(Bucket=SITE_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    for i in range(3):
        aws.build_object_put(bucket=SITE_BUCKET, key="a.txt", body=str(i).encode(), content_type="text/plain", cache_control="no-cache")
    s3.delete_object(Bucket=SITE_BUCKET, Key="a.txt")  # a delete marker too
    aws.site_bucket_empty_and_delete(name=SITE_BUCKET)
    assert not aws.bucket_exists(name=SITE_BUCKET)
    aws.site_bucket_empty_and_delete(name=SITE_BUCKET)  # already gone: fine
