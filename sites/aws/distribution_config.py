"""The DistributionConfig Gatehouse manages, built as plain data (no AWS call).

One builder for creating a distribution and for re-applying settings on
redeploy, so the two can never drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable

from .clients import AwsError, region
from .s3 import NOT_FOUND_PAGE_PATH

# AWS managed policies (CloudFront Developer Guide, "Use managed cache
# policies" / "Use managed response headers policies"): attached by id, so
# nothing has to be created, and moto, which has no API for them, accepts them.
CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"
SECURITY_HEADERS_POLICY_ID = "67f7725c-6f97-4210-82d7-5512b31e9d03"
CACHING_DISABLED_POLICY_ID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
# The edge's own pages. A behaviour of their own, because their association
# differs: the e-mail code forms are POSTs whose body the function must read
# (IncludeBody, at most 40 KB at viewer request), while the default behaviour
# stays GET/HEAD with no body, so the site's asset requests never pay for it.
GATEHOUSE_PATH_PATTERN = "/_gatehouse/*"

ORIGIN_ID = "site-bucket"


def is_numbered_version_arn(arn: str) -> bool:
    # arn:aws:lambda:us-east-1:123456789012:function:name:7
    parts = arn.split(":")
    return len(parts) == 8 and parts[2] == "lambda" and parts[5] == "function" and parts[7].isdigit()


def _require_numbered(arn: str) -> None:
    if not is_numbered_version_arn(arn):
        raise AwsError(
            f"Lambda@Edge needs a numbered function version, not {arn!r} ($LATEST and aliases are refused)",
            code="InvalidLambdaFunctionAssociation",
            operation="distribution_config",
        )


def distribution_settings_apply(
    config: dict,
    *,
    bucket_name: str,
    oac_id: str,
    aliases: Iterable[str],
    certificate_arn: str | None,
    edge_version_arn: str | None,
) -> dict:
    """Write everything Gatehouse manages into a DistributionConfig (in place; also returned).

    Used both to create a distribution and to re-apply settings on redeploy,
    so the two can never drift apart. Keeps CallerReference, Comment, Enabled.
    """
    if edge_version_arn is not None:
        _require_numbered(edge_version_arn)
    # CloudFront serves a custom name only with a certificate for it. Without
    # one (local development, *.localhost behind the gateway) the names stay
    # in the site's config but are not aliases of the distribution.
    aliases = sorted(set(aliases)) if certificate_arn else []
    domain = f"{bucket_name}.s3.{region()}.amazonaws.com"
    config["Origins"] = {
        "Quantity": 1,
        "Items": [
            {
                "Id": ORIGIN_ID,
                "DomainName": domain,
                "OriginPath": "",
                "CustomHeaders": {"Quantity": 0},
                # Empty identity: OAC replaces the legacy origin access identity.
                "S3OriginConfig": {"OriginAccessIdentity": ""},
                "OriginAccessControlId": oac_id,
                "ConnectionAttempts": 3,
                "ConnectionTimeout": 10,
            }
        ],
    }
    associations = (
        {
            "Quantity": 1,
            "Items": [{"LambdaFunctionARN": edge_version_arn, "EventType": "viewer-request", "IncludeBody": False}],
        }
        if edge_version_arn
        else {"Quantity": 0}
    )
    gatehouse_associations = (
        {
            "Quantity": 1,
            "Items": [{"LambdaFunctionARN": edge_version_arn, "EventType": "viewer-request", "IncludeBody": True}],
        }
        if edge_version_arn
        else {"Quantity": 0}
    )
    config["CacheBehaviors"] = {
        "Quantity": 1,
        "Items": [
            {
                "PathPattern": GATEHOUSE_PATH_PATTERN,
                "TargetOriginId": ORIGIN_ID,
                "ViewerProtocolPolicy": "redirect-to-https",
                # POST needs CloudFront's full method set; the function answers
                # every method itself, and nothing of these reaches S3.
                "AllowedMethods": {
                    "Quantity": 7,
                    "Items": ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
                    "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]},
                },
                "Compress": True,
                "CachePolicyId": CACHING_DISABLED_POLICY_ID,
                "ResponseHeadersPolicyId": SECURITY_HEADERS_POLICY_ID,
                "LambdaFunctionAssociations": gatehouse_associations,
                "FunctionAssociations": {"Quantity": 0},
                "TrustedSigners": {"Enabled": False, "Quantity": 0},
                "TrustedKeyGroups": {"Enabled": False, "Quantity": 0},
                "SmoothStreaming": False,
                "FieldLevelEncryptionId": "",
            }
        ],
    }
    behavior = config.get("DefaultCacheBehavior") or {}
    for legacy in ("ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL"):
        # These conflict with a cache policy; older configs may carry them.
        behavior.pop(legacy, None)
    behavior.update(
        {
            "TargetOriginId": ORIGIN_ID,
            "ViewerProtocolPolicy": "redirect-to-https",
            "AllowedMethods": {
                "Quantity": 2,
                "Items": ["GET", "HEAD"],
                "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]},
            },
            "Compress": True,
            "CachePolicyId": CACHING_OPTIMIZED_POLICY_ID,
            "ResponseHeadersPolicyId": SECURITY_HEADERS_POLICY_ID,
            "LambdaFunctionAssociations": associations,
            "FunctionAssociations": {"Quantity": 0},
            "TrustedSigners": {"Enabled": False, "Quantity": 0},
            "TrustedKeyGroups": {"Enabled": False, "Quantity": 0},
            "SmoothStreaming": False,
            "FieldLevelEncryptionId": "",
        }
    )
    config["DefaultCacheBehavior"] = behavior
    config["DefaultRootObject"] = "index.html"
    # A missing object (S3's 404, see site_bucket_policy) gets the site's
    # not-found page with a 404. Only 404: the edge's own 403 pages ("no
    # access", "not available") must never be swapped for it, and a 403 from
    # S3 is a real denial that should stay visible.
    config["CustomErrorResponses"] = {
        "Quantity": 1,
        "Items": [
            {
                "ErrorCode": 404,
                "ResponsePagePath": NOT_FOUND_PAGE_PATH,
                "ResponseCode": "404",
                "ErrorCachingMinTTL": 10,
            }
        ],
    }
    config["Aliases"] = {"Quantity": len(aliases), "Items": aliases} if aliases else {"Quantity": 0}
    if certificate_arn:
        config["ViewerCertificate"] = {
            "ACMCertificateArn": certificate_arn,
            "SSLSupportMethod": "sni-only",
            "MinimumProtocolVersion": "TLSv1.2_2021",
        }
    else:
        config["ViewerCertificate"] = {"CloudFrontDefaultCertificate": True}
    config["HttpVersion"] = "http2and3"
    config["PriceClass"] = "PriceClass_100"
    config["IsIPV6Enabled"] = True
    return config


def distribution_config_new(
    *,
    caller_reference: str,
    comment: str,
    bucket_name: str,
    oac_id: str,
    aliases: Iterable[str],
    certificate_arn: str | None,
    edge_version_arn: str | None,
) -> dict:
    config = {"CallerReference": caller_reference, "Comment": comment[:128], "Enabled": True}
    return distribution_settings_apply(
        config,
        bucket_name=bucket_name,
        oac_id=oac_id,
        aliases=aliases,
        certificate_arn=certificate_arn,
        edge_version_arn=edge_version_arn,
    )
