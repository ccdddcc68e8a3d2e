"""The authorization response's ``iss`` (RFC 9207), end to end.

Not part of the Basic or Config RP plans: the suite tests it in its FAPI 2
client plans (openid-certification/conformance-suite,
``fapi2spfinal/FAPI2SPFinalClientTestInvalidAuthorizationResponseIss`` and
``FAPI2SPFinalClientTestRemoveAuthorizationResponseIss``: "The client should
display an invalid issuer message and must not call any other endpoints").
Gatehouse checks ``iss`` when the provider sends it or advertises
``authorization_response_iss_parameter_supported`` (issue 7, item 8), so a
mix-up attack cannot hand it another provider's code.
"""

import pytest

from tests.e2e.rp_support import (
    Viewer,
    assert_refused,
    rp_edge,  # noqa: F401 - the fixture
    scripted_site,
    sign_in,
    signed_in,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def test_an_authorization_response_with_the_right_iss_signs_in(rp_edge, scripted_op):
    """``AddIssToAuthorizationEndpointResponseParams``: the happy path with iss."""
    name = "iss-right"
    site = scripted_site(rp_edge, scripted_op, name, authorization_response_iss=True)
    signed_in(site)


@pytest.mark.parametrize(
    "mode, suite_class",
    [
        ("invalid", "FAPI2SPFinalClientTestInvalidAuthorizationResponseIss"),
        ("missing", "FAPI2SPFinalClientTestRemoveAuthorizationResponseIss"),
    ],
)
def test_an_authorization_response_with_a_wrong_or_no_iss_is_refused_before_the_token_request(
    rp_edge, scripted_op, mode, suite_class
):
    """A wrong iss, or none from a provider that advertises it: refused, and
    the code is never sent to the token endpoint."""
    name = f"iss-{mode}"
    site = scripted_site(rp_edge, scripted_op, name, authorization_response_iss=mode)
    viewer = Viewer()
    assert_refused(viewer, site, sign_in(viewer, site))
    seen = [r["path"] for r in scripted_op.requests(name)]
    assert "/token" not in seen, f"{suite_class}: the RP called the token endpoint: {seen}"
