"""The 403 and 404 pages: in the house layout, saying who you are and what to do next."""

from django.test import Client
from django.urls import reverse

from tests.console.pages_support import bob, fast_passwords, staff_client  # noqa: F401


def test_non_staff_get_staff_only_with_who_they_are_and_a_sign_out(client, bob):
    client.force_login(bob)
    response = client.get(reverse("sites:dashboard"))
    assert response.status_code == 403
    assert [t.name for t in response.templates][0] == "403.html"
    page = response.content.decode()
    assert "<h1 id=\"error-h\">Staff only</h1>" in page
    assert "signed in as <strong>bob</strong>" in page
    assert f'action="{reverse("logout")}"' in page and 'name="csrfmiddlewaretoken"' in page
    # The console's sections would only 403 again: not offered.
    assert 'aria-label="Main"' not in page
    assert page.count(">Sign out</button>") == 1


def test_the_sign_out_on_the_403_page_works_with_csrf(bob):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    response = client.get(reverse("sites:onboard"))
    token = response.cookies["csrftoken"].value
    assert client.post(reverse("logout"), {"csrfmiddlewaretoken": token}).status_code == 302
    assert client.get(reverse("sites:dashboard")).status_code == 302


def test_an_unknown_site_is_a_404_in_the_house_layout(staff_client):
    response = staff_client.get("/sites/no-such-site/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "<h1 id=\"error-h\">Not found</h1>" in page and "<code>/sites/no-such-site/</code>" in page
    assert f'href="{reverse("sites:dashboard")}"' in page and 'aria-label="Main"' in page


def test_an_unknown_address_says_sign_in_to_strangers(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Not found" in page and f'href="{reverse("login")}"' in page
