"""Build uploads: the archive checks, then the upload against moto's server."""

import io
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from sites import archives as builds
from sites.archives import BuildRefused, archive_entries
from sites.services.provisioning import build_upload_start, deployment_run
from tests.console.aws_support import fail
from tests.console.provisioning_support import aws, drive, make_zip, provision  # noqa: F401

SITE_FILES = {
    "index.html": "<script src=/assets/app.3f9a1c2b.js></script>",
    "assets/app.3f9a1c2b.js": "console.log(1)",
    "assets/index-D8fK2aQx.css": "body{}",
    "favicon.ico": b"\x00\x01",
    "robots.txt": "User-agent: *",
}


def entries_of(data):
    return archive_entries(zipfile.ZipFile(io.BytesIO(data)))


# --- the archive ------------------------------------------------------------------------


def test_types_and_cache_headers_follow_the_file():
    by_path = {e.path: e for e in entries_of(make_zip(SITE_FILES))}
    assert (by_path["index.html"].content_type, by_path["index.html"].cache_control) == ("text/html; charset=utf-8", "no-cache")
    assert by_path["assets/app.3f9a1c2b.js"].content_type == "application/javascript; charset=utf-8"
    assert by_path["assets/app.3f9a1c2b.js"].cache_control == "public, max-age=31536000, immutable"
    assert by_path["assets/index-D8fK2aQx.css"].cache_control == "public, max-age=31536000, immutable"
    assert by_path["robots.txt"].cache_control == "no-cache"


# Issue 7, item 15: every name that is not content-hashed was served with
# "public, max-age=300", so a returning viewer got the new index.html with
# the old app.js for five minutes after a new build or a rollback.
@pytest.mark.parametrize(
    "path",
    [
        "app.js",
        "assets/app.js",
        "robots.txt",
        "favicon.ico",
        "fontawesome-webfont.css",
        "fontawesome5-webfont.woff2",
        "report-20240101.pdf",  # a date, not a hash
        "deadbeef.js",  # hex letters only: a word
        "Base64Util.js",  # a name with upper, lower and a digit
        "vendor-react2-dom.js",
        "manifest.webmanifest",
    ],
)
def test_a_name_without_a_content_hash_is_revalidated_on_every_use(path):
    assert builds.cache_control_for(path) == "no-cache"


@pytest.mark.parametrize(
    "path",
    [
        "app.3f9a1c2b.js",
        "static/js/main.8e2a1c3f.chunk.js",
        "main-BX8a_Zq1.css",
        "assets/index-D8fK2aQx.js",
        "assets/index-B-x8aZq1.js",
        "chunk.0a1b2c3d4e5f.woff2",
        "3f9a1c2b4d5e6f70.js",
        "app.3f9a1c2b.js.map",
    ],
)
def test_a_content_hashed_name_is_cached_for_a_year_as_immutable(path):
    assert builds.cache_control_for(path) == "public, max-age=31536000, immutable"


@pytest.mark.parametrize(
    "name",
    ["/etc/passwd", "../outside.html", "assets/../../x.js", "C:/windows.txt", "a\\b.txt"],
)
def test_unsafe_names_are_refused(name):
    with pytest.raises(BuildRefused):
        entries_of(make_zip({"index.html": "x", name: "evil"}))


def test_links_are_refused():
    with pytest.raises(BuildRefused, match="link"):
        entries_of(make_zip({"index.html": "x"}, links=[("assets/secret", "/etc/passwd")]))


def test_too_many_files_or_bytes_are_refused(settings):
    settings.GATEHOUSE_BUILD_MAX_FILES = 3
    with pytest.raises(BuildRefused, match="files"):
        entries_of(make_zip({"index.html": "x", **{f"f{i}.txt": "x" for i in range(5)}}))
    settings.GATEHOUSE_BUILD_MAX_FILES = 100
    settings.GATEHOUSE_BUILD_MAX_BYTES = 1000
    with pytest.raises(BuildRefused, match="MB|more than"):
        entries_of(make_zip({"index.html": "x" * 600, "b.txt": "y" * 600}))


def test_a_zip_bomb_is_refused_from_its_headers():
    with pytest.raises(BuildRefused, match="bomb"):
        entries_of(make_zip({"index.html": "x", "zeros.bin": b"\0" * (20 * 1024 * 1024)}))


def test_a_header_that_lies_about_the_size_is_caught_while_reading():
    data = bytearray(make_zip({"index.html": "<p>hello world, a longer body</p>"}))
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    (entry,) = archive_entries(archive)
    entry.info.file_size = 5  # as if the central directory said so
    with pytest.raises((BuildRefused, zipfile.BadZipFile)):
        builds.entry_read(archive, entry)


def test_an_archive_without_index_html_at_the_top_is_refused():
    with pytest.raises(BuildRefused, match="index.html"):
        entries_of(make_zip({"dist/index.html": "x"}))


def test_the_same_name_twice_is_refused():
    with pytest.raises(BuildRefused, match="twice"):
        entries_of(make_zip({"index.html": "x", "A.txt": "1", "a.txt": "2"}))


# --- the upload -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def stage(data):
    return default_storage.save("staged-builds/test/build.zip", ContentFile(data))


@pytest.fixture
def live_site(aws, site, db):
    drive(provision(site))
    site.refresh_from_db()
    return site


@pytest.mark.django_db
def test_a_build_is_uploaded_under_its_prefix_and_goes_live_through_the_config(aws, live_site, alice):
    staged = stage(make_zip(SITE_FILES))
    deployment = build_upload_start(site=live_site, staged_name=staged, actor=alice)
    assert drive(deployment) == ["done"]

    build = deployment.build
    build.refresh_from_db()
    assert (build.status, build.file_count, build.prefix) == ("ready", 5, f"builds/{build.pk}")
    assert len(build.archive_sha256) == 64 and build.staged_name == ""
    assert not default_storage.exists(staged)
    s3 = aws.client("s3")
    head = s3.head_object(Bucket=live_site.bucket_name, Key=f"builds/{build.pk}/assets/app.3f9a1c2b.js")
    assert head["CacheControl"] == "public, max-age=31536000, immutable"
    head = s3.head_object(Bucket=live_site.bucket_name, Key=f"builds/{build.pk}/index.html")
    assert (head["ContentType"], head["CacheControl"]) == ("text/html; charset=utf-8", "no-cache")

    live_site.refresh_from_db()
    assert live_site.live_build == build
    newest = live_site.revisions.order_by("-number").first()
    assert newest.document["site"]["build"] == {"id": f"b{build.pk}", "prefix": f"builds/{build.pk}"}
    assert newest.upload_status == "uploaded"


@pytest.mark.django_db
def test_s3_refusing_the_upload_fails_the_build_and_keeps_the_old_one_live(aws, live_site):
    first = build_upload_start(site=live_site, staged_name=stage(make_zip(SITE_FILES)))
    drive(first)
    fail(aws.client("s3"), "PutObject", "AccessDenied", status=403, times=100)
    second = build_upload_start(site=live_site, staged_name=stage(make_zip(SITE_FILES)))
    assert drive(second, uploads=False) == ["failed"]
    second.build.refresh_from_db()
    assert second.build.status == "failed" and "AccessDenied" in second.build.message
    live_site.refresh_from_db()
    assert live_site.live_build == first.build


@pytest.mark.django_db
def test_a_transient_s3_error_is_retried_and_then_lands(aws, live_site):
    fail(aws.client("s3"), "PutObject", "SlowDown", status=503, times=1)
    deployment = build_upload_start(site=live_site, staged_name=stage(make_zip(SITE_FILES)))
    with pytest.raises(aws.AwsTransientError):
        drive(deployment)
    assert drive(deployment) == ["done"]


@pytest.mark.django_db
def test_a_refused_archive_uploads_nothing(aws, live_site):
    deployment = build_upload_start(site=live_site, staged_name=stage(make_zip({"index.html": "x", "../x": "y"})))
    assert drive(deployment) == ["failed"]
    assert "'..'" in deployment.steps.get(name="Check archive").message
    assert aws.client("s3").list_objects_v2(Bucket=live_site.bucket_name, Prefix="builds/").get("KeyCount") == 0


@pytest.mark.django_db
def test_a_build_for_a_site_still_provisioning_waits_for_its_bucket(aws, site):
    deployment = build_upload_start(site=site, staged_name=stage(make_zip(SITE_FILES)))
    progress = deployment_run(deployment_id=deployment.pk)
    assert progress.state == "wait"
    drive(provision(site))
    assert drive(deployment) == ["done"]


@pytest.mark.django_db
def test_no_staged_file_starts_nothing(site):
    assert build_upload_start(site=site, staged_name="") is None


# --- the not-found page (issue 7, item 16) -------------------------------------------------


def not_found_object(aws, site):
    got = aws.client("s3").get_object(Bucket=site.bucket_name, Key="_gatehouse/not-found.html")
    return got["Body"].read().decode(), got["ContentType"], got["CacheControl"]


@pytest.mark.django_db
def test_a_provisioned_site_without_a_build_has_the_gatehouse_not_found_page(aws, live_site):
    body, content_type, cache = not_found_object(aws, live_site)
    assert "Page not found" in body and "AccessDenied" not in body
    assert (content_type, cache) == ("text/html; charset=utf-8", "no-cache")


@pytest.mark.django_db
def test_a_build_with_a_404_page_makes_it_the_sites_not_found_page_and_the_next_build_replaces_it(aws, live_site):
    drive(build_upload_start(site=live_site, staged_name=stage(make_zip({**SITE_FILES, "404.html": "<h1>Lost in build one</h1>"}))))
    body, content_type, cache = not_found_object(aws, live_site)
    assert body == "<h1>Lost in build one</h1>"
    assert (content_type, cache) == ("text/html; charset=utf-8", "no-cache")

    drive(build_upload_start(site=live_site, staged_name=stage(make_zip(SITE_FILES))))
    body, _, _ = not_found_object(aws, live_site)
    assert "Page not found" in body and "build one" not in body


@pytest.mark.django_db
def test_making_an_older_build_live_again_brings_back_its_404_page(aws, live_site, alice, django_capture_on_commit_callbacks):
    from sites.services.site_actions import build_make_live
    from tests.console.provisioning_support import upload_pending

    first = build_upload_start(site=live_site, staged_name=stage(make_zip({**SITE_FILES, "404.html": "<h1>One</h1>"})))
    drive(first)
    drive(build_upload_start(site=live_site, staged_name=stage(make_zip({**SITE_FILES, "404.html": "<h1>Two</h1>"}))))
    assert not_found_object(aws, live_site)[0] == "<h1>Two</h1>"
    first.build.refresh_from_db()
    live_site.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        build_make_live(site=live_site, build=first.build, actor=alice)
    upload_pending()
    assert not_found_object(aws, live_site)[0] == "<h1>One</h1>"


# --- the live order (issue 9, item 9) -------------------------------------------------------


@pytest.mark.django_db
def test_an_older_build_whose_upload_finishes_last_never_replaces_a_newer_one(aws, live_site):
    older = build_upload_start(site=live_site, staged_name=stage(make_zip({**SITE_FILES, "robots.txt": "older"})))
    newer = build_upload_start(site=live_site, staged_name=stage(make_zip({**SITE_FILES, "robots.txt": "newer"})))
    assert drive(newer) == ["done"]
    assert drive(older) == ["done"]
    live_site.refresh_from_db()
    assert live_site.live_build == newer.build
    assert live_site.revisions.order_by("-number").first().document["site"]["build"]["id"] == f"b{newer.build.pk}"
    older.build.refresh_from_db()
    assert older.build.status == "ready"
    assert "not made live" in older.steps.get(name="Make live").message


@pytest.mark.django_db
def test_a_build_made_live_by_hand_during_an_upload_keeps_its_place(aws, live_site, alice, django_capture_on_commit_callbacks):
    from sites.services.site_actions import build_make_live

    first = build_upload_start(site=live_site, staged_name=stage(make_zip(SITE_FILES)))
    drive(first)
    uploading = build_upload_start(site=live_site, staged_name=stage(make_zip(SITE_FILES)))
    first.build.refresh_from_db()
    live_site.refresh_from_db()
    # Staff roll back to the first build while the second is still uploading.
    with django_capture_on_commit_callbacks(execute=True):
        build_make_live(site=live_site, build=first.build, actor=alice)
    drive(uploading)
    live_site.refresh_from_db()
    assert live_site.live_build == first.build


def _form_fields(html: str) -> dict:
    """What a browser would send back from the page's change form, as it was when shown."""
    from html.parser import HTMLParser

    class Form(HTMLParser):
        def __init__(self):
            super().__init__()
            self.data, self._select, self._textarea = {}, None, None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            name = a.get("name")
            if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
                if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                    self.data.setdefault(name, a.get("value") or ("on" if a.get("type") == "checkbox" else ""))
            elif tag == "select" and name:
                self._select = name
                self.data.setdefault(name, "")
            elif tag == "option" and self._select and "selected" in a:
                self.data[self._select] = a.get("value", "")
            elif tag == "textarea" and name:
                self._textarea = name
                self.data[name] = ""

        def handle_endtag(self, tag):
            if tag == "select":
                self._select = None
            if tag == "textarea":
                self._textarea = None

        def handle_data(self, data):
            if self._textarea:
                self.data[self._textarea] += data.lstrip("\n") if not self.data[self._textarea] else data

    parser = Form()
    parser.feed(html)
    return parser.data


@pytest.mark.django_db
def test_an_admin_form_opened_before_a_newer_build_went_live_never_puts_the_older_one_back(aws, live_site, alice, client):
    """Issue 9, item 9: the admin saved the whole row, so a change page shown
    while build one was live put build one back over build two (and kept build
    two's place in the live order) when staff saved an unrelated field."""
    from django.urls import reverse

    drive(build_upload_start(site=live_site, staged_name=stage(make_zip({**SITE_FILES, "robots.txt": "one"}))))
    client.force_login(alice)
    url = reverse("admin:sites_protectedsite_change", args=[live_site.pk])
    shown = client.get(url)
    assert shown.status_code == 200
    data = _form_fields(shown.content.decode())
    newer = build_upload_start(site=live_site, staged_name=stage(make_zip({**SITE_FILES, "robots.txt": "two"})))
    assert drive(newer) == ["done"]

    data.update({"name": "Renamed in the admin", "_save": "Save"})
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    live_site.refresh_from_db()
    assert live_site.name == "Renamed in the admin"
    assert live_site.live_build == newer.build
