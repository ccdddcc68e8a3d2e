"""Forms only validate: staging a zip and checking a provider happen after is_valid(), in the view."""

import pytest
from django.core.files.storage import default_storage

from sites.forms import STAGED_PREFIX, BuildUploadForm, OnboardForm, ProviderCheckForm
from tests.console.pages_support import release  # noqa: F401
from tests.console.test_pages_onboard import _data, _zip

# Nothing listens here: a fetch during clean() would fail the form.
UNREACHABLE = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def staged_files():
    if not default_storage.exists(STAGED_PREFIX):
        return []
    folders, _ = default_storage.listdir(STAGED_PREFIX)
    return folders


def oidc(**changes):
    return _data(provider_preset="oidc", provider_domain="", provider_issuer=UNREACHABLE, **changes)


@pytest.mark.django_db
def test_validating_the_onboarding_form_neither_stages_the_zip_nor_fetches_from_the_provider():
    form = OnboardForm(oidc(), {"build": _zip()})
    assert form.is_valid(), form.errors
    assert staged_files() == []
    assert form.stage_upload() and len(staged_files()) == 1
    assert form.check_provider() is False
    # Beside the field the issuer comes from (issue 8, staff experience 7), no longer a form-wide error.
    assert "The provider check failed" in form.errors["provider_issuer"][0]


@pytest.mark.django_db
def test_a_form_with_another_error_still_stages_its_good_zip_when_asked():
    form = OnboardForm(oidc(hosts="not a host!"), {"build": _zip()})
    assert not form.is_valid()
    assert staged_files() == []
    form.stage_upload()
    assert form.staged_build_token and len(staged_files()) == 1


@pytest.mark.django_db
def test_a_bad_zip_is_refused_in_clean_and_never_staged():
    form = BuildUploadForm({}, {"build": _zip({"readme.txt": "no index"})})
    assert not form.is_valid() and "index.html" in str(form.errors["build"])
    assert form.stage_upload() is None and staged_files() == []


@pytest.mark.django_db
def test_the_provider_check_form_fetches_only_when_asked():
    form = ProviderCheckForm(oidc())
    assert form.is_valid(), form.errors
    assert form.check_provider() is False
