"""Property: every setting the onboarding and edit forms accept renders a config the edge validator accepts.

Hypothesis generates what staff might type (host names, e-mails, domains,
public paths, groups, session hours, dates; well-formed and not). Whenever a
form says valid, the site is saved the way the page saves it and rendered the
way publishing renders it, and the edge's own validator must accept that.
"""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sites.forms import OnboardForm, SiteEditForm
from sites.models import ProtectedSite
from sites.rendering import site_config_render
from sites.services.site_actions import site_settings_update
from sites.services.sites import site_create
from tests.console.pages_support import live_site, make_zip, release  # noqa: F401
from tests.console.test_pages_edit import _as_posted

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
PROPERTY = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

_label = st.text(alphabet="abcxyz019-", min_size=1, max_size=8)
_hostish = st.builds(lambda labels: ".".join(labels), st.lists(_label, min_size=1, max_size=4))
_odd = st.text(alphabet="aZé. -_/:@*%?#\\\t\x01", max_size=12)
hosts = st.lists(st.one_of(_hostish, _hostish.map(str.upper), _hostish.map(lambda h: h + "."), _odd), max_size=3)
domains = st.lists(st.one_of(_hostish, _hostish.map(lambda h: "@" + h), st.just("bücher.example"), _odd), max_size=3)
emails = st.lists(
    st.one_of(
        st.emails(),
        st.builds(lambda local, host: f"{local}@{host}", st.text(alphabet="aB.+_é\x01\xa0", min_size=1, max_size=6), _hostish),
        st.just("ann@bücher.example"),
        _odd,
    ),
    max_size=3,
)
paths = st.lists(
    st.one_of(
        st.builds(lambda p: "/" + p, st.text(alphabet="ab/.*%?# é-_~\\", max_size=10)),
        st.sampled_from(["/", "/assets/", "/assets/*", "/favicon.ico", "/x/../y", "/_gatehouse/x", "//x"]),
        _odd,
    ),
    max_size=3,
)
groups = st.lists(st.text(max_size=8), max_size=3)
claims = st.one_of(st.just(""), st.just("groups"), st.text(max_size=8))
hours = st.one_of(st.integers(min_value=-1, max_value=800).map(str), st.sampled_from(["", "1.5", "x"]))
days = st.one_of(st.just(""), st.integers(min_value=-3, max_value=800).map(lambda n: (timezone.now() + timedelta(days=n)).date().isoformat()))


def _lines(items):
    return "\n".join(items)


settings_data = st.fixed_dictionaries(
    {
        "hosts": hosts.map(_lines),
        "acm_certificate_arn": st.sampled_from(["", CERT]),
        "allow_any_user": st.sampled_from([None, "on"]),
        "emails": emails.map(_lines),
        "email_domains": domains.map(_lines),
        "groups_claim": claims,
        "groups": groups.map(_lines),
        "session_hours": hours,
        "not_after": days,
        "public_paths": paths.map(_lines),
        "spa_mode": st.sampled_from([None, "on"]),
    }
)


class _Rollback(Exception):
    pass


def _in_a_rolled_back_transaction(check):
    try:
        with transaction.atomic():
            check()
            raise _Rollback
    except _Rollback:
        pass


@PROPERTY
@given(data=settings_data, not_before=days)
def test_whatever_the_edit_form_accepts_the_edge_accepts(live_site, data, not_before):
    def check():
        site = ProtectedSite.objects.select_related("provider").get(pk=live_site.pk)
        posted = _as_posted(site, not_before=not_before, **data)
        form = SiteEditForm(posted, site=site)
        if not form.is_valid():
            return
        site_settings_update(site=site, actor=None, reason="property", **form.settings_fields())
        site.refresh_from_db()
        site_config_render(site)  # raises edge ConfigError

    _in_a_rolled_back_transaction(check)


@PROPERTY
@given(data=settings_data)
def test_whatever_the_onboarding_form_accepts_the_edge_accepts(provider, release, data):
    def check():
        posted = {
            "client": "Acme Ltd", "name": "Q3 prototype", "slug": "", "provider_choice": str(provider.pk),
            **{k: v for k, v in data.items() if v is not None},
        }
        build = SimpleUploadedFile("site.zip", make_zip(), content_type="application/zip")
        form = OnboardForm(posted, {"build": build})
        if not form.is_valid():
            return
        site = site_create(provider=form.provider, **form.site_fields())
        # What provisioning adds before the config can publish.
        ProtectedSite.objects.filter(pk=site.pk).update(distribution_id="E2ABCDEF12345", distribution_domain="d1234abcd.cloudfront.net")
        site.refresh_from_db()
        site_config_render(site)

    _in_a_rolled_back_transaction(check)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
