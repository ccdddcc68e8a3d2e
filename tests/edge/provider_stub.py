"""A scripted token/userinfo/JWKS endpoint for the handler's unit tests.

Unit tests need to make the provider misbehave on purpose (wrong `iss`,
another `sub` in userinfo, a rotated key): a script does that precisely. The
end-to-end tests use the real OpenID Connect provider (devidp) instead.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa


_KEYS = {}


def _keys():
    # RSA key generation costs about half a second; one set serves every test.
    if not _KEYS:
        _KEYS.update(
            rsa=rsa.generate_private_key(public_exponent=65537, key_size=2048),
            ec=ec.generate_private_key(ec.SECP256R1()),
            rotated=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        )
    return _KEYS


class ProviderStub:
    def __init__(self):
        keys = _keys()
        self.rsa_key, self.ec_key, self.rotated_key = keys["rsa"], keys["ec"], keys["rotated"]
        self.published = {"keys": [self._jwk(self.rsa_key, "rsa1", "RS256"), self._jwk(self.ec_key, "ec1", "ES256")]}
        self.token_requests = []
        self.userinfo_requests = []
        self.jwks_requests = 0
        self.id_token_claims = {}
        self.id_token_key = ("rsa1", "RS256")
        self.userinfo = None
        self.token_status = 200
        self.token_body = None
        self.delay = 0.0
        self.nonce = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.issuer = self.base
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()

    @staticmethod
    def _jwk(key, kid, alg):
        public = key.public_key()
        jwk = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(public))
        jwk.update(kid=kid, use="sig", alg=alg)
        return jwk

    def publish_rotated_key(self):
        self.published["keys"].append(self._jwk(self.rotated_key, "rsa2", "RS256"))

    def provider_section(self, **overrides):
        section = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.base}/authorize",
            "token_endpoint": f"{self.base}/token",
            "userinfo_endpoint": f"{self.base}/userinfo",
            "end_session_endpoint": f"{self.base}/logout",
            "jwks_uri": f"{self.base}/jwks",
            "client_id": "client-1",
            "client_secret": "s3cret:with/odd&chars-long-enough-for-hs256",
            "token_endpoint_auth_method": "client_secret_basic",
            "scopes": ["openid", "email", "profile"],
            "authorize_params": {},
            "jwks": {"keys": [dict(k) for k in self.published["keys"]]},
            "id_token_algs": ["RS256", "ES256"],
            "tenant_id": None,
        }
        section.update(overrides)
        return section

    def make_id_token(self, nonce, **claims):
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": "client-1",
            "sub": "user-1",
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "email": "ann@client.example",
            "email_verified": True,
        }
        payload.update(self.id_token_claims)
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not ...}
        kid, alg = self.id_token_key
        key = {"rsa1": self.rsa_key, "ec1": self.ec_key, "rsa2": self.rotated_key}.get(kid, self.rsa_key)
        if alg == "HS256":
            key = "s3cret:with/odd&chars-long-enough-for-hs256"
        return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                stub.token_requests.append({"form": form, "authorization": self.headers.get("Authorization")})
                if stub.delay:
                    time.sleep(stub.delay)
                if stub.token_body is not None:
                    return self._send(stub.token_status, stub.token_body)
                nonce = stub.nonce or form.get("code", "").partition(":")[2]
                self._send(
                    stub.token_status,
                    {"id_token": stub.make_id_token(nonce), "access_token": "at-1", "token_type": "Bearer"},
                )

            def do_GET(self):
                if self.path.startswith("/jwks"):
                    stub.jwks_requests += 1
                    return self._send(200, stub.published)
                if self.path.startswith("/userinfo"):
                    stub.userinfo_requests.append(self.headers.get("Authorization"))
                    return self._send(200, stub.userinfo or {"sub": "user-1"})
                self._send(404, {})

        return Handler
