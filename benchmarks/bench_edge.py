"""Edge runtime benchmark: prints medians measured on this machine.

    python benchmarks/bench_edge.py

Figures (targets from the edge runtime issue):
- handler time per request, valid session, cached config (<= 25 us), against
  a no-op handler in the same run (the floor: event access + call overhead);
- id_token verification in the callback, RS256 2048-bit (<= 400 us) and ES256
  (<= 5 ms), signature and every claim check;
- cold import of the handler module in a fresh interpreter (<= 20 ms), and of
  everything a first sign-in needs;
- the deployment zip's size (<= 64 KB).
"""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jwt  # noqa: E402  (benchmark only: signs the tokens to verify)
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402

from edge_runtime import config, handler, oidc, tokens  # noqa: E402


def median_us(fn, *, number, repeat=15):
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(samples)


def site_doc(provider_keys, algs):
    return {
        "schema_version": 1,
        "site": {
            "id": "bench",
            "hosts": ["demo.example.com"],
            "distribution_id": "EDFDVBD6EXAMPLE",
            "disabled": False,
            "build": {"id": "b1", "prefix": "builds/b1"},
            "spa": True,
        },
        "provider": {
            "issuer": "https://idp.example.com/",
            "authorization_endpoint": "https://idp.example.com/authorize",
            "token_endpoint": "https://idp.example.com/token",
            "userinfo_endpoint": None,
            "end_session_endpoint": None,
            "jwks_uri": None,
            "client_id": "client-1",
            "client_secret": "secret",
            "token_endpoint_auth_method": "client_secret_basic",
            "scopes": ["openid", "email"],
            "authorize_params": {},
            "jwks": {"keys": provider_keys},
            "id_token_algs": algs,
            "tenant_id": None,
        },
        "session": {"lifetime_seconds": 3600, "current_kid": "k1", "keys": {"k1": "A" * 43}},
        "access": {
            "allow_any_user": False,
            "emails": ["ann@client.example"],
            "email_domains": ["consultancy.example"],
            "groups_claim": "groups",
            "groups": ["viewers"],
            "not_before": None,
            "not_after": "2099-01-01T00:00:00Z",
        },
        "paths": {"public": ["/favicon.ico"], "callback": "/_gatehouse/callback", "sign_out": "/_gatehouse/sign-out"},
        "headers": {"x-frame-options": "DENY"},
    }


class Store:
    def __init__(self, cfg):
        self.cfg = cfg

    def get(self, host):
        return self.cfg


class Context:
    def get_remaining_time_in_millis(self):
        return 5000


def event(cookie):
    return {
        "Records": [
            {
                "cf": {
                    "config": {"distributionId": "EDFDVBD6EXAMPLE", "eventType": "viewer-request"},
                    "request": {
                        "clientIp": "203.0.113.178",
                        "method": "GET",
                        "uri": "/customers/42",
                        "querystring": "",
                        "headers": {
                            "host": [{"key": "Host", "value": "demo.example.com"}],
                            "accept": [{"key": "Accept", "value": "text/html"}],
                            "user-agent": [{"key": "User-Agent", "value": "Mozilla/5.0"}],
                            "cookie": [{"key": "Cookie", "value": f"theme=dark; {cookie}; _ga=GA1.2.3"}],
                        },
                    },
                }
            }
        ]
    }


STDLIB_FLOOR = "import base64, hashlib, hmac, json, os, re, sys, time"


def import_ms(statements, runs=21):
    """Median import time of each statement in a fresh interpreter.

    The statements take turns, so a busy moment on the machine falls on all
    of them alike.
    """
    # Lambda runs the byte-compiled files the build ships; any value of
    # PYTHONDONTWRITEBYTECODE (even "0") would make every run compile again.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", "edge_runtime"], cwd=ROOT, env=env, check=True)
    samples = {statement: [] for statement in statements}
    for _ in range(runs):
        for statement in statements:
            code = f"import time; t = time.perf_counter(); {statement}; print((time.perf_counter() - t) * 1000)"
            out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
            samples[statement].append(float(out.stdout))
    return {statement: statistics.median(values) for statement, values in samples.items()}


def main():
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    algorithms = jwt.algorithms.get_default_algorithms()
    keys = []
    for kid, alg, key in (("r1", "RS256", rsa_key), ("e1", "ES256", ec_key)):
        jwk = json.loads(algorithms[alg].to_jwk(key.public_key()))
        jwk.update(kid=kid, alg=alg)
        keys.append(jwk)
    cfg = config.parse(site_doc(keys, ["RS256", "ES256"]))
    now = int(time.time())
    session = tokens.sign(
        cfg,
        tokens.SESSION,
        {"sub": "u1", "email": "ann@client.example", "email_verified": True, "site": "bench", "iat": now, "exp": now + 3600},
    )
    handler._store = Store(cfg)
    ctx = Context()
    cookie = f"{handler.SESSION_COOKIE}={session}"

    def valid_session():
        return handler.handler(event(cookie), ctx)

    result = valid_session()
    assert result.get("uri") == "/builds/b1/index.html", result

    def noop_handler(evt, context):
        return evt["Records"][0]["cf"]["request"]

    def floor():
        return noop_handler(event(cookie), ctx)

    claims = {"iss": cfg.issuer, "aud": "client-1", "sub": "u1", "iat": now, "exp": now + 300, "nonce": "n-1"}
    rs_token = jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "r1"})
    es_token = jwt.encode(claims, ec_key, algorithm="ES256", headers={"kid": "e1"})
    deadline = oidc.Deadline(ctx)
    oidc.verify_id_token(cfg, rs_token, "n-1", now, deadline)

    figures = {
        "no-op handler (floor), per request": (median_us(floor, number=20000), "us", None),
        "handler, valid session, cached config": (median_us(valid_session, number=20000), "us", 25),
        "id_token verify RS256-2048 (signature + claims)": (
            median_us(lambda: oidc.verify_id_token(cfg, rs_token, "n-1", now, deadline), number=300),
            "us",
            400,
        ),
        "id_token verify ES256 (signature + claims)": (
            median_us(lambda: oidc.verify_id_token(cfg, es_token, "n-1", now, deadline), number=20, repeat=11) / 1000,
            "ms",
            5,
        ),
    }
    sign_in = (
        "import edge_runtime.handler, edge_runtime.oidc, edge_runtime.jws, "
        "edge_runtime.store, edge_runtime.settings, edge_runtime.sigv4"
    )
    imports = import_ms([STDLIB_FLOOR, "import edge_runtime.handler", sign_in])
    figures["cold import: stdlib the handler needs (baseline)"] = (imports[STDLIB_FLOOR], "ms", None)
    figures["cold import edge_runtime.handler"] = (imports["import edge_runtime.handler"], "ms", 20)
    figures["cold import, everything a sign-in needs"] = (imports[sign_in], "ms", None)
    from edge_runtime import build

    zip_settings = {
        "config_bucket": "gatehouse-config",
        "config_prefix": "sites/",
        "config_region": "us-east-1",
        "endpoint_url": None,
        "cache_ttl_seconds": 60,
        "stale_ttl_seconds": 3600,
        "missing_ttl_seconds": 15,
        "fetch_timeout_seconds": 1.0,
        "public_origin": None,
    }
    figures["deployment zip"] = (len(build.build_zip(settings=zip_settings)) / 1024, "KB", 64)

    print(f"{'figure':50} {'median':>10}  target")
    for name, (value, unit, target) in figures.items():
        verdict = "" if target is None else (f"<= {target} {unit}  " + ("ok" if value <= target else "MISSED"))
        print(f"{name:50} {value:8.2f} {unit}  {verdict}")
    floor_us = figures["no-op handler (floor), per request"][0]
    print(f"{'handler above the floor':50} {figures['handler, valid session, cached config'][0] - floor_us:8.2f} us")
    own = imports["import edge_runtime.handler"] - imports[STDLIB_FLOOR]
    print(f"{'handler import above the stdlib baseline':50} {own:8.2f} ms")


if __name__ == "__main__":
    main()
