"""What the console says, in sentences a person reads.

The services record Activity rows as they happen: one per step, each
credited to the person who started the chain (a redeploy writes
``site.redeploy``, ``config.revision`` and ``redeploy.done``, all as that
person) and each carrying the chain's id (``sites.context.chain``). Here the
rows of one chain on one site are folded back into one item ("alice
redeployed Q3 prototype · finished"), sites are named by their name and
builds by their number within the site.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .models import Activity, Build, Deployment, ProtectedSite

# How the pages name each setting a change touched.
SETTING_NAMES = {
    "hosts": "custom host names",
    "acm_certificate_arn": "certificate",
    "allow_any_user": "who gets in",
    "emails": "allowed emails",
    "email_domains": "allowed email domains",
    "groups_claim": "groups claim",
    "groups": "allowed groups",
    "session_lifetime": "session lifetime",
    "not_before": "access start",
    "not_after": "access end",
    "public_paths": "public paths",
    "spa_mode": "single-page app mode",
    "signin_methods": "sign-in methods",
    "provider": "identity provider",
    "disabled": "on/off switch",
    "live_build_id": "live build",
}

def signin_methods_text(site: ProtectedSite) -> str:
    """How the site's viewers sign in, as staff read it on the site page."""
    provider = site.provider.name if site.provider is not None else "its identity provider (none chosen)"
    if site.signs_in_with_idp and site.signs_in_with_email_code:
        return f"At {provider} or with a code sent by e-mail; the viewer chooses on the edge's page"
    if site.signs_in_with_email_code:
        return "With a code sent by e-mail (no identity provider)"
    return f"At {provider}"


BUILD_RE = re.compile(r"\bbuild (\d+)\b")
REVISION_RE = re.compile(r"^revision (\d+): (.*)$", re.S)


@dataclass
class Outcome:
    text: str
    tone: str  # "ok", "bad", "off"
    at: datetime


@dataclass
class ActivityItem:
    """One action as the Activity page shows it."""

    head: Activity
    rows: list[Activity] = field(default_factory=list)
    sentence: SafeString = SafeString("")
    detail: str = ""
    outcomes: list[Outcome] = field(default_factory=list)
    # A step Gatehouse took by itself, though the row names the person who started it.
    automatic: bool = False

    @property
    def at(self) -> datetime:
        return self.head.at

    @property
    def verb(self) -> str:
        return self.head.verb

    @property
    def who(self) -> str:
        """Who did it; "" for Gatehouse itself (an automatic step is not the person who started the chain)."""
        if not self.head.actor_id or self.automatic or _is_follow_up(self.head):
            return ""
        return self.head.actor.get_username()

    @property
    def site_slug(self) -> str:
        return self.head.site_slug

    @property
    def verbs(self) -> list[str]:
        return [row.verb for row in self.rows]


# Rows that finish what another row started: shown as that action's outcome,
# or, when their start is not in the log, as an automatic step of Gatehouse's.
FOLLOW_UPS = {"site.live", "redeploy.done", "edge_release.done", "site.deleted", "edge_release.published"}


def _is_follow_up(row: Activity) -> bool:
    if row.verb == "build.live":
        # "build 7" from the upload finishing; "build 7 made live" is a person's rollback.
        return bool(re.fullmatch(r"build \d+", row.detail or ""))
    return row.verb in FOLLOW_UPS or row.verb.endswith(".failed")


def activity_items(entries: list[Activity]) -> list[ActivityItem]:
    """The page's rows as actions, newest first.

    An action is the rows of one chain on one site. Every row on the page
    ends up in exactly one item, shown where the chain's first row is: a
    follow-up whose start is on another page is shown there. The rest of each
    chain, build numbers and site names take one query each, whatever the
    row count.
    """
    if not entries:
        return []
    on_page = {row.pk for row in entries}
    rows = _chain_rows(entries)
    builds = _builds_for(rows)
    items = _group(rows)
    shown = [item for item in items if item.head.pk in on_page]
    for item in shown:
        _describe(item, builds)
    shown.sort(key=lambda item: (item.head.at, item.head.pk), reverse=True)
    return shown


def _chain_rows(entries: list[Activity]) -> list[Activity]:
    """The page's rows and every other row of their chains, oldest first."""
    rows = {row.pk: row for row in entries}
    chains = {row.chain_id for row in entries if row.chain_id}
    slugs = {row.site_slug for row in entries}
    # By site too: a roll-out is one chain across every site, and only these sites' rows are shown.
    for row in Activity.objects.select_related("actor", "site", "token").filter(chain_id__in=chains, site_slug__in=slugs):
        rows.setdefault(row.pk, row)
    return sorted(rows.values(), key=lambda row: (row.at, row.pk))


def _group(rows: list[Activity]) -> list[ActivityItem]:
    items: dict[tuple, ActivityItem] = {}
    for row in rows:
        # A row older than chain ids is an action of its own.
        key = (row.chain_id, row.site_slug) if row.chain_id else ("", row.pk)
        items.setdefault(key, ActivityItem(head=row)).rows.append(row)
    return list(items.values())


def _builds_for(rows: list[Activity]) -> dict[int, Build]:
    """Every build of the sites these rows name: their numbers, and what a rollback went back from."""
    if not any(BUILD_RE.search(row.detail or "") for row in rows):
        return {}
    slugs = {row.site_slug for row in rows if row.site_slug}
    builds = Build.objects.filter(site__slug__in=slugs).only("pk", "number", "site_id", "created_at", "status")
    return {b.pk: b for b in builds}


def site_builds(site: ProtectedSite) -> dict[int, Build]:
    return {b.pk: b for b in Build.objects.filter(site=site).only("pk", "number", "site_id", "created_at", "status")}


def build_name(pk: int, builds: dict[int, Build]) -> str:
    build = builds.get(pk)
    return f"build {build.number}" if build and build.number else f"build #{pk}"


def _site_html(row: Activity):
    if row.site_id:
        return format_html('<a href="{}">{}</a>', reverse("sites:site", args=[row.site.slug]), row.site.name)
    if row.site_slug:
        return format_html('{} <span class="muted">(deleted)</span>', row.site_slug)
    return ""


def renumber_builds(text: str, builds: dict[int, Build]) -> str:
    """ "build 7" (a primary key, as the services write it) as the site's own number, "build 2"."""
    return BUILD_RE.sub(lambda m: build_name(int(m.group(1)), builds), text or "")


def _fields(text: str) -> str:
    names = [SETTING_NAMES.get(name.strip(), name.strip().replace("_", " ")) for name in text.split(",") if name.strip()]
    return ", ".join(names)


# Actions said in one fixed sentence: the template, and whether the row's detail is shown under it.
SENTENCES = {
    "site.create": ("{who} onboarded {site}", False),
    "token.create": ("{who} made an API token", True),
    "token.revoke": ("{who} revoked an API token", True),
    "site.provision": ("{who} started provisioning {site}", True),
    "site.redeploy": ("{who} redeployed {site}", True),
    "site.disable": ("{who} disabled {site}", False),
    "site.enable": ("{who} enabled {site}", False),
    "session_key.rotate": ("{who} rotated the session key of {site}", False),
    "session_key.revoke": ("{who} signed everyone out of {site}", False),
    "site.teardown": ("{who} started deleting {site}", True),
    "webhook.create": ("{who} added a webhook endpoint", True),
    "webhook.update": ("{who} changed a webhook endpoint", True),
    "webhook.disable": ("{who} disabled a webhook endpoint", True),
    "webhook.enable": ("{who} enabled a webhook endpoint", True),
    "webhook.delete": ("{who} deleted a webhook endpoint", True),
    "webhook.redeliver": ("{who} redelivered a webhook event", True),
    "share_link.create": ("{who} made a share link to {site}", True),
    "share_link.revoke": ("{who} revoked a share link to {site}", True),
}


def _describe(item: ActivityItem, builds: dict[int, Build]) -> None:
    head = item.head
    # "ada", or "ada's token 'CI'" for what was done through the API.
    who = head.who if head.actor_id else "Gatehouse"
    site = _site_html(head)
    detail = head.detail or ""
    build = BUILD_RE.search(detail)
    build_label = build_name(int(build.group(1)), builds) if build else "a build"
    verb = head.verb
    sentence = None
    if verb in SENTENCES:
        template, keeps_detail = SENTENCES[verb]
        sentence = format_html(template, who=who, site=site)
        detail = detail if keeps_detail else ""
    elif verb == "site.move_release":
        sentence = format_html("{} moved {} to edge release {}", who, site, detail)
        detail = ""
    elif verb == "build.upload":
        sentence = format_html("{} uploaded {} to {}", who, build_label, site)
        detail = ""
    elif verb == "build.live":
        target = builds.get(int(build.group(1))) if build else None
        # Going back to an older build while a newer one exists is a rollback.
        newer = target is not None and any(
            b.site_id == target.site_id and b.number > target.number and b.created_at <= head.at for b in builds.values()
        )
        sentence = (
            format_html("{} rolled {} back to {}", who, site, build_label)
            if newer
            else format_html("{} made {} live on {}", who, build_label, site)
        )
        detail = ""
    elif verb == "site.extend":
        until = detail.removeprefix("access extended to ").strip()
        if until == "no end date" or not until:
            sentence = format_html("{} removed the end date of {}", who, site)
        else:
            sentence = format_html("{} extended access to {} until {}", who, site, _day(until))
        detail = ""
    elif verb == "site.settings":
        reason, _, changed = detail.rpartition(": ")
        sentence = format_html("{} changed the {} of {}", who, _fields(changed) or "settings", site)
        detail = "" if reason in ("", "settings changed") else reason
    elif verb == "config.restore":
        reason, _, changed = detail.rpartition(": ")
        number = reason.removeprefix("restored revision ")
        sentence = format_html("{} restored {} to config revision {}", who, site, number)
        detail = f"Brought back: {_fields(changed)}" if changed else ""
    elif verb == "edge_release.publish":
        sentence = format_html("{} started publishing edge release {}", who, detail)
        detail = ""
    elif verb == "edge_release.rollout":
        sentence = format_html("{} started rolling edge release {} out to every site", who, detail)
        detail = ""
    elif verb == "edge_release.rollout_done":
        version, _, counts = detail.partition(": ")
        sentence = format_html("Edge release {} is deployed on every site it was rolled out to", version)
        who, item.automatic, detail = "Gatehouse", True, counts
    elif verb == "edge_release.reused":
        version = detail.split(":", 1)[0]
        sentence = format_html("{} asked for edge release {} again: the same zip was already published", who, version)
        detail = ""
    elif verb == "config.revision":
        match = REVISION_RE.match(detail)
        number, reason = (match.group(1), match.group(2)) if match else ("", detail)
        if DEPLOYMENT_REASONS.fullmatch(reason):
            who, item.automatic = "Gatehouse", True
        sentence = format_html("{} published config revision {} of {}", who, number, site)
        detail = renumber_builds(reason, builds)
    elif verb == "config.invalid":
        sentence = format_html("The config of {} was refused and not published", site)
    elif _is_follow_up(head):
        # Its start is no longer in the log (or was never recorded): say what happened, automatically.
        sentence = format_html("{} · {}", site, _follow_up_text(head, builds))
        who = "Gatehouse"
        detail = ""
    if sentence is None:
        sentence = format_html("{} · {} {}", who, verb.replace(".", " ").replace("_", " "), site)
    item.sentence = sentence
    item.detail = renumber_builds(detail, builds)
    revisions = []
    for row in item.rows[1:]:
        if row.verb == "config.revision":
            match = REVISION_RE.match(row.detail or "")
            revisions.append(match.group(1) if match else "")
            continue
        outcome = _outcome(row, builds)
        if outcome and all(o.text != outcome.text for o in item.outcomes):
            item.outcomes.append(outcome)
    numbers = [n for n in revisions if n]
    if numbers:
        # One chip for the revisions an action published: the last is what the edge serves.
        text = f"config revision {numbers[0]}" if len(numbers) == 1 else f"config revisions {numbers[0]}–{numbers[-1]}"
        item.outcomes.insert(0, Outcome(text, "off", item.rows[-1].at))


def _day(text: str) -> str:
    """ "2027-01-30 22:45 UTC" as the pages write times: "30 Jan 2027 22:45 UTC"."""
    try:
        moment = datetime.strptime(text, "%Y-%m-%d %H:%M UTC")
    except ValueError:
        return text
    return moment.strftime("%d %b %Y %H:%M UTC").lstrip("0")


def _follow_up_text(row: Activity, builds) -> str:
    verb, detail = row.verb, row.detail or ""
    if verb == "site.live":
        return f"live at {detail}" if detail else "live"
    if verb.endswith(".done"):
        return "finished"
    if verb == "build.live":
        return f"{renumber_builds(detail, builds)} is live"
    if verb == "site.deleted":
        return "deleted, with its bucket and distribution"
    if verb == "edge_release.published":
        return "published"
    if verb.endswith(".failed"):
        return f"failed: {detail}" if detail else "failed"
    return verb


def _outcome(row: Activity, builds) -> Outcome | None:
    verb, detail = row.verb, row.detail or ""
    if verb == "config.revision":
        match = REVISION_RE.match(detail)
        return Outcome(f"config revision {match.group(1)}" if match else "new config revision", "off", row.at)
    if verb == "config.invalid":
        if detail.strip() == "site.hosts: must not be empty":
            # Before CloudFront gives a site without custom names its address, there is nothing to publish under.
            return Outcome("config waits for the site's address", "off", row.at)
        return Outcome(f"config refused: {detail}", "bad", row.at)
    if verb in ("site.provision", "build.upload", "site.redeploy"):
        return None  # said by the sentence of the action that started it
    if verb.endswith(".failed"):
        return Outcome(_follow_up_text(row, builds), "bad", row.at)
    return Outcome(_follow_up_text(row, builds), "ok", row.at)


# --- Deployments and the site's state -------------------------------------------------------------------


def cloudfront_is_local() -> bool:
    """Whether "CloudFront" is the local stand-in (moto and the gateway), which takes seconds, not minutes."""
    return bool(settings.GATEHOUSE_AWS_ENDPOINT_URL)


def cloudfront_wait() -> str:
    return "the local stand-in takes a few seconds" if cloudfront_is_local() else "CloudFront usually takes 5 to 15 minutes"


@dataclass
class SiteState:
    """What a viewer gets at the site right now, in one badge and one sentence."""

    status: str
    label: str
    explanation: str = ""


def site_state(site: ProtectedSite, *, building: bool | None = None) -> SiteState:
    Status = ProtectedSite.Status
    if site.disabled and site.status != Status.DELETING:
        return SiteState("disabled", "disabled", "Viewers get a “not available” page. Enable the site to let them back in.")
    if site.status == Status.LIVE and not site.live_build_id:
        if building is None:
            building = site.deployments.filter(
                kind=Deployment.Kind.BUILD, status__in=[Deployment.Status.QUEUED, Deployment.Status.RUNNING]
            ).exists()
        if building:
            return SiteState(
                "uploading",
                "live, build uploading",
                "The address answers and sign-in works, but the build is still uploading: "
                "a viewer who signs in gets an error page until it is live (progress under Deployments).",
            )
        return SiteState(
            "no_build",
            "no build",
            "The address answers and sign-in works, but no build is live: a viewer who signs in gets an error page. "
            "Upload a build.",
        )
    if site.status == Status.LIVE:
        return SiteState("live", "live")
    return SiteState(site.status, site.get_status_display())


# Revisions a deployment step publishes (services/provisioning's config step):
# automatic, though recorded as the person who started the deployment.
DEPLOYMENT_REASONS = re.compile(r"(distribution created|redeployed|build \d+ is live)")


def revision_author(revision) -> str:
    """Who made a revision, as the history says it: a deployment's own step is Gatehouse's."""
    if DEPLOYMENT_REASONS.fullmatch(revision.reason or ""):
        return f"Gatehouse, for {revision.actor_name}" if revision.created_by_id else "Gatehouse"
    return revision.actor_name


def _own_build_number(deployment: Deployment, text: str) -> str:
    """The services write a build by its primary key; say the site's own number."""
    build = deployment.build if deployment.build_id else None
    if not build or not build.number or build.number == build.pk:
        return text
    return re.sub(rf"\bbuild {build.pk}\b", f"build {build.number}", text)


def step_message(step, deployment: Deployment) -> str:
    return _own_build_number(deployment, step.message or "")


def deployment_note(deployment: Deployment) -> str:
    """The deployment's message, worded so it agrees with its badge."""
    message = _own_build_number(deployment, deployment.message or "")
    if deployment.status == Deployment.Status.SUCCEEDED and message.startswith("CloudFront is applying the settings"):
        if cloudfront_is_local():
            return "The local stand-in applied the settings at once."
        return "CloudFront has the new settings and spreads them to its edge locations over the next few minutes."
    return message


# --- Restoring a revision --------------------------------------------------------------------------------


@dataclass
class RestoreChange:
    name: str
    label: str
    today: str
    restored: str


def duration(seconds) -> str:
    """Seconds as "8 hours", "90 minutes", "2 days"."""
    try:
        seconds = int(seconds)
    except (TypeError, ValueError):
        return ""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"


def _setting_text(name: str, value, builds: dict[int, Build]) -> str:
    if value in (None, "", []):
        return {"not_after": "no end date", "not_before": "no start date", "live_build_id": "no build"}.get(name, "none")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, datetime):
        return value.strftime("%d %b %Y %H:%M UTC").lstrip("0")
    if name == "session_lifetime":
        return duration(value)
    if name == "live_build_id":
        return build_name(value, builds).capitalize()
    return str(value)


def restore_preview(site: ProtectedSite, revision) -> list[RestoreChange]:
    """What restoring `revision` changes on `site` today: the same comparison revision_restore makes."""
    from .services.revisions import revision_settings

    values = revision_settings(revision)
    build_id = values["live_build_id"]
    builds = site_builds(site)
    if build_id is not None and (build_id not in builds or builds[build_id].status != Build.Status.READY):
        # revision_restore keeps today's build when the old one is gone or never finished.
        values["live_build_id"] = site.live_build_id
    changes = []
    for name, value in values.items():
        current = getattr(site, name)
        if current != value:
            changes.append(
                RestoreChange(
                    name=name,
                    label=SETTING_NAMES.get(name, name.replace("_", " ")).capitalize(),
                    today=_setting_text(name, current, builds),
                    restored=_setting_text(name, value, builds),
                )
            )
    return changes
