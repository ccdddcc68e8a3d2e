"""Who viewed a demo on its page and in its CSV, and the dashboard's flags."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sites.models import Invitation, ProtectedSite, Visit
from tests.console.roles_support import vic  # noqa: F401

pytestmark = pytest.mark.django_db


def visit(site, kind, email, *, hours=1, key, **fields):
    return Visit.objects.create(
        site=site, kind=kind, email=email, subject=fields.pop("subject", "sub-" + email),
        occurred_at=timezone.now() - timedelta(hours=hours), event_key=key, **fields,
    )


@pytest.fixture
def visited(site):
    visit(site, "signed_in", "ann@client.example", hours=30, key="1", method="oidc")
    visit(site, "session_start", "ann@client.example", hours=29, key="2")
    visit(site, "session_start", "ann@client.example", hours=2, key="3")
    visit(site, "signed_in", "ann@client.example", hours=1, key="4", method="email_code")
    visit(site, "refused", "eve@elsewhere.example", key="5", stage="callback",
          reasons=["e-mail rules: address not listed, domain not listed"])
    visit(site, "refused", "", key="6", subject="", reasons=["after the access window (not_after)"])
    return site


def test_the_site_page_shows_who_signed_in_how_often_and_how_and_who_was_refused_and_why(visited, vic, client):  # noqa: F811
    client.force_login(vic)
    page = client.get(reverse("sites:site", args=[visited.slug])).content.decode()
    ann = page[page.index('data-visitor="ann@client.example"'):]
    ann = ann[: ann.index("</tr>")]
    assert '<td data-label="Sign-ins">2</td>' in ann and '<td data-label="Opened">2</td>' in ann
    assert "e-mail code, identity provider" in ann
    assert "1\xa0day ago" in ann  # first seen
    eve = page[page.index('data-refused="eve@elsewhere.example"'):]
    assert "Neither the address nor its domain is on the allowed list." in eve[: eve.index("</li>")]
    assert "address not listed" not in page  # a sentence, not the edge's code
    assert "Someone without a session" in page and "The demo&#x27;s access had ended." in page


def test_a_viewer_exports_every_visit_as_csv(visited, vic, client):  # noqa: F811
    client.force_login(vic)
    response = client.get(reverse("sites:visits_csv", args=[visited.slug]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="{visited.slug}-visits.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["time (UTC)", "event", "method"]
    assert len(rows) == 7
    refused = next(r for r in rows if r[3] == "eve@elsewhere.example")
    assert refused[1] == "refused" and refused[7] == "Neither the address nor its domain is on the allowed list."
    assert any(r[1] == "signed in" and r[2] == "e-mail code" for r in rows)


def test_a_csv_cell_that_would_be_a_formula_is_text(site, vic, client):  # noqa: F811
    visit(site, "signed_in", "=HYPERLINK(\"http://x\")@client.example", key="f")
    client.force_login(vic)
    body = b"".join(client.get(reverse("sites:visits_csv", args=[site.slug])).streaming_content).decode()
    assert "'=HYPERLINK" in body


def test_the_dashboard_flags_demos_no_invitee_opened_and_demos_ending_within_a_week(site, provider, vic, client):  # noqa: F811
    other = ProtectedSite.objects.create(client="Globex", name="Pitch", slug="globex-pitch", provider=provider,
                                         not_after=timezone.now() + timedelta(days=3))
    opened = ProtectedSite.objects.create(client="Initech", name="Portal", slug="initech-portal", provider=provider)
    for s in (site, opened):
        Invitation.objects.create(site=s, email="ann@client.example", status="sent")
    visit(opened, "session_start", "ann@client.example", key="o")
    # A refusal is not an opening.
    visit(site, "refused", "ann@client.example", key="r")
    client.force_login(vic)
    page = client.get(reverse("sites:dashboard")).content.decode()
    not_opened = page[page.index('id="not-opened"'):]
    not_opened = not_opened[: not_opened.index("</ul>")]
    assert f'data-attention="{site.slug}"' in not_opened and "initech-portal" not in not_opened
    ending = page[page.index('id="ending-soon"'):]
    assert 'data-attention="globex-pitch"' in ending[: ending.index("</ul>")]
