"""schemathesis against the served OpenAPI schema: every operation, with a token of each scope, with none and with a bad one.

- The schema is the one /api/schema/ serves, loaded through the console's own
  WSGI application (schemathesis.openapi.from_wsgi), so what is checked is
  what a client downloads.
- Every operation gets generated cases of three kinds: valid by the schema
  with generated path values (mostly no such site: 404s), valid with the
  path values of real rows (a live site, a zip build and a manifest build,
  a deployment, a release, an invitation, a manifest file's SHA-256), and
  invalid by the schema (negative data) with those real path values.
  Each case is sent with a read, a deploy (to the live site) and an all
  token of an Admin, and with no token and a refused one.
- Each answer must be no 5xx and conform to the schema: a documented status
  code, the documented Content-Type and headers, a body matching the
  documented schema, and schema-invalid input refused with a 4xx. Not
  checked: that schema-valid input is accepted (positive_data_acceptance):
  the forms' rules, the edge's among them, are more than a schema says
  (an existing provider id, someone allowed in), and a 400 for them is
  documented.
- Bounded and deterministic: the "api_fuzz" Hypothesis profile (derandomized,
  a fixed number of examples an operation, no example database, no
  shrinking). Everything runs in the test's transaction: nothing commits,
  so no on-commit task is sent, and no request path reaches AWS (a
  presigned address is signed locally; staging is MEDIA_ROOT).
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.urls import get_resolver
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import checks as st_checks
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.modes import GenerationMode

from sites.models import Build, Deployment, Invitation, ShareLink
from tests.console.api_support import make_token
from tests.console.pages_support import live_site, make_zip, release  # noqa: F401
from tests.console.roles_support import ada  # noqa: F401

pytestmark = pytest.mark.django_db

EXAMPLES = 15  # of each kind (generated path values, real ones) an operation
settings.register_profile(
    "api_fuzz",
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    phases=[Phase.explicit, Phase.generate],
    # Function-scoped fixtures hold the rows every example reads; generation is not the slow part.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)

AUTHS = ("none", "refused", "read", "deploy", "all")
CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_headers_conformance,
    st_checks.response_schema_conformance,
    st_checks.negative_data_rejection,
]


@pytest.fixture
def wsgi_app(settings):
    """The console's WSGI application, in this test's transaction.

    Django's request signals close the database connection after each
    request; with the test's transaction open that would end it. Django's
    own test client disconnects them the same way.
    """
    settings.ALLOWED_HOSTS = ["localhost"]
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    application = get_wsgi_application()

    def served(environ, start_response):
        # Read and closed as a WSGI server does (schemathesis's transport reads a response but never closes
        # it): Django's closing the request removes its uploaded temporary files.
        response = application(environ, start_response)
        try:
            return [b"".join(response)]
        finally:
            response.close()

    try:
        yield served
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(live_site, release, ada, sent_tasks, tmp_path, settings):
    """Real rows for the path parameters, and a token of each scope (an Admin's: only the scope narrows it)."""
    from sites.services import provisioning

    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.GATEHOUSE_API_RATE = ""  # thousands of calls a minute here; the limit has its own test
    zip_build = Build.objects.create(site=live_site, status=Build.Status.READY, prefix="builds/1")
    body = b"<h1>fuzz</h1>"
    sha = hashlib.sha256(body).hexdigest()
    manifest_build, _uploads = provisioning.manifest_deploy_create(
        site=live_site, files=[{"path": "index.html", "size": len(body), "sha256": sha}], actor=ada
    )
    deployment = Deployment.objects.create(kind="redeploy", site=live_site)
    Invitation.objects.create(site=live_site, email="ann@client.example", status=Invitation.Status.SENT)
    link = ShareLink.objects.create(
        site=live_site, label="board meeting", public_id="fz12DecAb3_-", secret_sha256="0" * 64,
        expires_at=timezone.now() + timedelta(days=7),
    )
    tokens = {
        scope: make_token(ada, scope=scope, sites=[live_site] if scope == "deploy" else [], name=scope)[1]
        for scope in ("read", "deploy", "all")
    }
    known = {
        "slug": [live_site.slug],
        "build_number": [zip_build.number, manifest_build.number],
        "deployment_id": [deployment.pk],
        "id": [release.pk],
        "pk": [release.pk],
        "sha256": [sha],
        "email": ["ann@client.example"],
        "link_id": [link.pk],
    }
    return {
        "tokens": tokens,
        "known": known,
        "body": {"provider": live_site.provider_id, "edge_release": release.pk, "allow_any_user": True},
        "site": live_site,
        "file": {"sha256": sha, "bytes": body},
        "zip": make_zip(),
    }


def world_reset(world):
    """What a previous case may have removed, back (an invitation a DELETE took)."""
    Invitation.objects.get_or_create(site=world["site"], email="ann@client.example")


# What a deploy token may do besides reading: the deploy actions (sites.api.permissions.DEPLOY_ACTIONS).
DEPLOY_OPERATIONS = {"builds_upload", "builds_make_live", "deploys_create", "deploys_file_put", "deploys_finalise", "sites_redeploy"}


def scope_allows(auth: str, case, operation_id: str, world) -> bool:
    """Whether a 2xx may be the answer at all: without a good token nothing, with a read token no change,
    with a deploy token only a deploy to its own site."""
    if auth in ("none", "refused"):
        return False
    if case.method in ("GET", "HEAD"):
        return True
    if auth == "deploy":
        return operation_id in DEPLOY_OPERATIONS and (case.path_parameters or {}).get("slug") == world["site"].slug
    return auth == "all"


def headers_for(auth: str, tokens: dict) -> dict:
    if auth in tokens:
        return {"Authorization": f"Bearer {tokens[auth]}"}
    if auth == "refused":
        return {"Authorization": "Bearer gh_000000000000_not-a-secret"}
    return {}


def generated_cases(operation):
    """Valid and invalid cases at generated path values: mostly no such site (a JSON 404), or no such address."""
    kinds = [operation.as_strategy(GenerationMode.POSITIVE)]
    if list(operation.path_parameters) or list(operation.query) or operation.body:
        kinds.append(operation.as_strategy(GenerationMode.NEGATIVE))
    return st.one_of(kinds)


def real_cases(operation, world: dict):
    """Valid and invalid cases at the path values of real rows, valid bodies made to get past the forms' rules."""
    known = world["known"]
    names = [parameter.name for parameter in operation.path_parameters]
    real = st.fixed_dictionaries({name: st.sampled_from(known[name]) for name in names if name in known})
    kinds = [
        real.flatmap(lambda values: operation.as_strategy(GenerationMode.POSITIVE, path_parameters=values)).map(
            lambda case: with_real_body_values(case, world)
        )
    ]
    if list(operation.query) or operation.body:
        kinds.append(real.flatmap(lambda values: operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=values)))
    return st.one_of(kinds)


def with_real_body_values(case, world):
    """Bodies that get past the rules a schema cannot state, so the cases reach the services behind them.

    Onboarding names the real provider and release and lets someone in; a
    manifest's paths are ones a build may hold; a file sent to the manifest
    build is the bytes its SHA-256 names.
    """
    if isinstance(case.body, dict) and "provider" in case.body:
        case.body.update(world["body"])
    if isinstance(case.body, dict) and isinstance(case.body.get("files"), list):
        for n, entry in enumerate(case.body["files"]):
            if isinstance(entry, dict):
                entry["path"] = f"assets/{n}.js" if n else "index.html"
    if isinstance(case.body, dict) and "build" in case.body:
        case.body["build"] = world["zip"]
    if case.path_parameters and case.path_parameters.get("sha256") == world["file"]["sha256"]:
        case.body = world["file"]["bytes"]
    return case


@pytest.fixture
def api_schema(wsgi_app):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    # The test sends the tokens itself: no generated Authorization header.
    schema.config.generation.update(with_security_parameters=False)
    return schema


def test_the_served_schema_has_every_method_of_every_api_address(api_schema):
    """What the fuzzing below walks is the whole API: each API URL's methods (its view's actions) are operations."""
    resolver = get_resolver().namespace_dict["api"][1]
    expected = set()
    for pattern in resolver.url_patterns:
        path = "/api/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{id}" if m[1] == "pk" else "{" + m[1] + "}", str(pattern.pattern))
        expected |= {(method, path) for method in getattr(pattern.callback.view_class, "actions", {})}
    served = {(result.ok().method.upper(), result.ok().path) for result in api_schema.get_all_operations()}
    assert served == expected


def test_no_generated_request_gets_a_5xx_or_an_answer_the_schema_does_not_document(api_schema, world):
    found: dict[tuple[str, str], str] = {}
    reached: set[str] = set()  # operations where the all token's call got past the address and the token
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 19

    for operation, cases in [(op, kind) for op in operations for kind in (generated_cases(op), real_cases(op, world))]:
        operation_id = operation.definition.raw["operationId"]

        @settings(settings.get_profile("api_fuzz"))
        @given(case=cases)
        def run(case):
            world_reset(world)
            # Writes last: the read-only and refused calls see the state the case was made for.
            for auth in AUTHS:
                try:
                    response = case.call_and_validate(headers=headers_for(auth, world["tokens"]), checks=CHECKS)
                except FailureGroup as exc:  # keep the first of each operation and token, go on with the rest
                    found.setdefault((operation.label, auth), str(exc)[:3000])
                    continue
                if auth == "all" and response.status_code not in (401, 403, 404):
                    reached.add(operation.label)
                if response.status_code < 400 and not scope_allows(auth, case, operation_id, world):
                    found.setdefault((operation.label, auth), f"{response.status_code}: a {auth} token changed something")

        run()
    # Else those cases never reached a view's own work (every one a 404), and passing would say nothing:
    # a new path parameter needs its real values in world()'s `known`.
    assert {operation.label for operation in operations} - reached == set(), "operations no case reached"
    assert not found, "\n\n".join(f"### {label} ({auth})\n{report}" for (label, auth), report in found.items())
