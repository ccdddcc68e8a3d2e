"""The IAM, KMS and S3 policy documents, as plain data (docs/iam/*.json are these, written down).

No AWS call and no setting is read here: callers pass every name in.
"""

from __future__ import annotations

def edge_role_trust_policy() -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def edge_role_policy(
    *,
    account: str,
    bucket: str,
    prefix: str,
    key_arn: str,
    function_name: str,
    ses_sender: str = "",
    ses_region: str = "",
    partition: str = "aws",
) -> dict:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadSiteConfigs",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"arn:{partition}:s3:::{bucket}/{prefix}*",
            },
            {
                # With ListBucket S3 answers a missing config 404 and a denied
                # one 403, so the edge can treat a 403 as an outage. For a
                # GetObject S3 checks it with s3:prefix set to the object key.
                "Sid": "TellMissingConfigsFromDenied",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:{partition}:s3:::{bucket}",
                "Condition": {"StringLike": {"s3:prefix": f"{prefix}*"}},
            },
            {
                "Sid": "DecryptSiteConfigs",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": key_arn,
            },
            {
                # Lambda@Edge writes its logs in the region that ran it, to a
                # group named after the us-east-1 function.
                "Sid": "LogsInEveryRegion",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [
                    f"arn:{partition}:logs:*:{account}:log-group:/aws/lambda/us-east-1.{function_name}*",
                    f"arn:{partition}:logs:*:{account}:log-group:/aws/lambda/us-east-1.{function_name}*:log-stream:*",
                ],
            },
        ],
    }
    if ses_sender:
        # E-mail sign-in codes: SES v2 SendEmail from the one sender identity,
        # in the one region; SES authorises a send on its From identity.
        policy["Statement"].append(
            {
                "Sid": "SendSignInCodes",
                "Effect": "Allow",
                "Action": "ses:SendEmail",
                "Resource": f"arn:{partition}:ses:{ses_region}:{account}:identity/{ses_sender}",
            }
        )
    return policy


def config_key_policy(*, account: str, console_arn: str | None, edge_role_arn: str, partition: str = "aws") -> dict:
    """The statements the config key must have; `console_arn` None leaves the console's out.

    The account root statement stays: it is the way back when a principal
    named here is deleted (otherwise only AWS Support can recover the key),
    and it lets the console role's own IAM policy grant it the key.
    """
    statements = [
        {
            "Sid": "AccountRootManagesTheKey",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if console_arn:
        statements.append(
            {
                "Sid": "ConsoleManagesAndUsesTheKey",
                "Effect": "Allow",
                "Principal": {"AWS": console_arn},
                "Action": "kms:*",
                "Resource": "*",
            }
        )
    statements.append(
        {
            "Sid": "EdgeDecryptsConfigs",
            "Effect": "Allow",
            "Principal": {"AWS": edge_role_arn},
            "Action": "kms:Decrypt",
            "Resource": "*",
        }
    )
    return {"Version": "2012-10-17", "Statement": statements}


def key_policy_merge(current: dict, wanted: dict) -> dict:
    """`current` with what `wanted` adds; nothing in `current` is removed or replaced.

    A statement whose Sid is missing is appended; one whose Sid is there gets
    the AWS principals it lacks added. So a shell, `dev_seed` or a staging
    console in the same account can never take the key from the production
    worker by provisioning.
    """
    merged = {**current, "Statement": [dict(s) for s in current.get("Statement") or []]}
    by_sid = {s.get("Sid"): s for s in merged["Statement"] if s.get("Sid")}
    for statement in wanted["Statement"]:
        found = by_sid.get(statement["Sid"])
        if found is None:
            merged["Statement"].append(statement)
            continue
        principal = found.get("Principal")
        if not isinstance(principal, dict) or "AWS" not in principal:
            continue  # "*" or a service principal: not ours to widen
        have = principal["AWS"] if isinstance(principal["AWS"], list) else [principal["AWS"]]
        wanted_arns = statement["Principal"]["AWS"]
        add = [arn for arn in ([wanted_arns] if isinstance(wanted_arns, str) else wanted_arns) if arn not in have]
        if add:
            found["Principal"] = {**principal, "AWS": have + add}
    return merged


def site_bucket_policy(*, name: str, distribution_arn: str, partition: str = "aws") -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ThisDistributionReadsThroughItsOAC",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": f"arn:{partition}:s3:::{name}/*",
                "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
            },
            {
                # Without ListBucket S3 answers a missing key with 403, which
                # CloudFront cannot tell from a real denial; with it, 404, which
                # the distribution's error response turns into the not-found
                # page (distribution_settings_apply). CloudFront only ever asks
                # for keys: no viewer request becomes a listing.
                "Sid": "ThisDistributionTellsMissingFromDenied",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:ListBucket",
                "Resource": f"arn:{partition}:s3:::{name}",
                "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
            },
        ],
    }


def _tls_only_statement(name: str, partition: str = "aws") -> dict:
    return {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:{partition}:s3:::{name}", f"arn:{partition}:s3:::{name}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
