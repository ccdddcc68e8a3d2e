"""Edge runtime benchmark: each figure against a baseline measured in the same run.

    python benchmarks/bench_edge.py

Figures, bounds (from the edge runtime issues) and baselines:
- handler time per request, valid session, cached config: at most 5x a
  no-op handler measured in turns with it (the floor: building the event and
  calling a function);
- the same request on a path with the identity assertion (schema 3), the
  assertion minted at sign-in and kept in the session: at most 5x the same
  no-op floor, and reported against the valid-session figure of the same
  turns (bound 1.5x); minting one assertion (ES256, once per sign-in, then
  once per lifetime per session and container) is reported in ms (<= 20 ms);
- the same request with a share link's session, against the valid-session
  figure of the same turns (bound 1.5x);
- id_token verification in the callback, RS256 2048-bit (<= 400 us) and ES256
  (<= 5 ms), signature and every claim check;
- cold import of the handler from the zip the console publishes
  (``sites.services.provisioning.edge_zip``, built for its
  ``GATEHOUSE_EDGE_RUNTIME``), unpacked read-only like ``/var/task`` and
  timed with a CPython of that runtime's version: at most 1.2x the standard
  library modules the handler needs, timed in turns with it; also everything
  a sign-in needs, and the handler from a sources-only and a byte-code-only
  zip of the same release, against the same floor;
- the published zip (sources + byte-code) against the issue's 64 KB bound,
  beside what a sources-only and a byte-code-only zip of the same release
  would weigh (Lambda@Edge allows 1 MB; docs/provisioning.md, "Byte-code for
  the function's runtime", says why the published zip keeps both and so
  misses 64 KB).

Times are CPU time (``time.thread_time`` here, ``time.process_time`` in the
import children), so other processes on a busy machine do not inflate one
side of a ratio. The earlier absolute bounds (25 us, 20 ms) gave way to the
ratios: they depend on the machine and, for imports, on the Python version.
"""

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jwt  # noqa: E402  (benchmark only: signs the tokens to verify)
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402

from edge_runtime import config, handler, oidc, tokens  # noqa: E402


def median_us(fn, *, number, repeat=15):
    """Median per-call time of ``fn`` in microseconds (this thread's CPU time)."""
    return paired_us({"fn": fn}, number=number, repeat=repeat)[0]["fn"]


def turns(samples):
    """(median of each, median over the turns of each one's ratio to the first, the baseline).

    A ratio is taken within a turn, where the figure and its baseline ran
    back to back under the same load.
    """
    baseline = next(iter(samples.values()))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    ratios = {name: statistics.median(v / b for v, b in zip(values, baseline)) for name, values in samples.items()}
    return medians, ratios


def paired_us(fns, *, number, repeat=15):
    """Per-call microseconds of each function, measured in turns; the first is the baseline."""
    samples = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.thread_time()
            for _ in range(number):
                fn()
            samples[name].append((time.thread_time() - start) / number * 1e6)
    return turns(samples)


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


def event(cookie, uri="/customers/42"):
    return {
        "Records": [
            {
                "cf": {
                    "config": {"distributionId": "EDFDVBD6EXAMPLE", "eventType": "viewer-request"},
                    "request": {
                        "clientIp": "203.0.113.178",
                        "method": "GET",
                        "uri": uri,
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


def published_zip():
    """The zip the console publishes, from the console's own code: (bytes, runtime, build interpreter)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
    from django.conf import settings

    from sites.services.provisioning import edge_zip

    data, _, _ = edge_zip()
    return data, settings.GATEHOUSE_EDGE_RUNTIME, settings.GATEHOUSE_EDGE_BUILD_PYTHON or None


def import_ms(executable, runs, turns_of=31):
    """Import time of each ``{label: (folder, statement)}`` in a fresh ``executable`` run in that
    folder; the first is the baseline.

    They take turns, so a busy moment on the machine falls on all of them
    alike. ``/var/task`` is read-only: nothing may write a .pyc there, so a
    zip without byte-code compiles at every cold start, here too.
    """
    env = {"PYTHONDONTWRITEBYTECODE": "1", "PATH": os.defpath, "LC_ALL": "C.UTF-8"}
    samples = {label: [] for label in runs}
    for _ in range(turns_of):
        for label, (folder, statement) in runs.items():
            code = f"import time; t = time.process_time(); {statement}; print((time.process_time() - t) * 1000)"
            out = subprocess.run([executable, "-s", "-c", code], cwd=folder, env=env, capture_output=True, text=True, check=True)
            samples[label].append(float(out.stdout))
    return turns(samples)


def sources_zip(data):
    """A zip holding only the entries of ``data`` that are not byte-code (same compression)."""
    from edge_runtime import build

    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for info in source.infolist():
            if not info.filename.endswith(".pyc"):
                out.writestr(info, source.read(info), compress_type=zipfile.ZIP_DEFLATED, compresslevel=build.COMPRESS_LEVEL)
    return buffer.getvalue()


def bytecode_only_zip(data):
    """The zip a sourceless release would be: each .pyc as ``edge_runtime/<module>.pyc``
    (where CPython imports it when no .py is present), the settings file, no sources."""
    from edge_runtime import build

    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for info in source.infolist():
            name = info.filename
            if name.endswith(".py"):
                continue
            if name.endswith(".pyc"):
                folder, _, file = name.rpartition("/__pycache__/")
                name = f"{folder}/{file.split('.', 1)[0]}.pyc"
            out.writestr(name, source.read(info), compress_type=zipfile.ZIP_DEFLATED, compresslevel=build.COMPRESS_LEVEL)
    return buffer.getvalue()


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

    from edge_runtime import assertion

    assertion_doc = site_doc(keys, ["RS256", "ES256"])
    assertion_doc.update(
        schema_version=3,
        identity_assertion={
            "path_prefixes": ["/api/"], "lifetime_seconds": 300, "kid": "ia1",
            "signing_key": "3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE",
        },
    )
    assertion_cfg = config.parse(assertion_doc)
    assertion_claims = {"sub": "u1", "email": "ann@client.example", "email_verified": True, "site": "bench", "iat": now, "exp": now + 3600}
    assertion_claims.update(assertion.session_fields(assertion_cfg, assertion_claims, now))
    assertion_cookie = f"{handler.SESSION_COOKIE}={tokens.sign(assertion_cfg, tokens.SESSION, assertion_claims)}"
    assertion_store = Store(assertion_cfg)
    plain_store = handler._store

    def valid_session_plain():
        handler._store = plain_store
        return handler.handler(event(cookie), ctx)

    def with_assertion():
        handler._store = assertion_store
        return handler.handler(event(assertion_cookie, "/api/orders"), ctx)

    forwarded = with_assertion()
    assert forwarded["headers"][handler.ASSERTION_HEADER][0]["value"] == assertion_claims["ia"], forwarded
    handler._store = plain_store

    # A share link's session (docs/share-links.md): the same request, the session minted from a link.
    from edge_runtime import sharelinks

    link_doc = site_doc(keys, ["RS256", "ES256"])
    link_doc.update(
        schema_version=3,
        share_links=[{"id": "bm12DecAb3_-", "verifier": tokens._b64(sharelinks.verifier_of("A" * 43)), "expires_at": "2099-01-01T00:00:00Z"}],
    )
    link_cfg = config.parse(link_doc)
    link_claims = sharelinks.session_claims(link_cfg, "bm12DecAb3_-", now + 7200, now)
    link_cookie = f"{handler.SESSION_COOKIE}={tokens.sign(link_cfg, tokens.SESSION, link_claims)}"
    link_store = Store(link_cfg)

    def link_session():
        handler._store = link_store
        return handler.handler(event(link_cookie), ctx)

    assert link_session().get("uri") == "/builds/b1/index.html"
    handler._store = plain_store

    claims = {"iss": cfg.issuer, "aud": "client-1", "sub": "u1", "iat": now, "exp": now + 300, "nonce": "n-1"}
    rs_token = jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "r1"})
    es_token = jwt.encode(claims, ec_key, algorithm="ES256", headers={"kid": "e1"})
    deadline = oidc.Deadline(ctx)
    oidc.verify_id_token(cfg, rs_token, "n-1", now, deadline)

    # (name, median, unit, baseline name, baseline median, ratio, ratio bound, absolute bound)
    rows = []
    per_request, per_request_ratio = paired_us({"floor": floor, "valid": valid_session}, number=5000, repeat=21)
    rows.append(
        ("handler, valid session, cached config", per_request["valid"], "us", "no-op handler", per_request["floor"],
         per_request_ratio["valid"], 5, None)
    )  # fmt: skip
    three, three_ratio = paired_us(
        {"floor": floor, "valid": valid_session_plain, "assertion": with_assertion}, number=5000, repeat=21
    )
    rows.append(
        ("handler, valid session + identity assertion", three["assertion"], "us", "no-op handler", three["floor"],
         three_ratio["assertion"], 5, None)
    )  # fmt: skip
    versus_valid, versus_ratio = paired_us({"valid": valid_session_plain, "assertion": with_assertion}, number=5000, repeat=21)
    rows.append(
        ("  the same, against the valid session", versus_valid["assertion"], "us", "valid session", versus_valid["valid"],
         versus_ratio["assertion"], 1.5, None)
    )  # fmt: skip
    versus_link, versus_link_ratio = paired_us({"valid": valid_session_plain, "link": link_session}, number=5000, repeat=21)
    rows.append(
        ("handler, share-link session, against valid", versus_link["link"], "us", "valid session",
         versus_link["valid"], versus_link_ratio["link"], 1.5, None)
    )  # fmt: skip
    handler._store = plain_store
    mint_ms = median_us(lambda: assertion.mint(assertion_cfg, assertion_claims, now), number=20, repeat=11) / 1000
    rows.append(("identity assertion mint (ES256, at sign-in)", mint_ms, "ms", None, None, None, None, 20))
    rs_us = median_us(lambda: oidc.verify_id_token(cfg, rs_token, "n-1", now, deadline), number=300)
    rows.append(("id_token verify RS256-2048 (signature + claims)", rs_us, "us", None, None, None, None, 400))
    es_ms = median_us(lambda: oidc.verify_id_token(cfg, es_token, "n-1", now, deadline), number=20, repeat=11) / 1000
    rows.append(("id_token verify ES256 (signature + claims)", es_ms, "ms", None, None, None, None, 5))

    from edge_runtime import build

    data, runtime, interpreter = published_zip()
    target = build.target_python(runtime)
    tags = build.bytecode_tags(data)
    executable = build.find_interpreter(target, interpreter)
    timed_with = executable or sys.executable
    sign_in = (
        "import edge_runtime.handler, edge_runtime.oidc, edge_runtime.jws, "
        "edge_runtime.store, edge_runtime.settings, edge_runtime.sigv4"
    )
    handler_import = "import edge_runtime.handler"
    variants = {"published": data, "sources only": sources_zip(data)}
    if tags:
        variants["byte-code only"] = bytecode_only_zip(data)
    with tempfile.TemporaryDirectory(prefix="gatehouse-bench-task-") as root:
        folders = {}
        for label, variant in variants.items():
            folders[label] = os.path.join(root, label.replace(" ", "-"))
            zipfile.ZipFile(io.BytesIO(variant)).extractall(folders[label])
        task = folders["published"]
        runs = {"floor": (task, STDLIB_FLOOR), "handler": (task, handler_import), "sign-in": (task, sign_in)}
        runs.update({label: (folders[label], handler_import) for label in variants if label != "published"})
        imports, import_ratio = import_ms(timed_with, runs)
    floor_ms = imports["floor"]
    rows.append(
        ("cold import edge_runtime.handler", imports["handler"], "ms", "stdlib it needs", floor_ms,
         import_ratio["handler"], 1.2, None)
    )  # fmt: skip
    rows.append(
        ("cold import, everything a sign-in needs", imports["sign-in"], "ms", "stdlib it needs", floor_ms,
         import_ratio["sign-in"], None, None)
    )  # fmt: skip
    published = "zip as published (sources + byte-code)" if tags else "zip as published (sources only)"
    rows.append((published, len(data) / 1024, "KB", None, None, None, None, 64))
    for label in variants:
        if label != "published":
            rows.append((f"  the same release, {label}: zip", len(variants[label]) / 1024, "KB", None, None, None, None, None))
            rows.append(
                (f"  the same release, {label}: cold import", imports[label], "ms", "stdlib it needs", floor_ms,
                 import_ratio[label], None, None)
            )  # fmt: skip

    print(f"benchmark process: Python {sys.version.split()[0]}; medians of CPU time; each ratio is the median of")
    print("the ratios within turns in which the figure and its same-run baseline ran back to back")
    print(f"published zip: {len(data)} bytes for {runtime}, byte-code: {', '.join(tags) or 'none (sources only)'}")
    probe = subprocess.run([timed_with, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True)
    note = "" if executable else f"  (no CPython {target} here: NOT the function's runtime)"
    print(f"cold imports timed with: {timed_with} (Python {probe.stdout.strip()}){note}")
    print()
    print(f"{'figure':48} {'median':>11}   {'same-run baseline':>28} {'ratio':>7}   {'bound':<10} verdict")
    missed = 0
    for name, value, unit, base_name, base, ratio, ratio_bound, bound in rows:
        baseline = f"{base_name} {base:8.2f} {unit}" if base is not None else ""
        limits, ok = [], True
        if ratio_bound is not None:
            limits.append(f"<= {ratio_bound}x")
            ok = ok and ratio <= ratio_bound
        if bound is not None:
            limits.append(f"<= {bound} {unit}")
            ok = ok and value <= bound
        verdict = ("ok" if ok else "MISSED") if limits else ""
        missed += verdict == "MISSED"
        ratio_text = f"{ratio:6.2f}x" if ratio is not None else ""
        print(f"{name:48} {value:8.2f} {unit:2}   {baseline:>28} {ratio_text:>7}   {', '.join(limits):<10} {verdict}")
    if not tags:
        print(f"\nThe published zip carries no byte-code for {runtime}: every cold start compiles the sources.")
    print(f"\n{missed} bound(s) missed" if missed else "\nevery bound held")


if __name__ == "__main__":
    main()
