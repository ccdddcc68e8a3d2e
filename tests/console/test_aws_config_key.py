"""The config key's policy is merged into, never replaced; another console's key is never adopted (moto's server)."""

import json

from tests.console.aws_support import aws, record  # noqa: F401

PRODUCTION_WORKER = "arn:aws:iam::123456789012:role/gatehouse-production-worker"


def key_policy(aws, key_arn):
    return json.loads(aws.client("kms").get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])


def principals(policy):
    found = {}
    for statement in policy["Statement"]:
        arns = statement["Principal"]["AWS"]
        found[statement["Sid"]] = sorted([arns] if isinstance(arns, str) else arns)
    return found


def test_a_second_caller_never_replaces_the_production_workers_place_in_the_key_policy(aws, settings):
    # Production made the key, naming its worker's role.
    settings.GATEHOUSE_CONSOLE_PRINCIPAL_ARN = PRODUCTION_WORKER
    key_arn = aws.config_key_ensure()
    # A shell or dev_seed in the same account, with no principal configured.
    settings.GATEHOUSE_CONSOLE_PRINCIPAL_ARN = ""
    assert aws.config_key_ensure() == key_arn
    found = principals(key_policy(aws, key_arn))
    assert found["ConsoleManagesAndUsesTheKey"] == [PRODUCTION_WORKER]
    assert found["AccountRootManagesTheKey"] == [f"arn:aws:iam::{aws.account_id()}:root"]
    assert aws.console_principal_arn() not in found["ConsoleManagesAndUsesTheKey"]


def test_a_configured_console_principal_is_added_beside_the_ones_there(aws, settings):
    settings.GATEHOUSE_CONSOLE_PRINCIPAL_ARN = PRODUCTION_WORKER
    key_arn = aws.config_key_ensure()
    settings.GATEHOUSE_CONSOLE_PRINCIPAL_ARN = "arn:aws:iam::123456789012:role/gatehouse-new-worker"
    aws.config_key_ensure()
    found = principals(key_policy(aws, key_arn))
    assert found["ConsoleManagesAndUsesTheKey"] == sorted([PRODUCTION_WORKER, "arn:aws:iam::123456789012:role/gatehouse-new-worker"])


def test_statements_someone_added_by_hand_stay_and_missing_ones_are_put_back(aws, settings):
    settings.GATEHOUSE_CONSOLE_PRINCIPAL_ARN = PRODUCTION_WORKER
    key_arn = aws.config_key_ensure()
    kms = aws.client("kms")
    auditor = {
        "Sid": "AuditorDescribes",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:role/auditor"},
        "Action": "kms:DescribeKey",
        "Resource": "*",
    }
    # Today's main wrote a policy without the root statement: it comes back.
    policy = key_policy(aws, key_arn)
    policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != "AccountRootManagesTheKey"] + [auditor]
    kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=json.dumps(policy))
    aws.config_key_ensure()
    found = principals(key_policy(aws, key_arn))
    assert set(found) == {"AccountRootManagesTheKey", "ConsoleManagesAndUsesTheKey", "EdgeDecryptsConfigs", "AuditorDescribes"}


def test_an_unchanged_key_policy_is_not_written_again(aws, settings):
    settings.GATEHOUSE_CONSOLE_PRINCIPAL_ARN = PRODUCTION_WORKER
    aws.config_key_ensure()
    sent = record(aws.client("kms"))
    aws.config_key_ensure()
    assert sent.of("PutKeyPolicy") == []
    assert len(sent.of("GetKeyPolicy")) == 1


def test_a_new_key_names_the_caller_only_when_no_console_principal_is_configured(aws, settings):
    settings.GATEHOUSE_CONSOLE_PRINCIPAL_ARN = ""
    key_arn = aws.config_key_ensure()
    found = principals(key_policy(aws, key_arn))
    assert found["ConsoleManagesAndUsesTheKey"] == [aws.console_principal_arn()]
    assert found["AccountRootManagesTheKey"] == [f"arn:aws:iam::{aws.account_id()}:root"]


def test_an_unaliased_key_of_another_console_is_not_adopted(aws, settings):
    kms = aws.client("kms")
    staging = kms.create_key(
        Description="staging's config key, alias never made",
        Tags=[{"TagKey": "gatehouse:purpose", "TagValue": "config"}, {"TagKey": "gatehouse:console", "TagValue": "staging"}],
    )["KeyMetadata"]["Arn"]
    settings.GATEHOUSE_CONSOLE_ID = "production"
    key_arn = aws.config_key_ensure()
    assert key_arn != staging
    tags = kms.list_resource_tags(KeyId=key_arn)["Tags"]
    assert {"TagKey": "gatehouse:console", "TagValue": "production"} in tags


def test_an_unaliased_key_of_this_console_is_adopted(aws, settings):
    settings.GATEHOUSE_CONSOLE_ID = "production"
    first = aws.config_key_ensure()
    aws.client("kms").delete_alias(AliasName=settings.GATEHOUSE_CONFIG_KMS_KEY_ALIAS)
    assert aws.config_key_ensure() == first
