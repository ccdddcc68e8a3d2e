"""A token's secret: compared in constant time (found or not), never in a log line; expiry as chosen; last use on the page."""

import hmac
import logging
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sites.models import Activity, ApiToken
from sites.services import tokens as token_service
from sites.services.tokens import TokenRefused, token_authenticate
from tests.console.api_support import client_with, make_token
from tests.console.pages_support import live_site, release  # noqa: F401
from tests.console.roles_support import ada, olga  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def comparisons(monkeypatch):
    """Every hmac.compare_digest the token service makes, as (a, b)."""
    calls = []
    compare = hmac.compare_digest

    def recording(a, b):
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(token_service.hmac, "compare_digest", recording)
    return calls


def test_the_secret_is_compared_in_constant_time(olga, comparisons):
    _token, secret = make_token(olga, scope="read")
    assert token_authenticate(secret).user == olga
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    with pytest.raises(TokenRefused):
        token_authenticate(wrong)
    assert len(comparisons) == 2
    # Digests of the same length are compared, never the secret itself.
    assert all(len(a) == len(b) == 64 for a, b in comparisons)
    assert all(secret.split("_", 2)[2] not in (a, b) for a, b in comparisons)


def test_an_unknown_key_id_is_compared_all_the_same(olga, comparisons):
    """No row for the key id: a digest is still compared, so the answer takes as long as for a wrong secret."""
    with pytest.raises(TokenRefused, match="not valid"):
        token_authenticate("gh_ffffffffffff_" + "x" * 43)
    assert len(comparisons) == 1


def test_the_secret_is_never_in_a_log_line(olga, live_site, caplog):
    _token, secret = make_token(olga, scope="read")
    with caplog.at_level(logging.DEBUG):
        client_with(secret).get(reverse("api:site", args=["no-such-site"]))  # a 404: django.request logs a warning
        client_with(secret + "x").get(reverse("api:sites"))  # refused
    assert caplog.records, "the calls logged nothing: this test would prove nothing"
    assert not [r for r in caplog.records if secret.split("_", 2)[2] in r.getMessage()]


@pytest.mark.parametrize("days", [7, 30, 90, 365])
def test_a_token_expires_after_the_lifetime_chosen_and_is_then_refused(client, olga, days):
    client.force_login(olga)
    client.post(reverse("sites:tokens"), {"name": f"CI {days}", "lifetime": days, "scope": "read"})
    token = ApiToken.objects.get(name=f"CI {days}")
    assert abs(token.expires_at - (timezone.now() + timedelta(days=days))) < timedelta(minutes=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    page = client.get(reverse("sites:tokens")).content.decode()
    assert f'data-token="CI {days}" data-state="expired"' in page


def test_a_lifetime_the_page_does_not_offer_is_refused(client, olga):
    client.force_login(olga)
    response = client.post(reverse("sites:tokens"), {"name": "forever", "lifetime": 100000, "scope": "read"})
    assert response.status_code == 400 and not ApiToken.objects.filter(name="forever").exists()


def test_the_tokens_page_shows_when_a_token_was_last_used(client, olga, live_site):
    token, secret = make_token(olga, scope="read", name="CI")
    client.force_login(olga)

    def row():
        page = client.get(reverse("sites:tokens")).content.decode()
        return page.split('data-token="CI"')[1].split("</tr>")[0]

    assert "never" in row()
    client_with(secret).get(reverse("api:sites"))
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert "never" not in row()


def test_an_admins_token_is_named_in_the_activity_log(ada, live_site, sent_tasks):
    _token, secret = make_token(ada, scope="all", name="CI")
    response = client_with(secret).patch(
        reverse("api:site_access", args=[live_site.slug]), {"emails": ["new@client.example"]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert "ada's token 'CI'" in {row.who for row in Activity.objects.filter(site=live_site)}
