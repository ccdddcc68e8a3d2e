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


def edge_role_policy(*, account: str, bucket: str, prefix: str, key_arn: str, function_name: str, partition: str = "aws") -> dict:
    return {
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


def config_key_policy(*, console_arn: str, edge_role_arn: str) -> dict:
    # Deliberately no account-root statement: IAM policies elsewhere in the
    # account cannot grant use of the key that protects every site's secrets.
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ConsoleManagesAndUsesTheKey",
                "Effect": "Allow",
                "Principal": {"AWS": console_arn},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "EdgeDecryptsConfigs",
                "Effect": "Allow",
                "Principal": {"AWS": edge_role_arn},
                "Action": "kms:Decrypt",
                "Resource": "*",
            },
        ],
    }


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
