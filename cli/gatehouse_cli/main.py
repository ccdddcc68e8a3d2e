"""`gatehouse`: the commands. Configured by GATEHOUSE_URL and GATEHOUSE_TOKEN (--url, --token override).

Each command prints for a person, or with --json one JSON document on stdout
for scripts. Every failure is one line (or a JSON error) and an exit code
from client.py, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from . import __version__
from .client import ERROR, FAILED, INVALID, NETWORK, OK, TIMEOUT, Api, Failure
from .manifest import folder_files

DONE = ("succeeded", "failed")
UPLOAD_ATTEMPTS = 3
MARKS = {"succeeded": "[green]✓[/]", "failed": "[red]✗[/]", "skipped": "[dim]-[/]", "running": "[yellow]…[/]"}


class Output:
    def __init__(self, as_json: bool):
        self.as_json = as_json
        self.out = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    def say(self, text: str) -> None:
        """A line for a person (stderr under --json, so stdout stays one JSON document)."""
        (self.err if self.as_json else self.out).print(text)

    def result(self, data, human=None) -> None:
        if self.as_json:
            sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        elif human is not None:
            human()


# --- deploy ---------------------------------------------------------------------------------------


def cmd_deploy(api: Api, args, out: Output) -> int:
    root = Path(args.dir)
    if not root.is_dir():
        raise Failure(f"{args.dir}: no such folder.", exit_code=INVALID, code="no_such_folder")
    files = folder_files(root)
    if not files:
        raise Failure(f"{args.dir} holds no files.", exit_code=INVALID, code="empty_folder")
    by_hash = {f.sha256: f for f in files}
    total = sum(f.size for f in files)
    out.say(f"Deploying {len(files)} files ({_bytes(total)}) from {args.dir} to {args.site}")
    answer = api.post(
        f"sites/{args.site}/deploys/",
        {"files": [f.manifest() for f in files], "message": args.message or "", "commit": args.commit or ""},
    )
    build = answer["build"]
    uploads = answer["uploads"]
    sent_bytes = sum(u["size"] for u in uploads)
    out.say(f"Build {build['number']}: {len(uploads)} of {len(files)} files to upload ({_bytes(sent_bytes)}); the console holds the rest")
    started = time.monotonic()
    _upload(api, uploads, by_hash, out, concurrency=args.concurrency)
    upload_seconds = time.monotonic() - started
    deployment = api.post(api.on_console(answer["finalise_url"]))
    result = {
        "site": args.site,
        "build": build["number"],
        "files": len(files),
        "bytes": total,
        "uploaded_files": len(uploads),
        "uploaded_bytes": sent_bytes,
        "upload_seconds": round(upload_seconds, 3),
        "deployment": deployment,
        "url": None,
    }
    if not args.wait:
        out.say(f"Deployment {deployment['id']} started; follow it with: gatehouse status {args.site}")
        out.result(result)
        return OK
    deployment = follow(api, deployment, out, timeout=args.timeout)
    result["deployment"] = deployment
    if deployment["status"] != "succeeded":
        failure = Failure(_failed_reason(deployment), exit_code=FAILED, code="deployment_failed")
        failure.data = result
        raise failure
    site = api.get(f"sites/{args.site}/")
    result["url"] = site.get("url")
    result["live_build"] = site.get("live_build")
    if site.get("live_build") == build["number"]:
        out.say(f"[green]Live:[/] {site.get('url')}")
    else:
        out.say(f"Build {build['number']} is ready, but build {site.get('live_build')} (made live after it) is served: {site.get('url')}")
    out.result(result)
    return OK


def _upload(api: Api, uploads: list[dict], by_hash: dict, out: Output, *, concurrency: int) -> None:
    if not uploads:
        return

    def send(upload, advance):
        data = by_hash[upload["sha256"]].read()
        url = api.on_console(upload["url"]) if upload["method"] == "api" else upload["url"]
        # A PUT of the same bytes to the same address is safe to repeat: a dropped connection is tried again.
        for attempt in range(UPLOAD_ATTEMPTS):
            try:
                api.put_bytes(url, data)
                break
            except Failure as failure:
                if failure.exit_code != NETWORK or attempt == UPLOAD_ATTEMPTS - 1:
                    raise
                time.sleep(2**attempt)
        advance(upload["size"])

    columns = [TextColumn("Uploading"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=out.err, disable=out.as_json, transient=False) as progress:
        task = progress.add_task("upload", total=sum(u["size"] for u in uploads) or 1)

        def advance(n):
            progress.update(task, advance=n)

        # Several at once: most files are small, and each is one round trip.
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            for future in [pool.submit(send, u, advance) for u in uploads]:
                future.result()  # the first Failure stops the deploy (finalise would refuse it anyway)


def follow(api: Api, deployment: dict, out: Output, *, timeout: float, interval: float = 1.0) -> dict:
    """Print the deployment's steps as they start and finish, until it is done; the last answer."""
    shown: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while True:
        for step in deployment.get("steps", []):
            if shown.get(step["name"]) != step["status"] and step["status"] != "pending":
                shown[step["name"]] = step["status"]
                message = f": {escape(step['message'])}" if step.get("message") else ""
                out.say(f"  {MARKS.get(step['status'], ' ')} {step['name']}{message}")
        if deployment["status"] in DONE:
            return deployment
        if time.monotonic() > deadline:
            raise Failure(
                f"Deployment {deployment['id']} is still {deployment['status']} after {timeout:.0f} s; "
                f"it goes on in the console (gatehouse status {deployment['site']}).",
                exit_code=TIMEOUT, code="wait_timed_out",
            )
        time.sleep(interval)
        deployment = api.get(f"deployments/{deployment['id']}/")


def _failed_reason(deployment: dict) -> str:
    failed = [s for s in deployment.get("steps", []) if s["status"] == "failed"]
    if failed:
        return f"Deployment {deployment['id']} failed at '{failed[0]['name']}': {failed[0]['message'] or 'no reason given'}"
    return f"Deployment {deployment['id']} failed: {deployment.get('message') or 'no reason given'}"


# --- builds, rollback, status, invite ---------------------------------------------------------------


def cmd_builds(api: Api, args, out: Output) -> int:
    body = api.get(f"sites/{args.site}/builds/", params={"limit": args.limit})
    builds = body.get("results", [])

    def show():
        table = Table("build", "status", "live", "message", "commit", "files", "uploaded", "by", "created")
        for b in builds:
            table.add_row(
                str(b["number"]), b["status"], "live" if b["live"] else "", escape(b.get("deploy_message") or b.get("message") or ""),
                (b.get("commit") or "")[:12], str(b["file_count"]), str(b["files_sent"]) if b["source"] == "manifest" else "zip",
                escape(b.get("created_by") or ""), str(b["created_at"])[:19].replace("T", " "),
            )
        out.out.print(table if builds else f"{args.site} has no builds yet.")

    out.result(builds, show)
    return OK


def cmd_rollback(api: Api, args, out: Output) -> int:
    site = api.get(f"sites/{args.site}/")
    previous = site.get("live_build")
    number = args.build
    if number is None:
        if previous is None:
            raise Failure(f"{args.site} serves no build yet; nothing to roll back from.", exit_code=INVALID, code="no_live_build")
        earlier = [b for b in api.pages(f"sites/{args.site}/builds/") if b["status"] == "ready" and b["number"] < previous]
        if not earlier:
            raise Failure(
                f"{args.site} has no ready build older than build {previous}; name one: gatehouse rollback {args.site} BUILD.",
                exit_code=INVALID, code="no_earlier_build",
            )
        number = max(b["number"] for b in earlier)
    build = api.post(f"sites/{args.site}/builds/{number}/make-live/")
    result = {"site": args.site, "live_build": build["number"], "previous_build": previous, "url": site.get("url"), "build": build}
    out.say(f"Build {build['number']} of {args.site} is live (was {previous if previous is not None else 'none'}): {site.get('url')}")
    out.result(result)
    return OK


def cmd_status(api: Api, args, out: Output) -> int:
    site = api.get(f"sites/{args.site}/")
    deployments = api.get(f"sites/{args.site}/deployments/", params={"limit": 1})
    last = deployments[0] if deployments else None

    def show():
        out.out.print(f"[bold]{escape(site['client'])} · {escape(site['name'])}[/] ({site['slug']}): {site['status']}{' (disabled)' if site['disabled'] else ''}")
        out.out.print(f"  address     {site.get('url') or '-'}")
        out.out.print(f"  live build  {site.get('live_build') if site.get('live_build') is not None else '-'}")
        out.out.print(f"  edge        {site.get('edge_release') or '-'}")
        if site.get("not_after"):
            out.out.print(f"  access ends {site['not_after']}")
        if last:
            build = f", build {last['build']}" if last.get("build") is not None else ""
            out.out.print(f"  last deployment {last['id']} ({last['kind']}{build}): {last['status']}, {str(last['created_at'])[:19].replace('T', ' ')}")
            for step in last.get("steps", []):
                message = f": {escape(step['message'])}" if step.get("message") else ""
                out.out.print(f"    {MARKS.get(step['status'], ' ')} {step['name']}{message}")

    out.result({"site": site, "last_deployment": last}, show)
    return OK


def cmd_invite(api: Api, args, out: Output) -> int:
    answer = api.post(f"sites/{args.site}/invitations/", {"emails": args.emails})
    invited = answer.get("invitations", [])

    def show():
        out.out.print(
            f"Invited {', '.join(i['email'] for i in invited)} to {args.site}: each is on the allowed e-mails "
            "and the invitation goes out in a moment."
        )

    out.result(answer, show)
    return OK


# --- the command line -------------------------------------------------------------------------------


def _bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=os.environ.get("GATEHOUSE_URL", ""), help="the console's address (default: $GATEHOUSE_URL)")
    common.add_argument("--token", default=os.environ.get("GATEHOUSE_TOKEN", ""), help="a personal API token (default: $GATEHOUSE_TOKEN)")
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout, for scripts")

    top = argparse.ArgumentParser(
        prog="gatehouse", description="Deploy, roll back and inspect Gatehouse sites.",
        epilog="Exit codes: 0 ok, 1 unexpected, 2 usage, 3 refused (token, role, scope), 4 invalid input or not found, "
        "5 deployment failed, 6 network or console error, 7 --wait timed out. See docs/api.md.",
    )
    top.add_argument("--version", action="version", version=f"gatehouse {__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    deploy = commands.add_parser("deploy", parents=[common], help="upload a built folder (only what changed) and make it live")
    deploy.add_argument("dir", help="the built site: index.html at its top")
    deploy.add_argument("--site", required=True, help="the site id (slug)")
    deploy.add_argument("--message", "-m", default="", help="what this build is (shown on the builds page)")
    deploy.add_argument("--commit", default="", help="the commit it was built from")
    deploy.add_argument("--wait", action="store_true", help="follow the deployment until it is done; print the address")
    deploy.add_argument("--timeout", type=float, default=900, help="seconds --wait waits (default 900)")
    deploy.add_argument("--concurrency", type=int, default=4, help="uploads at once (default 4)")
    deploy.set_defaults(run=cmd_deploy)

    builds = commands.add_parser("builds", parents=[common], help="a site's builds, newest first")
    builds.add_argument("site")
    builds.add_argument("--limit", type=int, default=20)
    builds.set_defaults(run=cmd_builds)

    rollback = commands.add_parser("rollback", parents=[common], help="make an earlier build live (default: the one before the live build)")
    rollback.add_argument("site")
    rollback.add_argument("build", nargs="?", type=int, help="the build number (default: the newest ready build older than the live one)")
    rollback.set_defaults(run=cmd_rollback)

    status = commands.add_parser("status", parents=[common], help="a site's state, address, live build and last deployment")
    status.add_argument("site")
    status.set_defaults(run=cmd_status)

    invite = commands.add_parser("invite", parents=[common], help="allow and invite client e-mail addresses")
    invite.add_argument("site")
    invite.add_argument("emails", nargs="+", metavar="EMAIL")
    invite.set_defaults(run=cmd_invite)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    out = Output(args.json)
    api = None
    try:
        api = Api(args.url, args.token)
        return args.run(api, args, out)
    except Failure as failure:
        if args.json:
            sys.stdout.write(json.dumps({**getattr(failure, "data", {}), **failure.as_json()}, indent=2, default=str) + "\n")
        out.err.print(f"[red]error:[/] {escape(failure.message)} ({escape(failure.code)})")
        return failure.exit_code
    except KeyboardInterrupt:
        out.err.print("interrupted")
        return 130
    except Exception as exc:  # a bug: one line, not a traceback, and the code that says so
        out.err.print(f"[red]error:[/] unexpected {type(exc).__name__}: {escape(str(exc))}")
        return ERROR
    finally:
        if api is not None:
            api.close()
