"""Health probes, request ids, JSON logs, Sentry scrubbing and edge log retention."""

import io
import json
import logging

import pytest

from tests.console.aws_support import aws  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def behind_the_proxy(settings):
    """Production's HTTPS and host rules, as the console runs behind Caddy."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["console.example"]


def test_healthz_answers_a_container_probe_without_login_https_or_the_public_host(client, behind_the_proxy):
    response = client.get("/healthz", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"
    # Everything else still gets the production rules.
    assert client.get("/", HTTP_HOST="console.example").status_code == 301
    assert client.get("/", HTTP_HOST="127.0.0.1:8000").status_code == 400


def test_healthz_does_not_touch_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get("/healthz").status_code == 200


def test_health_probes_refuse_anything_but_get_and_head(client):
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405
    assert client.head("/healthz").status_code == 200


@pytest.fixture
def config_bucket_in_moto(aws, settings):
    settings.GATEHOUSE_CONFIG_BUCKET = "gatehouse-ready-config"
    aws.client("s3").create_bucket(Bucket="gatehouse-ready-config")
    return aws


def test_readyz_is_ready_when_database_broker_and_s3_answer(client, config_bucket_in_moto, behind_the_proxy):
    response = client.get("/readyz", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {"database": True, "broker": True, "s3": True}


def test_readyz_names_a_missing_bucket_with_503_and_no_address(client, config_bucket_in_moto, settings):
    settings.GATEHOUSE_STAGING_BUCKET = "gatehouse-staging-that-does-not-exist"
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["s3"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    assert settings.GATEHOUSE_AWS_ENDPOINT_URL not in response.content.decode()
    assert "gatehouse-staging" not in response.content.decode()


def test_readyz_names_an_unreachable_broker_without_its_password(client, config_bucket_in_moto):
    from console.celery import app
    from tests.fixtures.ports import free_port

    # Celery fills broker_write_url from broker_url once; with a broker
    # URL in the environment both are set, and publishing uses the write one.
    before = app.conf.broker_url, app.conf.broker_write_url
    unreachable = f"redis://:broker-password-xyz@127.0.0.1:{free_port()}/0"
    app.conf.broker_url = app.conf.broker_write_url = unreachable
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url, app.conf.broker_write_url = before
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False
    assert response.json()["checks"]["s3"]["ok"] is True
    assert "broker-password-xyz" not in response.content.decode()


def test_every_response_carries_a_request_id_and_a_sane_incoming_one_is_kept(client):
    made = client.get("/healthz")["X-Request-ID"]
    assert len(made) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="proxy-1234-abcd")["X-Request-ID"] == "proxy-1234-abcd"
    for hostile in ("short", "has space in it", "x" * 200, "new\nline-injected"):
        kept = client.get("/healthz", HTTP_X_REQUEST_ID=hostile)["X-Request-ID"]
        assert kept != hostile and len(kept) == 32


def _json_handler():
    from console.logs import JsonFormatter, RequestIdFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    return handler, stream


def test_a_request_logs_one_json_object_per_line_with_its_request_id(client):
    handler, stream = _json_handler()
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-0001-abcdef")
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 404
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert entries and all(entry["request_id"] == "req-0001-abcdef" for entry in entries)
    assert entries[0]["message"] == "Not Found: /no-such-page/"


def test_json_log_lines_keep_multi_line_messages_and_exceptions_on_one_line():
    from console.logs import request_id_var

    handler, stream = _json_handler()
    logger = logging.getLogger("gatehouse.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    token = request_id_var.set("task-0002-abcdef")
    try:
        logger.warning("first line\nsecond line", extra={"site": "acme", "count": 3})
        try:
            raise ValueError("broken")
        except ValueError:
            logger.exception("it failed")
    finally:
        request_id_var.reset(token)
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "first line\nsecond line"
    assert first["request_id"] == "task-0002-abcdef"
    assert (first["site"], first["count"], first["level"]) == ("acme", 3, "WARNING")
    assert "ValueError: broken" in second["exception"]


def test_a_task_enqueued_by_a_request_carries_its_request_id_to_the_worker():
    from celery import signals

    from console.celery import REQUEST_ID_HEADER, app
    from console.logs import request_id_var

    headers = {}
    token = request_id_var.set("req-0003-abcdef")
    try:
        signals.before_task_publish.send(sender="sites.tasks.revisions_sweep", headers=headers, body=None)
    finally:
        request_id_var.reset(token)
    assert headers[REQUEST_ID_HEADER] == "req-0003-abcdef"

    # The worker side: the header becomes the id of the task's log lines.
    app.loader.import_default_modules()
    task = app.tasks["sites.tasks.revisions_sweep"]
    task.push_request(**{REQUEST_ID_HEADER: "req-0003-abcdef", "is_eager": False})
    try:
        signals.task_prerun.send(sender=task, task_id="t1", task=task, args=(), kwargs={})
        assert request_id_var.get() == "req-0003-abcdef"
        signals.task_postrun.send(sender=task, task_id="t1", task=task)
        assert request_id_var.get() == ""
    finally:
        task.pop_request()


def test_sentry_events_lose_bodies_cookies_secret_headers_and_token_values():
    from console.sentry import FILTERED, scrub

    event = {
        "request": {
            "url": "https://console.example/sites/acme/edit/",
            "data": {"client_secret": "client-secret-7f3a9c1e5b2d8f4a"},
            "cookies": {"sessionid": "abc"},
            "headers": {"Authorization": "Bearer abc", "Cookie": "sessionid=abc", "User-Agent": "probe"},
            "query_string": "code=xyz&state=abc",
        },
        "exception": {"values": [{"type": "AwsError", "value": "redis://:pw-123@redis:6379/0 failed with eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"}]},
        "extra": {"client_secret": "client-secret-7f3a9c1e5b2d8f4a", "site": "acme"},
    }
    scrubbed = json.dumps(scrub(event, {}))
    for secret in ("client-secret-7f3a9c1e5b2d8f4a", "pw-123", "eyJhbGciOiJIUzI1NiJ9", "Bearer abc", "sessionid=abc", "code=xyz"):
        assert secret not in scrubbed
    again = scrub(json.loads(json.dumps(event)), {})
    assert again["request"]["headers"]["User-Agent"] == "probe"
    assert again["extra"]["site"] == "acme"
    assert again["request"]["headers"]["Authorization"] == FILTERED


def test_sentry_starts_only_with_a_dsn_and_without_personal_data():
    import sentry_sdk

    from console.sentry import scrub, sentry_init

    try:
        sentry_init(dsn="https://public@127.0.0.1:9/1", environment="test")
        client = sentry_sdk.get_client()
        assert client.is_active()
        assert client.should_send_default_pii() is False
        assert client.options["data_collection"]["user_info"] is False
        assert client.options["data_collection"]["http_bodies"] == []
        assert client.options["before_send"] is scrub
        assert client.options["include_local_variables"] is False
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init(dsn=None)
    assert sentry_sdk.get_client().dsn is None


REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1"]


def test_edge_log_retention_is_set_in_every_region_before_and_after_lambda_made_the_group(aws, settings):
    from sites.models import EdgeRelease
    from sites.services.edge_logs import edge_log_retention_apply

    settings.GATEHOUSE_EDGE_LOG_RETENTION_DAYS = 14
    settings.GATEHOUSE_EDGE_LOG_REGIONS = REGIONS
    EdgeRelease.objects.create(version="v-shard-2", zip_sha256="0" * 64, function_name=aws.function_name_for_index(1))
    # Lambda@Edge already wrote in one region, to a group it made with no retention.
    aws.client("logs", region_name="eu-west-1").create_log_group(logGroupName=aws.edge_log_group_name(aws.function_name_for_index(0)))

    done = edge_log_retention_apply()

    names = [aws.function_name_for_index(0), aws.function_name_for_index(1)]
    assert done == {name: REGIONS for name in names}
    for name in names:
        assert aws.edge_log_group_name(name) == f"/aws/lambda/us-east-1.{name}"
        for region_name in REGIONS:
            assert aws.edge_log_retention_get(function_name=name, region_name=region_name) == 14
    assert aws.edge_log_retention_get(function_name=names[0], region_name="sa-east-1") is None
    # Again: nothing fails on groups that exist.
    assert edge_log_retention_apply() == done


def test_edge_log_retention_defaults_to_every_lambda_at_edge_region(aws, settings):
    from sites.services.edge_logs import edge_log_retention_apply

    settings.GATEHOUSE_EDGE_LOG_REGIONS = []
    done = edge_log_retention_apply()
    assert done[aws.function_name_for_index(0)] == list(aws.EDGE_LOG_REGIONS)
    assert "us-east-1" in aws.EDGE_LOG_REGIONS and len(aws.EDGE_LOG_REGIONS) >= 13


def test_edge_log_retention_refuses_a_number_of_days_cloudwatch_does_not_accept(aws):
    with pytest.raises(aws.AwsError, match="retention"):
        aws.edge_log_retention_ensure(function_name="gatehouse-edge", days=10, regions=["us-east-1"])


def test_edge_log_retention_runs_daily_on_beat():
    from console.celery import app

    app.loader.import_default_modules()
    entry = app.conf.beat_schedule["edge-log-retention"]
    assert entry["task"] == "sites.tasks.edge_log_retention_task"
    assert entry["task"] in app.tasks
