"""The policy documents in docs/iam are the ones sites.aws builds."""

import json
from pathlib import Path
from string import Template

DOCS = Path(__file__).resolve().parents[2] / "docs" / "iam"
VALUES = {
    "ACCOUNT_ID": "123456789012",
    "REGION": "us-east-1",
    "CONFIG_BUCKET": "gatehouse-config",
    "CONFIG_PREFIX": "sites/",
    "CONFIG_KEY_ARN": "arn:aws:kms:us-east-1:123456789012:key/k",
    "CONFIG_KEY_ALIAS_NAME": "gatehouse-config",
    "SITE_BUCKET_PREFIX": "gatehouse-site-",
    "EDGE_ROLE": "gatehouse-edge",
    "EDGE_FUNCTION": "gatehouse-edge",
    "CONSOLE_PRINCIPAL_ARN": "arn:aws:iam::123456789012:role/gatehouse-console",
    "SES_REGION": "eu-west-1",
    "SES_SENDER": "sign-in@consultancy.example",
    "EMAIL_FROM_IDENTITY": "consultancy.example",
    "STAGING_BUCKET": "gatehouse-staging",
}


def doc(name):
    return json.loads(Template((DOCS / name).read_text()).substitute(VALUES))


def test_the_edge_role_documents_match_the_code():
    from sites import aws

    assert doc("edge-role-trust-policy.json") == aws.edge_role_trust_policy()
    assert doc("edge-role-policy.json") == aws.edge_role_policy(
        account="123456789012",
        bucket="gatehouse-config",
        prefix="sites/",
        key_arn=VALUES["CONFIG_KEY_ARN"],
        function_name="gatehouse-edge",
        ses_sender="sign-in@consultancy.example",
        ses_region="eu-west-1",
    )


def test_the_edge_role_may_send_mail_only_from_the_sender_identity():
    from sites import aws

    policy = aws.edge_role_policy(
        account="123456789012", bucket="b", prefix="sites/", key_arn="k", function_name="f",
        ses_sender="sign-in@consultancy.example", ses_region="eu-west-1",
    )
    ses = [s for s in policy["Statement"] if any(str(a).startswith("ses:") for a in [s["Action"]])]
    assert ses == [{
        "Sid": "SendSignInCodes", "Effect": "Allow", "Action": "ses:SendEmail",
        "Resource": "arn:aws:ses:eu-west-1:123456789012:identity/sign-in@consultancy.example",
    }]
    without = aws.edge_role_policy(account="1", bucket="b", prefix="p", key_arn="k", function_name="f")
    assert not [s for s in without["Statement"] if s["Action"] == "ses:SendEmail"]


def test_the_config_key_policy_matches_the_code():
    from sites import aws

    assert doc("config-key-policy.json") == aws.config_key_policy(
        account="123456789012",
        console_arn=VALUES["CONSOLE_PRINCIPAL_ARN"], edge_role_arn="arn:aws:iam::123456789012:role/gatehouse-edge"
    )


def test_the_console_policy_covers_every_call_sites_aws_makes():
    package = Path(__file__).resolve().parents[2] / "sites" / "aws"
    source = "\n".join(path.read_text() for path in sorted(package.glob("*.py")))
    allowed = set()
    for statement in doc("console-policy.json")["Statement"]:
        actions = statement["Action"]
        allowed.update([actions] if isinstance(actions, str) else actions)
    # Operations named in _call(client, "operation", ...) and paginators.
    import re

    calls = set(re.findall(r'_call\(\s*[\w().,= "]*?,\s*"(\w+)"', source))
    calls |= set(re.findall(r'get_paginator\("(\w+)"\)', source))
    service_of = {
        "get_caller_identity": "sts", "describe_key": "kms", "create_key": "kms", "create_alias": "kms",
        "put_key_policy": "kms", "list_keys": "kms", "list_resource_tags": "kms",
        # SES v2's SendEmail (raw content too) is authorised as ses:SendEmail.
        "send_email": "ses",
    }
    granted_by_key_policy = {"describe_key", "get_key_policy", "put_key_policy", "list_resource_tags"}
    # Verifying an SES identity is the operator's step in production (docs/iam/README.md);
    # the console only does it against moto, for the local stack and the tests.
    operator_only = {"create_email_identity"}
    s3_actions = {
        "create_bucket": "s3:CreateBucket", "put_public_access_block": "s3:PutBucketPublicAccessBlock",
        "put_bucket_ownership_controls": "s3:PutBucketOwnershipControls", "head_bucket": "s3:ListBucket",
        "put_bucket_versioning": "s3:PutBucketVersioning", "put_bucket_encryption": "s3:PutEncryptionConfiguration",
        "put_bucket_policy": "s3:PutBucketPolicy", "put_object": "s3:PutObject", "delete_object": "s3:DeleteObject",
        "list_object_versions": "s3:ListBucketVersions", "delete_objects": "s3:DeleteObject",
        "delete_bucket": "s3:DeleteBucket", "get_object": "s3:GetObject",
        # HeadObject is authorised as GetObject, ListObjectsV2 as ListBucket.
        "head_object": "s3:GetObject", "list_objects_v2": "s3:ListBucket",
        # CopyObject reads its source (the build's 404.html) and writes its target (PutObject, granted too).
        "copy_object": "s3:GetObject",
        # HeadObject is authorised as GetObject, ListObjectsV2 as ListBucket.
        "head_object": "s3:GetObject", "list_objects_v2": "s3:ListBucket",
    }
    prefixes = {"cloudfront", "lambda", "iam", "sts", "kms", "logs", "ses"}
    missing = []
    for op in sorted(calls - granted_by_key_policy - operator_only):
        if op in s3_actions:
            action = s3_actions[op]
        else:
            service = service_of.get(op)
            camel = "".join(part.title() for part in op.split("_"))
            candidates = [f"{service}:{camel}"] if service else [f"{p}:{camel}" for p in prefixes]
            if not any(c in allowed for c in candidates):
                missing.append(op)
            continue
        if action not in allowed:
            missing.append(op)
    assert missing == []


def test_the_edge_role_may_list_only_the_config_prefix_so_s3_tells_missing_from_denied():
    # Without s3:ListBucket S3 answers a missing config 403, and the edge
    # could not tell "no such site" from an IAM or KMS mistake.
    from sites import aws

    policy = aws.edge_role_policy(
        account="123456789012", bucket="gatehouse-config", prefix="sites/", key_arn="arn:k", function_name="f"
    )
    listing = [s for s in policy["Statement"] if s["Action"] == "s3:ListBucket"]
    assert listing == [
        {
            "Sid": "TellMissingConfigsFromDenied",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::gatehouse-config",
            "Condition": {"StringLike": {"s3:prefix": "sites/*"}},
        }
    ]
