"""The gateway sends the function's output to moto's CloudWatch Logs as Lambda@Edge does:
group /aws/lambda/us-east-1.<function>, in the region where it ran, one stream per instance,
framed by START / END / REPORT."""

import http.client
import json
import threading

import boto3
import pytest

from edge_runtime import log_shipping
from edge_runtime.gateway import DirOrigin, make_server
from edge_runtime.sigv4 import Credentials

DIST = "EDFDVBD6EXAMPLE"
REGION = "eu-west-2"


def writes_a_visit(event, context):
    print(json.dumps({"gatehouse": "signed_in", "visit": 1, "site": "acme"}))
    print(json.dumps({"gatehouse": "login_start", "site": "acme"}))
    return event["Records"][0]["cf"]["request"]


@pytest.fixture
def shipped(moto_reset, tmp_path):
    root = tmp_path / "origin"
    root.mkdir()
    (root / "index.html").write_text("hi")
    client = log_shipping.LogsClient(
        region=REGION, endpoint_url=moto_reset.endpoint_url, credentials=Credentials("testing", "testing")
    )
    shipper = log_shipping.Shipper(client, function_name="gatehouse-edge-test")
    server = make_server(0, writes_a_visit, origin=DirOrigin(str(root), DIST), log_shipper=shipper)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    logs = boto3.client(
        "logs", endpoint_url=moto_reset.endpoint_url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    yield server, shipper, logs
    server.shutdown()
    server.server_close()


def get(server, path="/index.html"):
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
    connection.request("GET", path, headers={"Host": "acme.localhost"})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


def test_each_invocations_lines_reach_the_edge_log_group_in_the_region_it_ran(shipped):
    server, shipper, logs = shipped
    assert get(server) == 200
    assert get(server) == 200
    assert shipper.flush()
    group = "/aws/lambda/us-east-1.gatehouse-edge-test"
    (stream,) = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert stream["logStreamName"].endswith("[1]" + shipper.instance)
    messages = [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
    assert len(messages) == 10
    assert messages[0].startswith("START RequestId: ") and messages[3].startswith("END RequestId: ")
    assert messages[4].startswith("REPORT RequestId: ")
    assert json.loads(messages[1]) == {"gatehouse": "signed_in", "visit": 1, "site": "acme"}
    # Nothing in us-east-1: the copy "ran" in eu-west-2.
    home = boto3.client("logs", endpoint_url=logs.meta.endpoint_url, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
    assert home.describe_log_groups(logGroupNamePrefix=group)["logGroups"] == []


def test_a_logs_outage_loses_lines_but_not_the_request(tmp_path, capsys):
    root = tmp_path / "origin"
    root.mkdir()
    (root / "index.html").write_text("hi")
    client = log_shipping.LogsClient(region=REGION, endpoint_url="http://127.0.0.1:9", credentials=Credentials("t", "t"), timeout=1)
    shipper = log_shipping.Shipper(client, function_name="f")
    server = make_server(0, writes_a_visit, origin=DirOrigin(str(root), DIST), log_shipper=shipper)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert get(server) == 200
        assert shipper.flush()
    finally:
        server.shutdown()
        server.server_close()
    assert "log_shipping_failed" in capsys.readouterr().err
