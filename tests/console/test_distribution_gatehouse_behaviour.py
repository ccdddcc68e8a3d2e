"""The `/_gatehouse/*` cache behaviour: the e-mail code forms' bodies reach the edge, nothing else pays for it."""

from sites.aws.distribution_config import CACHING_DISABLED_POLICY_ID, distribution_config_new

ARN = "arn:aws:lambda:us-east-1:123456789012:function:gatehouse-edge:7"


def build(edge_version_arn=ARN):
    return distribution_config_new(
        caller_reference="r", comment="c", bucket_name="b", oac_id="o", aliases=[], certificate_arn=None,
        edge_version_arn=edge_version_arn,
    )


def test_the_gatehouse_behaviour_includes_the_body_and_takes_post():
    config = build()
    [behaviour] = config["CacheBehaviors"]["Items"]
    assert behaviour["PathPattern"] == "/_gatehouse/*"
    assert "POST" in behaviour["AllowedMethods"]["Items"] and behaviour["AllowedMethods"]["Quantity"] == 7
    assert behaviour["CachePolicyId"] == CACHING_DISABLED_POLICY_ID
    [association] = behaviour["LambdaFunctionAssociations"]["Items"]
    assert association == {"LambdaFunctionARN": ARN, "EventType": "viewer-request", "IncludeBody": True}


def test_the_default_behaviour_stays_get_and_head_without_the_body():
    default = build()["DefaultCacheBehavior"]
    assert default["AllowedMethods"]["Items"] == ["GET", "HEAD"]
    assert default["LambdaFunctionAssociations"]["Items"][0]["IncludeBody"] is False


def test_without_an_edge_release_neither_behaviour_has_an_association():
    config = build(None)
    assert config["CacheBehaviors"]["Items"][0]["LambdaFunctionAssociations"] == {"Quantity": 0}
