"""E-mail code sign-in: "send code" to the message being in SES, against one SES call.

    python benchmarks/bench_email_code.py [--rounds 25]

Everything runs on loopback: moto's server (SES v2, S3) on a free port and
the local gateway (`python -m edge_runtime.gateway`) running the edge
handler in front of an e-mail-code site whose config is in moto's S3.

Figures, in turns so both sides see the same load (wall-clock time: this is
network and process time, not CPU):
- send code: the viewer's POST /_gatehouse/sign-in (address + transaction,
  the transaction cookie from a GET of the page made beforehand, not timed)
  until the message is listed in moto's sent messages;
- baseline: one direct SES v2 SendEmail call to moto (the edge's own signed
  request, `edge_runtime.ses.send`) until that message is listed.

Both sides end with the same read of `/moto-api/data.json`, so the ratio is
what the edge adds to one SES call: the gateway hop, the handler (config
from its cache, the transaction cookie, the checks, the page) and the
address padding it never applies to an allowed address. Each round uses a
new address so the per-address limit (5 an hour per container) is never hit.
Also shown: boto3's `send_email`, for scale.
"""

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402

from edge_runtime import ses, sigv4  # noqa: E402
from tests.edge.factories import config_doc  # noqa: E402

REGION = "eu-west-1"
SENDER = "sign-in@bench.example"
HOST = "bench-mail.localhost"
DIST = "EBENCHMAIL"
BUCKET = "gatehouse-config-bench-mail"
FAKE = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not start")


def sent_count(endpoint):
    with urllib.request.urlopen(endpoint + "/moto-api/data.json", timeout=10) as response:
        return len((json.load(response).get("ses") or {}).get("Message") or [])


def until_listed(endpoint, before):
    while sent_count(endpoint) <= before:
        time.sleep(0.001)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args()
    env = dict(os.environ, **FAKE)
    work = Path(tempfile.mkdtemp(prefix="bench-mail-"))
    moto_port = free_port()
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gateway = None
    try:
        wait_listening(moto_port, moto, "moto.server")
        endpoint = f"http://127.0.0.1:{moto_port}"
        clients = dict(endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing")
        sesv2 = boto3.client("sesv2", region_name=REGION, **clients)
        sesv2.create_email_identity(EmailIdentity=SENDER)
        s3 = boto3.client("s3", region_name="us-east-1", **clients)
        s3.create_bucket(Bucket=BUCKET)
        doc = config_doc(
            site={"id": "bench-mail", "hosts": [HOST], "distribution_id": DIST, "build": None, "spa": True},
            provider=None, signin_methods=["email_code"],
            email_code={"sender": SENDER, "region": REGION, "code_lifetime_seconds": 600,
                        "max_sends_per_transaction": 3, "max_sends_per_address": 5},
            access={"emails": [], "email_domains": ["client.example"], "allow_any_user": False},
        )
        s3.put_object(Bucket=BUCKET, Key=f"sites/{HOST}.json", Body=json.dumps(doc).encode())
        port = free_port()
        settings = work / "edge_settings.json"
        settings.write_text(json.dumps({
            "config_bucket": BUCKET, "config_prefix": "sites/", "config_region": "us-east-1", "endpoint_url": endpoint,
            "cache_ttl_seconds": 60, "stale_ttl_seconds": 600, "missing_ttl_seconds": 1, "fetch_timeout_seconds": 2,
            "public_origin": {"scheme": "http", "port": port},
        }))
        (work / "origin").mkdir()
        gateway = subprocess.Popen(
            [sys.executable, "-m", "edge_runtime.gateway", "--port", str(port), "--origin-dir", str(work / "origin"),
             "--distribution-id", DIST],
            cwd=ROOT, env=dict(env, GATEHOUSE_EDGE_SETTINGS=str(settings)),
            stdout=open(work / "gateway.log", "wb"), stderr=subprocess.STDOUT,
        )
        wait_listening(port, gateway, "the gateway")

        def begin():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/_gatehouse/sign-in?r=%2F", headers={"Host": f"{HOST}:{port}", "Accept": "text/html"})
            response = conn.getresponse()
            body = response.read().decode()
            cookie = next(v.split(";", 1)[0] for k, v in response.getheaders() if k.lower() == "set-cookie")
            conn.close()
            return cookie, re.search(r'name="t" value="([^"]+)"', body).group(1)

        def send_code(n):
            cookie, tid = begin()
            form = urlencode({"t": tid, "address": f"bench{n}@client.example"}).encode()
            before = sent_count(endpoint)
            start = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST", "/_gatehouse/sign-in", body=form, headers={
                "Host": f"{HOST}:{port}", "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded",
            })
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status != 200:
                raise SystemExit(f"send code answered {response.status}; see {work / 'gateway.log'}")
            until_listed(endpoint, before)
            return (time.perf_counter() - start) * 1000

        creds = sigv4.Credentials("testing", "testing")

        def direct(n):
            body = ses.message_body(sender=SENDER, to=f"direct{n}@client.example", subject="Your sign-in code",
                                    text="code ABCD-EFGH", html="<p>ABCD-EFGH</p>")
            before = sent_count(endpoint)
            start = time.perf_counter()
            ses.send(region=REGION, body=body, endpoint_url=endpoint, credentials=creds)
            until_listed(endpoint, before)
            return (time.perf_counter() - start) * 1000

        def boto(n):
            before = sent_count(endpoint)
            start = time.perf_counter()
            sesv2.send_email(
                FromEmailAddress=SENDER, Destination={"ToAddresses": [f"boto{n}@client.example"]},
                Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}, "Html": {"Data": "h"}}}},
            )
            until_listed(endpoint, before)
            return (time.perf_counter() - start) * 1000

        # Warm up: the gateway's first request reads the config from S3.
        send_code(-1), direct(-1), boto(-1)
        samples = {"direct": [], "send": [], "boto": []}
        for n in range(args.rounds):
            samples["direct"].append(direct(n))
            samples["send"].append(send_code(n))
            samples["boto"].append(boto(n))
        medians = {k: statistics.median(v) for k, v in samples.items()}
        ratio = statistics.median(s / d for s, d in zip(samples["send"], samples["direct"]))
        print(f"e-mail code, {args.rounds} rounds in turns (wall clock, loopback moto):")
        print(f"  baseline: one SES SendEmail to moto (edge_runtime.ses.send) until listed: {medians['direct']:7.2f} ms")
        print(f"  send code: POST /_gatehouse/sign-in through the gateway until listed:  {medians['send']:7.2f} ms"
              f"  ({ratio:.2f}x the baseline, median of per-round ratios)")
        print(f"  for scale: boto3 sesv2.send_email until listed:                        {medians['boto']:7.2f} ms")
    finally:
        if gateway is not None:
            gateway.terminate()
            gateway.wait(10)
        moto.terminate()
        moto.wait(10)


if __name__ == "__main__":
    main()
