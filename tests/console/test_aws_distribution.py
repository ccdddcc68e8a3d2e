"""CloudFront through sites.aws, against moto's server.

moto keeps no LambdaFunctionAssociations, drops OriginAccessControlId and
accepts any IfMatch: those are asserted on the XML boto3 sends.
"""

import pytest

from tests.console.aws_support import aws, fail, record  # noqa: F401

VERSION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:gatehouse-edge:3"
CERT_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-111122223333"


def ensure(aws, **overrides):
    params = dict(
        caller_reference="gatehouse:acme-demo:7",
        comment="Gatehouse acme-demo",
        bucket_name="gatehouse-site-7-acme-demo",
        edge_version_arn=VERSION_ARN,
    )
    params.update(overrides)
    if "oac_id" not in params:
        params["oac_id"] = aws.oac_ensure(name="gatehouse-oac")
    return aws.distribution_ensure(**params)


def distributions(aws):
    return aws.client("cloudfront").list_distributions()["DistributionList"].get("Items", [])


def text(root, path):
    found = root.find(path)
    assert found is not None, path
    return found.text


def test_the_shared_origin_access_control_is_created_once(aws):
    first = aws.oac_ensure(name="gatehouse-oac")
    assert aws.oac_ensure(name="gatehouse-oac") == first
    items = aws.client("cloudfront").list_origin_access_controls()["OriginAccessControlList"]["Items"]
    assert [(i["Name"], i["SigningBehavior"], i["OriginAccessControlOriginType"]) for i in items] == [
        ("gatehouse-oac", "always", "s3")
    ]


def test_a_distribution_is_sent_with_oac_the_numbered_edge_version_and_managed_policies(aws):
    sent = record(aws.client("cloudfront"))
    created = ensure(aws)
    assert created["created"] and created["id"] and created["domain"].endswith(".cloudfront.net")

    xml = sent.last("CreateDistribution").xml()
    origin = xml.find("Origins/Items/Origin")
    assert text(origin, "OriginAccessControlId") == aws.oac_ensure(name="gatehouse-oac")
    assert origin.find("S3OriginConfig/OriginAccessIdentity").text in (None, "")
    assert text(origin, "DomainName") == "gatehouse-site-7-acme-demo.s3.us-east-1.amazonaws.com"
    behavior = xml.find("DefaultCacheBehavior")
    assert text(behavior, "ViewerProtocolPolicy") == "redirect-to-https"
    assert text(behavior, "CachePolicyId") == "658327ea-f89d-4fab-a63d-7e88639e58f6"
    assert text(behavior, "ResponseHeadersPolicyId") == "67f7725c-6f97-4210-82d7-5512b31e9d03"
    association = behavior.find("LambdaFunctionAssociations/Items/LambdaFunctionAssociation")
    assert text(association, "LambdaFunctionARN") == VERSION_ARN
    assert text(association, "EventType") == "viewer-request"
    assert text(xml, "DefaultRootObject") == "index.html"
    assert text(xml, "CallerReference") == "gatehouse:acme-demo:7"
    assert text(xml, "HttpVersion") == "http2and3"
    assert text(xml, "PriceClass") == "PriceClass_100"
    assert text(xml, "ViewerCertificate/CloudFrontDefaultCertificate") == "true"
    assert xml.find("Aliases/Items") is None


def test_a_missing_object_gets_the_sites_not_found_page_with_a_404_but_a_403_is_left_alone(aws):
    sent = record(aws.client("cloudfront"))
    created = ensure(aws)
    xml = sent.last("CreateDistribution").xml()
    responses = xml.findall("CustomErrorResponses/Items/CustomErrorResponse")
    assert [(text(r, "ErrorCode"), text(r, "ResponsePagePath"), text(r, "ResponseCode")) for r in responses] == [
        ("404", "/_gatehouse/not-found.html", "404")
    ]
    # moto keeps them, and the local gateway reads them from GetDistribution.
    kept = aws.client("cloudfront").get_distribution(Id=created["id"])["Distribution"]["DistributionConfig"]
    assert kept["CustomErrorResponses"]["Items"][0]["ResponsePagePath"] == "/_gatehouse/not-found.html"


def test_re_applying_the_settings_replaces_an_spa_style_403_to_index_html_error_response(aws):
    # The classic SPA setup (403 and 404 -> /index.html, 200) would serve the
    # protected index.html for any POST or missing key: it never survives a redeploy.
    created = ensure(aws)

    def spa_style(config):
        config["CustomErrorResponses"] = {
            "Quantity": 1,
            "Items": [{"ErrorCode": 403, "ResponsePagePath": "/index.html", "ResponseCode": "200", "ErrorCachingMinTTL": 0}],
        }

    aws.distribution_update(distribution_id=created["id"], mutate=spa_style)
    sent = record(aws.client("cloudfront"))
    oac_id = aws.oac_ensure(name="gatehouse-oac")
    aws.distribution_update(
        distribution_id=created["id"],
        mutate=lambda config: aws.distribution_settings_apply(
            config, bucket_name="gatehouse-site-7-acme-demo", oac_id=oac_id, aliases=[], certificate_arn=None, edge_version_arn=VERSION_ARN
        ),
    )
    xml = sent.last("UpdateDistribution").xml()
    codes = [text(r, "ErrorCode") for r in xml.findall("CustomErrorResponses/Items/CustomErrorResponse")]
    assert codes == ["404"]
    assert text(xml, "DefaultCacheBehavior/ResponseHeadersPolicyId") == aws.SECURITY_HEADERS_POLICY_ID


def test_custom_host_names_are_aliases_only_with_a_certificate(aws):
    sent = record(aws.client("cloudfront"))
    ensure(aws, aliases=["demo.acme.localhost"], caller_reference="gatehouse:no-cert")
    assert text(sent.last("CreateDistribution").xml(), "Aliases/Quantity") == "0"
    ensure(aws, aliases=["demo.acme.example"], certificate_arn=CERT_ARN)
    xml = sent.last("CreateDistribution").xml()
    assert [e.text for e in xml.findall("Aliases/Items/CNAME")] == ["demo.acme.example"]
    assert text(xml, "ViewerCertificate/ACMCertificateArn") == CERT_ARN
    assert text(xml, "ViewerCertificate/SSLSupportMethod") == "sni-only"
    assert text(xml, "ViewerCertificate/MinimumProtocolVersion") == "TLSv1.2_2021"


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:lambda:us-east-1:123456789012:function:gatehouse-edge",
        "arn:aws:lambda:us-east-1:123456789012:function:gatehouse-edge:$LATEST",
        "arn:aws:lambda:us-east-1:123456789012:function:gatehouse-edge:live",
    ],
)
def test_an_unnumbered_function_arn_is_refused_before_anything_is_created(aws, arn):
    with pytest.raises(aws.AwsError):
        ensure(aws, edge_version_arn=arn)
    assert distributions(aws) == []


def test_a_second_run_finds_the_distribution_its_caller_reference_made(aws):
    first = ensure(aws)
    again = ensure(aws)
    assert (again["id"], again["created"]) == (first["id"], False)
    assert len(distributions(aws)) == 1


def test_a_long_comment_keeps_the_caller_reference_that_finds_it_again(aws):
    reference = "gatehouse:gatehouse-site-12345-" + "x" * 40
    first = ensure(aws, comment="Gatehouse " + "a-very-long-site-name-" * 8, caller_reference=reference)
    assert ensure(aws, comment="Gatehouse " + "a-very-long-site-name-" * 8, caller_reference=reference)["id"] == first["id"]
    assert len(distributions(aws)) == 1


def test_a_new_site_is_one_call_whatever_the_account_holds(aws):
    """Fails on main: it listed every distribution (ListDistributions, a page per 100) before creating."""
    for i in range(3):
        ensure(aws, caller_reference=f"gatehouse:other-{i}", bucket_name=f"gatehouse-site-{i}-other")
    oac_id = aws.oac_ensure(name="gatehouse-oac")
    sent = record(aws.client("cloudfront"))
    created = ensure(aws, oac_id=oac_id)
    assert created["created"]
    assert [r.operation for r in sent.requests] == ["CreateDistribution"]


def test_a_lost_distribution_is_found_from_distribution_already_exists_without_listing(aws):
    """moto answers DistributionAlreadyExists as CloudFront does, the id at the end of the
    message ("... Already exists: E1SXXXXXXXXXX"); the id is read from it and confirmed by GetDistribution."""
    first = ensure(aws)
    ensure(aws, caller_reference="gatehouse:other", bucket_name="gatehouse-site-8-other")
    oac_id = aws.oac_ensure(name="gatehouse-oac")
    sent = record(aws.client("cloudfront"))
    again = ensure(aws, oac_id=oac_id)  # as if the first create's answer was lost
    assert again["id"] == first["id"] and not again["created"]
    assert [r.operation for r in sent.requests] == ["CreateDistribution", "GetDistribution"]
    assert sent.last("GetDistribution").params == {"Id": first["id"]}
    assert len(distributions(aws)) == 2


def test_an_already_exists_answer_without_an_id_falls_back_to_listing(aws):
    first = ensure(aws)
    fail(aws.client("cloudfront"), "CreateDistribution", "DistributionAlreadyExists", status=409,
         message="The caller reference is associated with another distribution.")
    sent = record(aws.client("cloudfront"))
    again = ensure(aws)
    assert again["id"] == first["id"] and not again["created"]
    assert "ListDistributions" in [r.operation for r in sent.requests]


def test_an_id_named_for_another_reference_is_not_taken(aws):
    other = ensure(aws, caller_reference="gatehouse:other", bucket_name="gatehouse-site-8-other")
    fail(aws.client("cloudfront"), "CreateDistribution", "DistributionAlreadyExists", status=409,
         message=f"The caller reference ... Already exists: {other['id']}")
    with pytest.raises(aws.AwsError):
        ensure(aws)  # nothing was made with this reference: neither the named one nor any listed


def test_an_update_retries_after_a_precondition_failure_and_re_applies_the_change(aws):
    created = ensure(aws)
    cloudfront = aws.client("cloudfront")
    sent = record(cloudfront)
    injected = fail(cloudfront, "UpdateDistribution", "PreconditionFailed", status=412)
    applied = []

    def mutate(config):
        applied.append(1)
        aws.distribution_settings_apply(
            config,
            bucket_name="gatehouse-site-7-acme-demo",
            oac_id="E2QWRUHAPOMQZL",
            aliases=[],
            certificate_arn=None,
            edge_version_arn=VERSION_ARN.replace(":3", ":4"),
        )

    aws.distribution_update(distribution_id=created["id"], mutate=mutate)
    assert injected["failed"] == 1 and len(applied) == 2
    reads = sent.of("GetDistributionConfig")
    updates = sent.of("UpdateDistribution")
    assert len(reads) == 2 and len(updates) == 2
    assert all(u.params["IfMatch"] for u in updates)
    xml = updates[-1].xml()
    assert text(xml, "DefaultCacheBehavior/LambdaFunctionAssociations/Items/LambdaFunctionAssociation/LambdaFunctionARN").endswith(":4")
    assert text(xml, "Origins/Items/Origin/OriginAccessControlId") == "E2QWRUHAPOMQZL"


def test_an_update_that_keeps_conflicting_gives_up_as_transient(aws):
    created = ensure(aws)
    fail(aws.client("cloudfront"), "UpdateDistribution", "PreconditionFailed", status=412, times=10)
    with pytest.raises(aws.AwsConflict) as conflict:
        aws.distribution_update(distribution_id=created["id"], mutate=lambda c: None, attempts=3)
    assert isinstance(conflict.value, aws.AwsTransientError)


def test_the_update_uses_the_etag_it_read(aws):
    created = ensure(aws)
    sent = record(aws.client("cloudfront"))
    aws.distribution_update(distribution_id=created["id"], mutate=lambda c: None)
    etag = aws.client("cloudfront").get_distribution_config(Id=created["id"])["ETag"]
    assert sent.last("UpdateDistribution").params["IfMatch"] == etag


def test_teardown_detaches_disables_then_deletes(aws):
    created = ensure(aws)
    sent = record(aws.client("cloudfront"))
    assert aws.distribution_disable(distribution_id=created["id"]) is True
    xml = sent.last("UpdateDistribution").xml()
    assert text(xml, "Enabled") == "false"
    assert text(xml, "DefaultCacheBehavior/LambdaFunctionAssociations/Quantity") == "0"
    assert aws.distribution_status(created["id"]) == "Deployed"
    assert aws.distribution_delete(distribution_id=created["id"]) is True
    assert sent.last("DeleteDistribution").params["IfMatch"]
    assert aws.distribution_status(created["id"]) is None
    assert aws.distribution_delete(distribution_id=created["id"]) is True
    assert aws.distribution_disable(distribution_id=created["id"]) is False


def test_an_enabled_distribution_is_not_deleted(aws):
    created = ensure(aws)
    assert aws.distribution_delete(distribution_id=created["id"]) is False
    assert aws.distribution_status(created["id"]) == "Deployed"


def test_invalidating_twice_with_one_reference(aws):
    created = ensure(aws)
    sent = record(aws.client("cloudfront"))
    assert aws.invalidation_create(distribution_id=created["id"], paths=["/*"], caller_reference="deployment-9")
    batch = sent.last("CreateInvalidation").params["InvalidationBatch"]
    assert batch == {"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "deployment-9"}


def test_throttling_and_lost_connections_are_transient(aws, settings):
    fail(aws.client("cloudfront"), "ListDistributions", "Throttling", status=400)
    with pytest.raises(aws.AwsTransientError):
        aws.distribution_find_by_caller_reference("x")
    settings.GATEHOUSE_AWS_ENDPOINT_URL = "http://127.0.0.1:9"  # nothing listens there
    settings.GATEHOUSE_AWS_MAX_ATTEMPTS = 1
    aws.clients_reset()
    with pytest.raises(aws.AwsTransientError):
        aws.distribution_status("E123")
