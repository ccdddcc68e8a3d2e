"""Password sign-in is throttled (django-axes) and console sessions expire."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from tests.console.pages_support import fast_passwords  # noqa: F401


def _sign_in(client, password, username="alice"):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_n_wrong_passwords_lock_the_sign_in_and_the_right_one_is_refused_until_the_cool_off(client, alice, settings):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        response = _sign_in(client, "wrong")
        assert response.status_code == 200
        assert b"Please enter a correct username and password" in response.content
    locked = _sign_in(client, "wrong")
    assert locked.status_code == 429
    assert b"Too many sign-in attempts" in locked.content
    assert b"15 minutes" in locked.content

    right = _sign_in(client, "pw")
    assert right.status_code == 429
    assert b"Too many sign-in attempts" in right.content
    assert client.get(reverse("sites:dashboard")).status_code == 302  # still signed out

    # The cool-off has passed (the attempts are older than it).
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    response = _sign_in(client, "pw")
    assert response.status_code == 302
    assert client.get(reverse("sites:dashboard")).status_code == 200


def test_the_lock_is_per_username_so_another_account_still_signs_in(client, alice, django_user_model, settings):
    from django.contrib.auth.models import Group

    carol = django_user_model.objects.create_user("carol", "carol@gatehouse.example", "pw2", is_staff=True)
    carol.groups.add(Group.objects.get(name="Viewer"))
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, "wrong")
    assert _sign_in(client, "pw").status_code == 429
    assert _sign_in(client, "pw2", username="carol").status_code == 302


def test_a_right_password_before_the_limit_clears_the_count(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _sign_in(client, "wrong")
    assert _sign_in(client, "pw").status_code == 302
    client.post(reverse("logout"))
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _sign_in(client, "wrong").status_code == 200
    assert _sign_in(client, "pw").status_code == 302


def test_console_sessions_last_eight_hours_and_end_with_the_browser(client, alice, settings):
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    response = _sign_in(client, "pw")
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == "" and cookie["expires"] == ""  # a browser-session cookie
    session = Session.objects.get(session_key=cookie.value)
    assert timedelta(hours=7, minutes=59) < session.expire_date - timezone.now() <= timedelta(hours=8)


def test_an_expired_session_is_sent_to_sign_in_again(client, alice):
    _sign_in(client, "pw")
    assert client.get(reverse("sites:dashboard")).status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("sites:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("path", ["/admin/login/"])
def test_the_admin_sign_in_is_throttled_too(client, alice, settings, path):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(path, {"username": "alice", "password": "wrong"})
    assert client.post(path, {"username": "alice", "password": "pw"}).status_code == 429


def test_an_admin_unlocks_a_locked_sign_in_in_the_admin(client, alice, django_user_model, settings):
    from django.contrib.auth.models import Group
    from django.test import Client

    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, "wrong")
    assert _sign_in(client, "pw").status_code == 429
    attempt = AccessAttempt.objects.get(username="alice")

    operator = django_user_model.objects.create_user("olga", "olga@gatehouse.example", "pw", is_staff=True)
    operator.groups.add(Group.objects.get(name="Operator"))
    other = Client()
    other.force_login(operator)
    delete = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])
    assert other.post(delete, {"post": "yes"}).status_code == 403

    ada = django_user_model.objects.create_user("ada", "ada@gatehouse.example", "pw", is_staff=True)
    ada.groups.add(Group.objects.get(name="Admin"))
    other.force_login(ada)
    assert other.post(delete, {"post": "yes"}).status_code == 302
    assert _sign_in(client, "pw").status_code == 302
