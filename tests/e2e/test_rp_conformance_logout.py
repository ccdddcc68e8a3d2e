"""OpenID Foundation RP certification, RP-Initiated Logout, end to end.

The suite's plan ``OIDCCClientRPInitiatedLogoutRPBasicTestPlan``
(openid-certification/conformance-suite, ``openid/client/logout/``) holds
rp-init-logout, rp-init-logout-other-state and rp-init-logout-no-state; the
Session Management plan holds rp-init-logout-session.

What every one of them checks at the end_session_endpoint
(``AbstractOIDCCClientLogoutTest.validateEndSessionEndpointParameters``):
``ValidateIdTokenHintInRPInitiatedLogoutRequest`` (the id_token_hint is an
id_token this OP issued) and ``ValidatePostLogoutRedirectUri`` (a registered
post_logout_redirect_uri); then the RP must handle the post-logout redirect.

Where Gatehouse deliberately differs:

- ``OIDCCClientTestRPInitLogout`` also requires the client to have a
  front-channel or back-channel logout URI
  (``EnsureClientHasAtLeastOneOfBackOrFrontChannelLogoutUri``). Gatehouse
  has neither: its session is a signed cookie with no server-side state for
  an OP to end, and the sign-out response itself expires that cookie before
  it sends the viewer to the end_session_endpoint. The tests assert that
  instead: the cookie is gone, and the next visit starts a fresh sign-in.
- Session Management (check_session_iframe): see ``test_rp_init_logout_session``.
"""

import pytest

from tests.e2e.rp_support import (
    SESSION_COOKIE,
    query_of,
    rp_edge,  # noqa: F401 - the fixture
    scripted_site,
    signed_in,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def signed_in_site(rp_edge, scripted_op, name, **behaviour):
    site = scripted_site(rp_edge, scripted_op, name, **behaviour)
    viewer, _ = signed_in(site)
    return site, viewer


def sign_out(viewer, site):
    """Follow /_gatehouse/sign-out through the OP and back; returns the responses."""
    responses = viewer.follow(site.origin + "/_gatehouse/sign-out")
    first = responses[0]
    assert first.status == 302
    # The edge ends its own session in the sign-out response, whatever the OP does next.
    assert first.set_cookies().get(SESSION_COOKIE) == ""
    return responses


def assert_end_session_request(scripted_op, name, site):
    """ValidateIdTokenHintInRPInitiatedLogoutRequest and ValidatePostLogoutRedirectUri."""
    (request,) = scripted_op.requests(name, "/end_session")
    params = request["query"]
    assert params.get("post_logout_redirect_uri") == site.signed_out
    # A bool, so a failure does not print the tokens.
    issued_here = params.get("id_token_hint") in scripted_op.log(name)["id_tokens"]
    assert issued_here, f"the end_session request has {'an unknown' if 'id_token_hint' in params else 'no'} id_token_hint"
    return params


def assert_signed_out(viewer, site, responses):
    final = responses[-1]
    assert final.url.startswith(site.signed_out), [r.url[:80] for r in responses]
    assert final.status == 200 and "Signed out" in final.text
    assert SESSION_COOKIE not in viewer.cookies(site.host)
    status, me = viewer.me(site)
    assert status == 401 and me == {"signed_in": False}
    again = viewer.get(site.origin + "/")
    assert again.status == 302 and "/authorize?" in again.location


def test_rp_init_logout(rp_edge, scripted_op):
    """rp-init-logout: ``OIDCCClientTestRPInitLogout`` ("terminate the session
    by calling the end_session_endpoint (RP-Initiated Logout) ... then the RP
    is expected to handle post logout URI redirect"). The end_session request
    carries an id_token_hint this OP issued (so the OP can end its session
    without asking) and the registered post-logout address; the OP sends
    back the state it was given; the viewer lands on the signed-out page and
    is signed out of the demo."""
    name = "rp-init-logout"
    site, viewer = signed_in_site(rp_edge, scripted_op, name, end_session_state="same")
    responses = sign_out(viewer, site)
    assert_signed_out(viewer, site, responses)
    params = assert_end_session_request(scripted_op, name, site)
    if "state" in params:
        assert query_of(responses[-1].url).get("state") == params["state"]


def test_rp_init_logout_other_state(rp_edge, scripted_op):
    """rp-init-logout-other-state: ``OIDCCClientTestRPInitLogoutInvalidState``
    (``AddInvalidStateToPostLogoutRedirectUriParams``: the OP comes back with
    "<state>_INVALID", or "INVALID" when none was sent). The RP must handle
    the post-logout redirect despite the different state: the signed-out page,
    no error, no session. (The suite skips this test for an RP that sends no
    state; it runs here either way.)"""
    name = "rp-init-logout-other-state"
    site, viewer = signed_in_site(rp_edge, scripted_op, name, end_session_state="other")
    responses = sign_out(viewer, site)
    assert query_of(responses[-1].url).get("state", "").endswith("INVALID")
    assert_signed_out(viewer, site, responses)
    assert_end_session_request(scripted_op, name, site)


def test_rp_init_logout_no_state(rp_edge, scripted_op):
    """rp-init-logout-no-state: ``OIDCCClientTestRPInitLogoutNoState``
    (``RemoveStateFromPostLogoutRedirectUriParams``: the OP comes back without
    state). The RP must handle the post-logout redirect without it."""
    name = "rp-init-logout-no-state"
    site, viewer = signed_in_site(rp_edge, scripted_op, name, end_session_state="none")
    responses = sign_out(viewer, site)
    assert "state" not in query_of(responses[-1].url)
    assert_signed_out(viewer, site, responses)
    assert_end_session_request(scripted_op, name, site)


def test_rp_init_logout_session(rp_edge, scripted_op):
    """rp-init-logout-session: ``OIDCCClientTestSessionManagement`` (the RP
    loads the OP's check_session_iframe, polls it with postMessage before and
    after logout and sees "changed").

    Gatehouse deliberately does not implement Session Management: the edge
    serves the client's own build and never injects scripts into it, and its
    own pages allow none (``default-src 'none'``); a session lasts until the
    cookie expires or the viewer signs out. So it never loads the
    check_session_iframe the OP advertises, and the sign-out ends the edge
    session by itself."""
    name = "rp-init-logout-session"
    site, viewer = signed_in_site(rp_edge, scripted_op, name, session_management=True)
    responses = sign_out(viewer, site)
    assert_signed_out(viewer, site, responses)
    assert "/check_session" not in [r["path"] for r in scripted_op.requests(name)]
    assert "script" not in responses[-1].text.lower()
