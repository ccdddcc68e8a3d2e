"""python -m devidp --port 9000 [--host 127.0.0.1] [--data-dir DIR] [--issuer-host localhost]

Prepares its data dir (SQLite database, signing key), creates the tables, seeds the
users and clients, prints the issuer and discovery URL, then serves on a
threaded WSGI server until killed.
"""

import argparse
import os
import re
import sys
import time
from pathlib import Path

# Before Django is imported: this process is devidp, whatever the shell exported
# for the console.
os.environ["DJANGO_SETTINGS_MODULE"] = "devidp.settings"

from devidp import personas  # noqa: E402
from devidp.bootstrap import DEFAULT_DATA_DIR, ensure_data_dir  # noqa: E402

_QUERY = re.compile(r"\?[^\s\"]*")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m devidp", description="Development OpenID Connect provider.")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="database and keys (default var/devidp in the repository)",
    )
    parser.add_argument(
        "--issuer-host",
        default="localhost",
        help="host name in the issuer URL; it must reach --host (default localhost)",
    )
    parser.add_argument(
        "--claims-in-userinfo-only",
        action="store_true",
        help="leave email, email_verified and groups out of the id_token (userinfo still has them)",
    )
    parser.add_argument("--client-id", default=personas.CONFIDENTIAL_CLIENT_ID)
    parser.add_argument("--client-secret", default=personas.CONFIDENTIAL_CLIENT_SECRET)
    return parser.parse_args(argv)


def make_server(host, port):
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class RequestHandler(WSGIRequestHandler):
        """One line per request, query strings cut: they carry codes, state and hints."""

        def log_message(self, format, *args):
            line = _QUERY.sub("?…", format % args)
            sys.stderr.write(f"devidp {time.strftime('%H:%M:%S')} {self.address_string()} {line}\n")

        def log_request(self, code="-", size="-"):
            method, _, rest = self.requestline.partition(" ")
            path = rest.rsplit(" ", 1)[0]
            self.log_message("%s %s %s", method, path, code)

    server = ThreadedWSGIServer((host, port), RequestHandler, ipv6=":" in host)
    server.daemon_threads = True
    return server


def main(argv=None):
    args = parse_args(argv)
    started = time.monotonic()

    # Bind first so --port 0 works and a taken port fails before any set-up.
    server = make_server(args.host, args.port)
    port = server.server_address[1]
    issuer = f"http://{args.issuer_host}:{port}/o"

    data_dir = (args.data_dir or DEFAULT_DATA_DIR).resolve()
    ensure_data_dir(data_dir)
    os.environ.update(
        DEVIDP_DATA_DIR=str(data_dir),
        DEVIDP_ISSUER=issuer,
        DEVIDP_ISSUER_HOST=args.issuer_host,
        DEVIDP_CLAIMS_IN_USERINFO_ONLY="1" if args.claims_in_userinfo_only else "0",
    )

    import django

    django.setup()
    from django.core.wsgi import get_wsgi_application

    from devidp.bootstrap import ensure_schema, seed

    ensure_schema(data_dir)
    seed(client_id=args.client_id, client_secret=args.client_secret)
    server.set_app(get_wsgi_application())

    print(f"devidp issuer: {issuer}", flush=True)
    print(f"devidp discovery: {issuer}/.well-known/openid-configuration", flush=True)
    print(
        f"devidp clients: {args.client_id} (confidential), {personas.PUBLIC_CLIENT_ID} (public, PKCE);"
        f" users: {', '.join(personas.USERS)} / {personas.PASSWORD};"
        f" claims in userinfo only: {'yes' if args.claims_in_userinfo_only else 'no'}",
        flush=True,
    )
    print(f"devidp ready in {time.monotonic() - started:.1f} s, listening on {args.host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
