"""Personal API tokens: made on a page and shown once, kept hashed, last use shown, revoked; named in the activity log."""

import hashlib
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sites.models import Activity, ApiToken
from sites.presenters import activity_items
from sites.services.tokens import token_authenticate, token_revoke, TokenRefused
from tests.console.api_support import client_with, error_of, make_token
from tests.console.pages_support import live_site, release  # noqa: F401
from tests.console.roles_support import ada, olga, vic  # noqa: F401

pytestmark = pytest.mark.django_db


def test_a_token_is_shown_once_and_kept_only_as_a_hash(client, olga, live_site):
    client.force_login(olga)
    response = client.post(reverse("sites:tokens"), {"name": "CI", "lifetime": 30, "scope": "deploy", "sites": [live_site.pk]})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    secret = page.split('id="new-token">')[1].split("<")[0]
    assert secret.startswith("gh_")
    token = ApiToken.objects.get(name="CI")
    assert token.user == olga and token.scope == "deploy" and list(token.sites.all()) == [live_site]
    assert token.secret_sha256 == hashlib.sha256(secret.split("_", 2)[2].encode()).hexdigest()
    assert secret.split("_", 2)[2] not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    again = client.get(reverse("sites:tokens")).content.decode()
    assert secret not in again and "CI" in again and "never" in again  # last used: never


def test_a_deploy_token_needs_its_sites(client, olga):
    client.force_login(olga)
    response = client.post(reverse("sites:tokens"), {"name": "CI", "lifetime": 30, "scope": "deploy"})
    assert response.status_code == 400 and b"Choose the sites" in response.content


def test_last_use_is_recorded(olga, live_site):
    token, secret = make_token(olga, scope="read")
    assert client_with(secret).get(reverse("api:sites")).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None and timezone.now() - token.last_used_at < timedelta(minutes=1)


@pytest.mark.parametrize(
    "spoil, code, words",
    [
        (lambda t: ApiToken.objects.filter(pk=t.pk).update(revoked_at=timezone.now()), "token_refused", "was revoked"),
        (lambda t: ApiToken.objects.filter(pk=t.pk).update(expires_at=timezone.now() - timedelta(days=1)), "token_refused", "expired"),
        (lambda t: t.user.__class__.objects.filter(pk=t.user_id).update(is_active=False), "token_refused", "deactivated"),
    ],
)
def test_a_revoked_or_expired_token_is_refused_saying_why(olga, live_site, spoil, code, words):
    token, secret = make_token(olga, scope="read")
    spoil(token)
    response = client_with(secret).get(reverse("api:sites"))
    assert response.status_code == 401
    assert error_of(response)[0] == code and words in error_of(response)[1]


def test_a_wrong_secret_for_a_real_key_id_is_refused(olga):
    token, secret = make_token(olga, scope="read")
    with pytest.raises(TokenRefused):
        token_authenticate(secret[:-2] + ("AA" if not secret.endswith("AA") else "BB"))
    with pytest.raises(TokenRefused):
        token_authenticate("gh_" + token.key_id)


def test_a_token_never_reaches_beyond_its_users_role(vic, live_site):
    _token, secret = make_token(vic, scope="all")
    response = client_with(secret).post(reverse("api:site_redeploy", args=[live_site.slug]))
    assert response.status_code == 403 and error_of(response)[0] == "role_forbidden"


def test_the_owner_revokes_their_token_and_it_stops_working(client, olga, live_site):
    token, secret = make_token(olga, scope="read")
    client.force_login(olga)
    response = client.post(reverse("sites:token_revoke"), {"token": token.pk})
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at and token.revoked_by == olga
    assert client_with(secret).get(reverse("api:sites")).status_code == 401


def test_an_admin_revokes_anyones_token_and_an_operator_does_not(client, olga, ada, vic, live_site):
    token, _secret = make_token(vic, scope="read")
    client.force_login(olga)
    assert client.post(reverse("sites:token_revoke"), {"token": token.pk}).status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None
    # Only an admin sees everyone's tokens.
    assert b"Everyone's tokens" not in client.get(reverse("sites:tokens")).content
    client.force_login(ada)
    assert b"Everyone's tokens" in client.get(reverse("sites:tokens")).content
    assert client.post(reverse("sites:token_revoke"), {"token": token.pk}).status_code == 302
    token.refresh_from_db()
    assert token.revoked_by == ada
    assert Activity.objects.filter(verb="token.revoke", actor=ada, detail="vic's token 'CI'").exists()


def test_the_activity_log_names_the_token(client, olga, ada, live_site, sent_tasks):
    _token, secret = make_token(olga, scope="all", name="CI")
    response = client_with(secret).post(reverse("api:site_redeploy", args=[live_site.slug]))
    assert response.status_code == 202
    row = Activity.objects.filter(verb="site.redeploy").get()
    assert row.who == "olga's token 'CI'"
    items = activity_items(list(Activity.objects.all()))
    assert any("olga&#x27;s token &#x27;CI&#x27;" in str(item.sentence) for item in items), [str(i.sentence) for i in items]
    client.force_login(ada)
    page = client.get(reverse("sites:activity")).content.decode()
    assert "olga&#x27;s token &#x27;CI&#x27;" in page or "olga's token 'CI'" in page


def test_a_request_without_a_token_after_one_with_is_not_named(olga, live_site, sent_tasks):
    """The token's name is set for one request only (the view clears it)."""
    from sites.context import current_token_id

    _token, secret = make_token(olga, scope="all", name="CI")
    client_with(secret).get(reverse("api:sites"))
    assert current_token_id() is None
