"""Fixtures for the API tests: personal tokens for the role personas, and clients that send them."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from sites.models import ApiToken


def make_token(user, *, scope=ApiToken.Scope.ALL, sites=(), name="CI", days=30):
    from sites.services.tokens import token_create

    return token_create(user=user, name=name, expires_at=timezone.now() + timedelta(days=days), scope=scope, sites=list(sites))


def client_with(secret: str | None) -> APIClient:
    client = APIClient()
    if secret:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def api_as():
    """api_as(user, scope=..., sites=...): an APIClient sending a fresh token of that user."""

    def make(user, *, scope=ApiToken.Scope.ALL, sites=(), name=None):
        _token, secret = make_token(user, scope=scope, sites=sites, name=name or f"t{ApiToken.objects.count()}")
        return client_with(secret)

    return make


def error_of(response) -> tuple[str, str]:
    body = response.json()
    return body["error"]["code"], body["error"]["message"]
