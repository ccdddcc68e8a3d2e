"""The edge function and its role through sites.aws, against moto's server."""

import base64
import hashlib
import io
import json
import zipfile

import pytest

from tests.console.aws_support import aws, fail, record  # noqa: F401


def a_zip(text="v1"):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("edge_runtime/handler.py", f"def handler(event, context):\n    return {text!r}\n")
    data = buffer.getvalue()
    return data, base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_the_edge_role_is_trusted_by_lambda_and_lambda_at_edge_and_reads_configs(aws, settings):
    arn = aws.edge_role_ensure()
    iam = aws.client("iam")
    role = iam.get_role(RoleName=settings.GATEHOUSE_EDGE_ROLE_NAME)["Role"]
    assert role["Arn"] == arn
    trust = role["AssumeRolePolicyDocument"]
    assert sorted(trust["Statement"][0]["Principal"]["Service"]) == ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]
    policy = iam.get_role_policy(RoleName=settings.GATEHOUSE_EDGE_ROLE_NAME, PolicyName="gatehouse-edge-config-read")
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert statements["ReadSiteConfigs"]["Resource"] == "arn:aws:s3:::gatehouse-config/sites/*"
    key_arn = aws.client("kms").describe_key(KeyId=settings.GATEHOUSE_CONFIG_KMS_KEY_ALIAS)["KeyMetadata"]["Arn"]
    assert statements["DecryptSiteConfigs"] == {"Sid": "DecryptSiteConfigs", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn}
    assert all(r.startswith("arn:aws:logs:*:") for r in statements["LogsInEveryRegion"]["Resource"])
    assert aws.edge_role_ensure() == arn
    assert len(iam.list_roles()["Roles"]) == 1


def test_a_changed_trust_policy_is_put_back(aws, settings):
    aws.edge_role_ensure()
    iam = aws.client("iam")
    iam.update_assume_role_policy(
        RoleName=settings.GATEHOUSE_EDGE_ROLE_NAME,
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        ),
    )
    aws.edge_role_ensure()
    services = iam.get_role(RoleName=settings.GATEHOUSE_EDGE_ROLE_NAME)["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]
    assert sorted(services) == ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]


def test_publishing_creates_the_function_in_us_east_1_and_a_numbered_version(aws, settings):
    lam = aws.client("lambda", region_name="us-east-1")
    sent = record(lam)
    data, sha = a_zip()
    published = aws.edge_function_publish(zip_bytes=data, sha256_b64=sha)
    assert published.version == "1"
    assert published.version_arn == published.function_arn + ":1"
    assert aws.is_numbered_version_arn(published.version_arn)
    assert ":us-east-1:" in published.version_arn

    create = sent.last("CreateFunction").params
    assert create["Handler"] == "edge_runtime.handler.handler"
    assert (create["MemorySize"], create["Timeout"], create["Architectures"]) == (128, 5, ["x86_64"])
    assert create["Runtime"] in ("python3.12", "python3.13")
    assert "Environment" not in create  # Lambda@Edge refuses environment variables
    assert sent.last("PublishVersion").params == {"FunctionName": settings.GATEHOUSE_EDGE_FUNCTION_NAME, "CodeSha256": sha}
    config = lam.get_function_configuration(FunctionName=settings.GATEHOUSE_EDGE_FUNCTION_NAME)
    assert config["Role"] == aws.client("iam").get_role(RoleName=settings.GATEHOUSE_EDGE_ROLE_NAME)["Role"]["Arn"]


def test_publishing_the_same_zip_again_reuses_its_version(aws):
    data, sha = a_zip()
    first = aws.edge_function_publish(zip_bytes=data, sha256_b64=sha)
    sent = record(aws.client("lambda", region_name="us-east-1"))
    assert aws.edge_function_publish(zip_bytes=data, sha256_b64=sha) == first
    assert sent.of("PublishVersion") == [] and sent.of("UpdateFunctionCode") == []


def test_new_code_updates_the_function_and_publishes_the_next_version(aws):
    first = aws.edge_function_publish(zip_bytes=a_zip("v1")[0], sha256_b64=a_zip("v1")[1])
    data, sha = a_zip("v2")
    sent = record(aws.client("lambda", region_name="us-east-1"))
    second = aws.edge_function_publish(zip_bytes=data, sha256_b64=sha)
    assert second.version == "2" and second.function_arn == first.function_arn
    assert sent.of("UpdateFunctionCode") and sent.of("CreateFunction") == []
    # The old version stays: distributions may still run it.
    versions = aws.client("lambda", region_name="us-east-1").list_versions_by_function(FunctionName="gatehouse-edge")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]


def test_a_function_still_updating_is_not_waited_for(aws, monkeypatch):
    data, sha = a_zip()
    monkeypatch.setattr(
        aws.lambda_, "edge_function_state", lambda function_name=None: aws.FunctionState("Pending", "InProgress", "", "")
    )
    with pytest.raises(aws.EdgeFunctionNotReady):
        aws.edge_version_publish(function_name="gatehouse-edge", sha256_b64=sha)


def test_a_failed_function_is_an_error_not_a_wait(aws, monkeypatch):
    monkeypatch.setattr(
        aws.lambda_, "edge_function_state", lambda function_name=None: aws.FunctionState("Failed", "Failed", "", "bad zip")
    )
    with pytest.raises(aws.AwsError) as failed:
        aws.edge_version_publish(function_name="gatehouse-edge", sha256_b64="x")
    assert not isinstance(failed.value, aws.EdgeFunctionNotReady)
    assert "bad zip" in str(failed.value)


def test_a_lambda_update_in_progress_is_transient(aws):
    data, sha = a_zip()
    aws.edge_function_publish(zip_bytes=data, sha256_b64=sha)
    fail(aws.client("lambda", region_name="us-east-1"), "UpdateFunctionCode", "ResourceConflictException", status=409)
    with pytest.raises(aws.AwsTransientError):
        aws.edge_function_publish(zip_bytes=a_zip("v2")[0], sha256_b64=a_zip("v2")[1])


def test_a_role_lambda_cannot_assume_yet_is_transient(aws):
    fail(
        aws.client("lambda", region_name="us-east-1"),
        "CreateFunction",
        "InvalidParameterValueException",
        message="The role defined for the function cannot be assumed by Lambda.",
    )
    data, sha = a_zip()
    with pytest.raises(aws.AwsTransientError):
        aws.edge_function_publish(zip_bytes=data, sha256_b64=sha)
    assert aws.edge_function_publish(zip_bytes=data, sha256_b64=sha).version == "1"


def test_functions_beyond_the_first_have_their_own_names(settings):
    from sites import aws

    assert aws.function_name_for_index(0) == settings.GATEHOUSE_EDGE_FUNCTION_NAME
    assert aws.function_name_for_index(1) == settings.GATEHOUSE_EDGE_FUNCTION_NAME + "-2"
    assert aws.MAX_ASSOCIATIONS_PER_FUNCTION == 500
