"""A setting the edge would refuse is an error on the form, beside its field, never a save whose publish then fails."""

import pytest

from sites.forms import OnboardForm, SiteEditForm
from sites.models import Activity, ProtectedSite
from tests.console.pages_support import fast_passwords, live_site, provisioning_calls, release, staff_client  # noqa: F401
from tests.console.test_pages_edit import _as_posted, _save
from tests.console.test_pages_onboard import URL as ONBOARD_URL
from tests.console.test_pages_onboard import _data, _zip, discovery, media  # noqa: F401

REFUSED_AT_THE_EDGE = [
    ("public_paths", "/"),
    ("public_paths", "/a b"),
    ("public_paths", "/x/../y"),
    ("public_paths", "/assets/*"),
    ("emails", "ann@bücher.example"),
    ("email_domains", "bücher.example"),
]


@pytest.mark.parametrize("field, value", REFUSED_AT_THE_EDGE)
def test_the_edit_form_refuses_what_the_edge_would_refuse(live_site, field, value):
    form = SiteEditForm(_as_posted(live_site, **{field: value}), site=live_site)
    assert not form.is_valid()
    assert field in form.errors


@pytest.mark.parametrize("field, value", REFUSED_AT_THE_EDGE)
def test_the_edit_page_shows_the_error_beside_the_field_and_publishes_nothing(
    staff_client, live_site, django_capture_on_commit_callbacks, field, value
):
    before = live_site.revisions.count()
    response = _save(staff_client, live_site, django_capture_on_commit_callbacks, **{field: value})
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="id_{field}_error"' in page
    assert "as a new config revision" not in page
    assert live_site.revisions.count() == before
    assert not Activity.objects.filter(verb__in=["config.invalid", "config.publish_failed"]).exists()


@pytest.mark.parametrize("field, value", REFUSED_AT_THE_EDGE)
def test_onboarding_refuses_what_the_edge_would_refuse(staff_client, discovery, field, value):
    response = staff_client.post(ONBOARD_URL, _data(build=_zip(), **{field: value}))
    assert response.status_code == 400
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not ProtectedSite.objects.exists()


def test_a_star_in_a_public_path_says_how_to_write_a_folder(live_site):
    form = SiteEditForm(_as_posted(live_site, public_paths="/assets/*"), site=live_site)
    assert not form.is_valid()
    (message,) = form.errors["public_paths"]
    assert "not a wildcard" in message and "end the path with / instead, e.g. /assets/" in message


def test_an_internationalised_domain_is_shown_in_the_form_the_edge_matches(live_site):
    form = SiteEditForm(_as_posted(live_site, emails="ann@bücher.example"), site=live_site)
    assert not form.is_valid()
    assert "xn--bcher-kva.example" in form.errors["emails"][0]


def test_the_public_paths_help_shows_a_folder_prefix_the_edge_matches(db):
    help_text = OnboardForm().fields["public_paths"].help_text
    assert "/assets/*" not in help_text and "/assets/" in help_text


def test_a_folder_prefix_and_a_file_save_and_publish(staff_client, live_site, django_capture_on_commit_callbacks):
    response = _save(staff_client, live_site, django_capture_on_commit_callbacks, public_paths="/assets/\n/favicon.ico")
    assert response.status_code == 302
    revision = live_site.revisions.order_by("-number").first()
    assert revision.document["paths"]["public"] == ["/assets/", "/favicon.ico"]
