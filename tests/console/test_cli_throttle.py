"""The CLI waits out the console's 429 as Retry-After says, within a budget, instead of failing the deploy.

Before, a 200-file deploy stopped at the token's rate (GATEHOUSE_API_RATE,
600/min by default) with "Request was throttled" and exit 4.
"""

import httpx
import pytest

from gatehouse_cli.client import INVALID, Api, Failure


def api_answering(answers, *, throttle_wait=300.0):
    """An Api whose console answers each request with the next of `answers` (status, headers); sleeps are recorded."""
    sent, slept = [], []
    queue = list(answers)

    def handler(request):
        sent.append((request.method, request.url.path))
        status, headers = queue.pop(0)
        body = {"error": {"code": "throttled", "message": "Request was throttled."}} if status == 429 else {"ok": True}
        return httpx.Response(status, json=body, headers=headers)

    api = Api("https://console.example", "gh_1_secret", transport=httpx.MockTransport(handler),
              throttle_wait=throttle_wait, sleep=slept.append)
    return api, sent, slept


def test_a_throttled_upload_is_sent_again_after_retry_after():
    api, sent, slept = api_answering([(429, {"Retry-After": "3"}), (429, {"Retry-After": "2"}), (200, {})])
    api.put_bytes("https://console.example/api/v1/uploads/1/files/x", b"data")
    assert slept == [3.0, 2.0]
    assert sent == [("PUT", "/api/v1/uploads/1/files/x")] * 3


def test_the_wait_is_bounded_and_then_it_fails_as_before():
    api, sent, slept = api_answering([(429, {"Retry-After": "40"}), (429, {"Retry-After": "40"})], throttle_wait=60)
    with pytest.raises(Failure) as failed:
        api.get("sites/")
    assert slept == [40.0]  # the second wait would pass the budget
    assert (failed.value.status, failed.value.code, failed.value.exit_code) == (429, "throttled", INVALID)


@pytest.mark.parametrize("header", [{}, {"Retry-After": "soon"}, {"Retry-After": "-1"}, {"Retry-After": "86400"}])
def test_a_429_without_a_usable_retry_after_is_not_waited_on(header):
    api, sent, slept = api_answering([(429, header)])
    with pytest.raises(Failure):
        api.post("deploys/")
    assert slept == [] and len(sent) == 1


def test_other_refusals_are_not_retried():
    api, sent, slept = api_answering([(503, {"Retry-After": "1"})])
    with pytest.raises(Failure):
        api.get("sites/")
    assert slept == [] and len(sent) == 1
