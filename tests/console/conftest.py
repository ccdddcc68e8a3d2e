"""Console test fixtures: a few named personas, and recorders for Celery and S3."""

import sys
import types

import pytest

try:
    import sites.aws  # noqa: F401
except ImportError:  # pragma: no cover - until sites/aws.py lands, test against its interface
    _aws = types.ModuleType("sites.aws")

    class AwsError(Exception):
        pass

    class AwsTransientError(AwsError):
        pass

    def _unavailable(**kwargs):
        raise AwsError("sites.aws is not written yet")

    _aws.INTERFACE_ONLY = True
    _aws.AwsError, _aws.AwsTransientError = AwsError, AwsTransientError
    _aws.config_object_put = _aws.config_object_delete = _unavailable
    sys.modules["sites.aws"] = _aws
    import sites

    sites.aws = _aws

CLIENT_SECRET = "client-secret-7f3a9c1e5b2d8f4a"
JWKS = {"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "n": "sXch" + "A" * 340, "e": "AQAB"}]}


class SentTasks(list):
    def names(self):
        return [name for name, _, _ in self]

    def of(self, name):
        return [args for task, args, _ in self if task == name]


def record_sends(monkeypatch) -> SentTasks:
    from celery.app.task import Task

    sent = SentTasks()

    def apply_async(self, args=None, kwargs=None, **options):
        sent.append((self.name, tuple(args or ()), dict(kwargs or {})))

    monkeypatch.setattr(Task, "apply_async", apply_async)
    return sent


@pytest.fixture
def sent_tasks(monkeypatch):
    """Record Celery sends instead of putting them on a broker.

    Only for tests about what is enqueued: a test of retries or failures runs
    the task for real (`task.apply()`, or the worker in tests/fixtures/worker.py).
    """
    return record_sends(monkeypatch)


@pytest.fixture
def tasks_run_in_place():
    """Sends run the task in place through apply(): Celery's own retry policy, no patched apply_async."""
    from celery import current_app

    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = previous


class FakeConfigBucket:
    """Stands in for sites.aws' config-object functions, recording each call."""

    def __init__(self):
        self.objects = {}
        self.calls = []
        self.fail_with = []  # exceptions raised by the next calls, in order

    def put(self, *, host, body):
        self.calls.append(("put", host))
        if self.fail_with:
            raise self.fail_with.pop(0)
        versions = self.objects.setdefault(host, [])
        versions.append(body)
        return f"v{len(versions)}"

    def delete(self, *, host):
        self.calls.append(("delete", host))
        if self.fail_with:
            raise self.fail_with.pop(0)
        self.objects.pop(host, None)

    def latest(self, host):
        return self.objects[host][-1]


@pytest.fixture
def config_bucket(monkeypatch):
    from sites import aws

    bucket = FakeConfigBucket()
    monkeypatch.setattr(aws, "config_object_put", bucket.put)
    monkeypatch.setattr(aws, "config_object_delete", bucket.delete)
    return bucket


@pytest.fixture
def alice(django_user_model):
    """Staff with the Admin role: may do everything the console offers."""
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("alice", "alice@gatehouse.example", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Admin"))
    return user


@pytest.fixture
def provider(db):
    from sites.models import IdentityProvider

    p = IdentityProvider(
        name="Acme Auth0",
        preset="auth0",
        domain="acme.eu.auth0.com",
        issuer="https://acme.eu.auth0.com/",
        authorization_endpoint="https://acme.eu.auth0.com/authorize",
        token_endpoint="https://acme.eu.auth0.com/oauth/token",
        userinfo_endpoint="https://acme.eu.auth0.com/userinfo",
        end_session_endpoint="https://acme.eu.auth0.com/oidc/logout",
        jwks_uri="https://acme.eu.auth0.com/.well-known/jwks.json",
        client_id="acme-client",
        jwks=JWKS,
    )
    p.client_secret = CLIENT_SECRET
    p.save()
    return p


@pytest.fixture
def site(provider, django_capture_on_commit_callbacks):
    """Acme's demo, created the way the console creates sites, first revision made.

    Its first upload's send is recorded and dropped while it is created, and
    only then: the test itself runs with Celery's own apply_async unless it
    asks for `sent_tasks`.
    """
    from sites.services.sites import site_create

    with pytest.MonkeyPatch.context() as patch, django_capture_on_commit_callbacks(execute=True):
        record_sends(patch)
        s = site_create(
            client="Acme",
            name="Demo",
            slug="acme-demo",
            hosts=["demo.acme.example"],
            provider=provider,
            emails=["Ann@Client.example"],
            email_domains=["consultancy.example"],
        )
    return s
