"""Deploys that send only what changed: manifest, the missing files, finalise; then the usual build workflow, against moto."""

import hashlib
import urllib.request

import pytest
from django.urls import reverse

from sites.models import Build, SiteBlob
from tests.console.api_support import api_as, error_of  # noqa: F401
from tests.console.provisioning_support import aws, drive, provision  # noqa: F401
from tests.console.roles_support import olga  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def live_site(aws, site, db):
    drive(provision(site))
    site.refresh_from_db()
    return site


def files_of(count: int, changed: str = "") -> dict[str, bytes]:
    files = {"index.html": b"<script src=/assets/app.js></script>"}
    for n in range(count - 1):
        files[f"assets/part-{n:03}.js"] = f"export const n = {n};".encode()
    if changed:
        files["assets/part-007.js"] = changed.encode()
    return files


def manifest(files: dict[str, bytes]) -> list[dict]:
    return [{"path": p, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()} for p, b in files.items()]


def deploy(client, site, files, *, message="", commit=""):
    """What the CLI does: manifest, the uploads the answer asks for, finalise; the answer and the uploads made."""
    by_hash = {hashlib.sha256(b).hexdigest(): b for b in files.values()}
    answer = client.post(
        reverse("api:deploys", args=[site.slug]), {"files": manifest(files), "message": message, "commit": commit}, format="json"
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    for upload in body["uploads"]:
        data = by_hash[upload["sha256"]]
        if upload["method"] == "api":
            sent = client.put(upload["url"], data, content_type="application/octet-stream")
            assert sent.status_code == 204, sent.content
        else:
            # An explicit type: urllib's default (a form post) has moto's server read the body as a form.
            request = urllib.request.Request(
                upload["url"], data=data, method="PUT", headers={"Content-Type": "application/octet-stream"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
    finalised = client.post(body["finalise_url"])
    assert finalised.status_code == 202, finalised.content
    return body, finalised.json()


def run(deployment_id):
    from sites.models import Deployment

    return drive(Deployment.objects.get(pk=deployment_id))


def test_a_redeploy_of_200_files_with_one_changed_uploads_one_file(aws, live_site, olga, api_as, sent_tasks):
    client = api_as(olga, scope="deploy", sites=[live_site])
    first, deployment = deploy(client, live_site, files_of(200), message="first", commit="a" * 40)
    assert len(first["uploads"]) == 200
    assert run(deployment["id"]) == ["done"]

    second, deployment = deploy(client, live_site, files_of(200, changed="export const n = 'changed';"), message="second")
    assert [u["paths"] for u in second["uploads"]] == [["assets/part-007.js"]]
    assert second["build"]["files_sent"] == 1 and second["build"]["file_count"] == 200
    assert run(deployment["id"]) == ["done"]

    build = Build.objects.get(site=live_site, number=second["build"]["number"])
    live_site.refresh_from_db()
    assert live_site.live_build == build and build.status == "ready" and build.deploy_message == "second"
    s3 = aws.client("s3")
    body = s3.get_object(Bucket=live_site.bucket_name, Key=f"builds/{build.pk}/assets/part-007.js")
    assert body["Body"].read() == b"export const n = 'changed';"
    assert body["CacheControl"] == "no-cache" and body["ContentType"] == "application/javascript; charset=utf-8"
    html = s3.head_object(Bucket=live_site.bucket_name, Key=f"builds/{build.pk}/index.html")
    assert html["ContentType"] == "text/html; charset=utf-8"
    assert s3.list_objects_v2(Bucket=live_site.bucket_name, Prefix=f"builds/{build.pk}/")["KeyCount"] == 200
    # Content is kept once per site: 201 different contents for two builds of 200 files.
    assert SiteBlob.objects.filter(site=live_site).count() == 201
    steps = [s["name"] for s in client.get(reverse("api:deployment", args=[deployment["id"]])).json()["steps"]]
    assert steps == ["Check files", "Upload files", "Make live"]


def test_an_unchanged_redeploy_uploads_nothing(aws, live_site, olga, api_as, sent_tasks):
    client = api_as(olga, scope="deploy", sites=[live_site])
    _first, deployment = deploy(client, live_site, files_of(5))
    run(deployment["id"])
    again, deployment = deploy(client, live_site, files_of(5))
    assert again["uploads"] == []
    assert run(deployment["id"]) == ["done"]


def test_a_large_file_goes_straight_to_s3_by_a_presigned_put(aws, live_site, olga, api_as, sent_tasks, settings):
    settings.GATEHOUSE_API_INLINE_MAX_BYTES = 100
    client = api_as(olga, scope="deploy", sites=[live_site])
    files = {"index.html": b"<p>hi</p>", "video.bin": b"x" * 5000}
    body, deployment = deploy(client, live_site, files)
    methods = {u["paths"][0]: u["method"] for u in body["uploads"]}
    assert methods == {"index.html": "api", "video.bin": "s3"}
    assert run(deployment["id"]) == ["done"]
    build = Build.objects.get(site=live_site, number=body["build"]["number"])
    s3 = aws.client("s3")
    assert s3.get_object(Bucket=live_site.bucket_name, Key=f"builds/{build.pk}/video.bin")["Body"].read() == b"x" * 5000
    assert s3.list_objects_v2(Bucket=live_site.bucket_name, Prefix="staging/").get("KeyCount") == 0
    # Through the API, a file over the limit is refused and pointed at S3.
    sha = hashlib.sha256(b"y" * 500).hexdigest()
    response = client.put(
        reverse("api:deploy_file", args=[live_site.slug, build.number, sha]), b"y" * 500, content_type="application/octet-stream"
    )
    assert response.status_code == 413 and error_of(response)[0] == "file_too_large"


def test_a_large_file_never_uploaded_fails_the_check_saying_which(aws, live_site, olga, api_as, sent_tasks, settings):
    settings.GATEHOUSE_API_INLINE_MAX_BYTES = 100
    client = api_as(olga, scope="deploy", sites=[live_site])
    files = {"index.html": b"<p>hi</p>", "video.bin": b"x" * 5000}
    answer = client.post(reverse("api:deploys", args=[live_site.slug]), {"files": manifest(files)}, format="json").json()
    for upload in answer["uploads"]:
        if upload["method"] == "api":
            client.put(upload["url"], files["index.html"], content_type="application/octet-stream")
    deployment = client.post(answer["finalise_url"]).json()
    assert run(deployment["id"]) == ["failed"]
    step = client.get(reverse("api:deployment", args=[deployment["id"]])).json()["steps"][0]
    assert step["status"] == "failed" and "video.bin" in step["message"]


def test_finalise_waits_for_every_small_file(aws, live_site, olga, api_as):
    client = api_as(olga, scope="deploy", sites=[live_site])
    answer = client.post(reverse("api:deploys", args=[live_site.slug]), {"files": manifest(files_of(3))}, format="json").json()
    response = client.post(answer["finalise_url"])
    assert response.status_code == 409
    code, message = error_of(response)
    assert code == "files_missing" and "3 file(s) have not been sent yet" in message


def test_a_file_must_match_its_hash_and_size(aws, live_site, olga, api_as):
    client = api_as(olga, scope="deploy", sites=[live_site])
    files = files_of(2)
    answer = client.post(reverse("api:deploys", args=[live_site.slug]), {"files": manifest(files)}, format="json").json()
    upload = answer["uploads"][0]
    wrong = client.put(upload["url"], b"z" * upload["size"], content_type="application/octet-stream")
    assert wrong.status_code == 400 and error_of(wrong)[0] == "hash_mismatch"
    short = client.put(upload["url"], b"z", content_type="application/octet-stream")
    assert error_of(short)[0] == "size_mismatch"


@pytest.mark.parametrize(
    "files, words",
    [
        ([{"path": "../etc/passwd", "size": 1, "sha256": "a" * 64}], "'..' is not allowed"),
        ([{"path": "app.js", "size": 1, "sha256": "a" * 64}], "no index.html"),
        ([{"path": "index.html", "size": 1, "sha256": "a" * 64}, {"path": "INDEX.html", "size": 1, "sha256": "b" * 64}], "twice"),
    ],
)
def test_a_manifest_is_checked_by_the_zips_rules(aws, live_site, olga, api_as, files, words):
    client = api_as(olga, scope="deploy", sites=[live_site])
    response = client.post(reverse("api:deploys", args=[live_site.slug]), {"files": files}, format="json")
    assert response.status_code == 400 and error_of(response)[0] == "manifest_invalid"
    assert words in error_of(response)[1]


def test_the_builds_page_shows_message_and_commit(aws, live_site, olga, api_as, sent_tasks, client):
    api = api_as(olga, scope="deploy", sites=[live_site])
    deploy(api, live_site, files_of(2), message="Fix the header", commit="0123456789abcdef0123")
    client.force_login(olga)
    page = client.get(reverse("sites:builds", args=[live_site.slug])).content.decode()
    assert "Fix the header" in page and "commit 0123456789ab" in page
    listed = api.get(reverse("api:builds", args=[live_site.slug])).json()["results"]
    assert listed[0]["deploy_message"] == "Fix the header" and listed[0]["commit"] == "0123456789abcdef0123"
