"""The backend example in docs/email-code.md runs as written: PyJWT's
PyJWKClient fetches the key set the edge answers at /_gatehouse/jwks.json
(served here from loopback) and verifies an assertion the edge minted; a
tampered one, one for another site and an expired one are refused."""

import http.server
import re
import threading
import time
from pathlib import Path

import jwt
import pytest

from edge_runtime import assertion, handler
from tests.edge.test_assertion import cfg  # noqa: F401
from tests.edge.test_handler import Context, event

DOC = Path(__file__).resolve().parents[2] / "docs" / "email-code.md"


def doc_example() -> str:
    text = DOC.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 1, "docs/email-code.md should hold one Python example"
    return blocks[0]


@pytest.fixture
def jwks_url(cfg):  # noqa: F811
    # The edge's own answer for the key set, as a backend would fetch it.
    answer = handler.handler(event("/_gatehouse/jwks.json", navigate=False), Context())
    assert answer["status"] == "200"
    body = answer["body"].encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/_gatehouse/jwks.json"
    server.shutdown()


def example(url, site_id):
    source = doc_example().replace("https://demo.acme.com/_gatehouse/jwks.json", url)
    source = source.replace('SITE_ID = "acme-q3"', f"SITE_ID = {site_id!r}")
    namespace = {}
    exec(compile(source, str(DOC), "exec"), namespace)
    return namespace["viewer"]


def test_the_documented_verifier_accepts_the_edges_assertion(cfg, jwks_url):  # noqa: F811
    viewer = example(jwks_url, cfg.site_id)
    token, _ = assertion.mint(cfg, {"sub": "email:ann@client.example", "email": "ann@client.example", "via": "email_code"}, time.time())
    claims = viewer({"x-gatehouse-assertion": token})
    assert claims["sub"] == "email:ann@client.example" and claims["via"] == "email_code"
    assert claims["iss"] == "gatehouse" and claims["aud"] == cfg.site_id


def test_the_documented_verifier_refuses_a_tampered_one_another_sites_and_an_expired_one(cfg, jwks_url):  # noqa: F811
    token, _ = assertion.mint(cfg, {"sub": "u1"}, time.time())
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    with pytest.raises(jwt.InvalidTokenError):
        example(jwks_url, cfg.site_id)({"x-gatehouse-assertion": tampered})
    with pytest.raises(jwt.InvalidAudienceError):
        example(jwks_url, "another-site")({"x-gatehouse-assertion": token})
    old, _ = assertion.mint(cfg, {"sub": "u1"}, time.time() - 3 * 3600)
    with pytest.raises(jwt.ExpiredSignatureError):
        example(jwks_url, cfg.site_id)({"x-gatehouse-assertion": old})
