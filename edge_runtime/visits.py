"""Who viewed a demo, and who was refused: one JSON log line per event.

Lambda@Edge sends the function's standard output to CloudWatch Logs in the
region where it ran; the console collects these lines from every region
(sites/services/visits.py). Kinds:

``signed_in``      a viewer proved who they are and got a session (``method``: how)
``refused``        a viewer was turned away; ``why`` names each rule that said no,
                   and which claim was missing or what it held instead
``session_start``  a viewer with a valid session opened the demo: a navigation
                   that came from outside the site (a link, a bookmark, the
                   address bar, the sign-in redirect), not a click within it

A share link's ``signed_in`` and ``refused`` lines (``method`` ``share_link``)
also name the link's public id (``link``), from which the console fills in
the link's last use.

A line holds the host, the site id, the kind, the method, the subject and
e-mail address, the reasons and the time; never a token, code or cookie.
Callers pass claims, not requests, so nothing else can slip in.
"""

import json
import sys
import time

# The value the console's CloudWatch filter matches (`{ $.visit = 1 }`).
VISIT_MARK = 1
MAX_SUB = 200
MAX_EMAIL = 320
MAX_REASON = 200
MAX_REASONS = 8
MAX_LINK = 32


def visit_log(kind, cfg, *, host, claims=None, method=None, why=None, at=None, link=None):
    """Write one visit line. `claims`: the verified claims or session, if any;
    `link`: a share link's public id (never its secret)."""
    line = {"gatehouse": kind, "visit": VISIT_MARK, "site": cfg.site_id, "host": host}
    if method is not None:
        line["method"] = method
    if link is not None:
        line["link"] = str(link)[:MAX_LINK]
    if claims is not None:
        sub = claims.get("sub")
        email = claims.get("email")
        line["sub"] = str(sub)[:MAX_SUB] if sub is not None else None
        line["email"] = email[:MAX_EMAIL] if isinstance(email, str) else None
    if at is not None:
        line["at"] = at
    if why is not None:
        line["why"] = [str(reason)[:MAX_REASON] for reason in why[:MAX_REASONS]]
    line["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    sys.stdout.write(json.dumps(line, separators=(",", ":"), default=str) + "\n")


def opens_the_site(headers):
    """Is this navigation an arrival from outside the site?

    `Sec-Fetch-Site` is `none` for the address bar, a bookmark or a link in
    an e-mail client, `cross-site` after another site (the provider's
    redirect included); a click within the demo is `same-origin`. A browser
    that sends no fetch metadata is not counted.
    """
    site = headers.get("sec-fetch-site")
    if not site or site[0].get("value") not in ("none", "cross-site"):
        return False
    mode = headers.get("sec-fetch-mode")
    return bool(mode) and mode[0].get("value") == "navigate"
