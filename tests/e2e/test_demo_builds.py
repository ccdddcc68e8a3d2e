"""What a returning viewer sees of a demo across builds, in Chromium through
the local gateway (``--origin-s3``) over moto's S3 and CloudFront.

The builds are uploaded with the console's own code (archive checks, content
types and cache headers from ``sites.archives``, ``sites.aws``), and
the distribution is the one ``sites.aws`` creates, so the gateway applies the
same error responses and headers policy CloudFront would.
"""

import http.client
import io
import json
import time
import zipfile

import pytest

from sites import aws
from sites import archives as builds
from sites.services.publishing import not_found_page
from tests.e2e.support import HOST
from tests.edge.factories import config_doc

pytestmark = pytest.mark.e2e

SITE_BUCKET = "gatehouse-site-e2e-builds"


def build_zip(n, *, extra=None):
    """Build `n`: an index.html and a script under a name without a content hash."""
    files = {
        "index.html": (
            f"<!doctype html><title>Build {n}</title><h1 id=page>index of build {n}</h1>"
            '<p id=script>script not run</p><script src="/app.js"></script>'
        ),
        "app.js": f"document.getElementById('script').textContent = 'app.js of build {n}';",
    }
    files.update(extra or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


class Demo:
    def __init__(self, distribution_id):
        self.distribution_id = distribution_id

    def upload(self, n, **kwargs):
        # What the build upload step does for each file of the archive.
        with zipfile.ZipFile(io.BytesIO(build_zip(n, **kwargs))) as archive:
            entries = builds.archive_entries(archive)
            for entry, data in builds.iter_files(archive, entries):
                aws.build_object_put(
                    bucket=SITE_BUCKET,
                    key=f"builds/{n}/{entry.path}",
                    body=data,
                    content_type=entry.content_type,
                    cache_control=entry.cache_control,
                )

    def make_live(self, n):
        doc = config_doc(
            site={"hosts": [HOST], "distribution_id": self.distribution_id, "build": {"id": f"b{n}", "prefix": f"builds/{n}"}},
            # Public, so no sign-in: this test is about what the origin serves.
            paths={"public": ["/index.html", "/app.js", "/no/"]},
        )
        aws.client("s3").put_object(
            Bucket=aws.config_bucket_name(), Key=aws.config_object_key(HOST), Body=json.dumps(doc).encode()
        )
        aws.not_found_page_put(bucket=SITE_BUCKET, build_prefix=f"builds/{n}", default_page=not_found_page())
        time.sleep(1.2)  # the gateway caches configs for a second


@pytest.fixture
def demo(gateway):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=aws.config_bucket_name())
    aws.site_bucket_ensure(name=SITE_BUCKET)
    created = aws.distribution_ensure(
        caller_reference=f"gatehouse:{SITE_BUCKET}:{time.time()}",
        comment=f"Gatehouse e2e gatehouse:{SITE_BUCKET}:{time.time()}",
        bucket_name=SITE_BUCKET,
        oac_id=aws.oac_ensure(name="gatehouse-oac"),
        edge_version_arn=None,
    )
    return Demo(created["id"])


def get(gateway, path, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    connection.request("GET", path, headers={"Host": f"{HOST}:{gateway.port}", **(headers or {})})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def shown(page):
    return page.locator("#page").text_content(), page.locator("#script").text_content()


def test_after_a_new_build_a_reload_shows_only_the_new_build(demo, gateway, page):
    demo.upload(1)
    demo.make_live(1)
    response = page.goto(gateway.url + "/index.html")
    assert response.status == 200
    assert response.headers["cache-control"] == "no-cache"
    assert shown(page) == ("index of build 1", "app.js of build 1")

    demo.upload(2)
    demo.make_live(2)
    deadline = time.monotonic() + 15
    while True:
        page.reload()
        index, script = shown(page)
        if index == "index of build 2" or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    # Never build 2's index with build 1's script (or the other way round).
    assert (index, script) == ("index of build 2", "app.js of build 2")

    # An unchanged file costs a 304 when the browser revalidates it.
    etag = get(gateway, "/app.js").headers["ETag"]
    assert get(gateway, "/app.js", {"If-None-Match": etag}).status == 304


def test_a_missing_page_shows_the_builds_own_404_page_or_the_gatehouse_one(demo, gateway, page):
    demo.upload(1, extra={"404.html": "<!doctype html><h1 id=lost>Build one has no such page</h1>"})
    demo.make_live(1)
    response = page.goto(gateway.url + "/no/such/page.html")
    assert response.status == 404
    assert page.locator("#lost").text_content() == "Build one has no such page"
    assert "AccessDenied" not in page.content()
    # The site's security headers policy applies to its own pages too.
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert response.headers["strict-transport-security"] == "max-age=31536000"

    demo.upload(2)  # no 404.html
    demo.make_live(2)
    response = page.goto(gateway.url + "/no/such/page.html")
    assert response.status == 404
    assert "Page not found" in page.content() and "Build one" not in page.content()
