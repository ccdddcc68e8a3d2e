"""Console benchmarks: medians of config render + validate, and of a full publish.

Runs on a throwaway in-memory SQLite database; prints one line per measure.
"""

from _setup import django_start, median_ms

django_start("sqlite://:memory:")

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402


def main():
    call_command("migrate", verbosity=0)
    from sites.models import IdentityProvider, ProtectedSite
    from sites.rendering import canonical_json, config_redact, site_config_render
    from sites.services.publishing import config_publish
    from sites.tasks import revision_upload_task

    revision_upload_task.delay_on_commit = lambda *a, **k: None  # no broker here

    provider = IdentityProvider(
        name="Bench",
        issuer="https://bench.example/",
        authorization_endpoint="https://bench.example/authorize",
        token_endpoint="https://bench.example/token",
        jwks_uri="https://bench.example/jwks",
        client_id="bench",
        jwks={"keys": [{"kty": "RSA", "kid": f"k{i}", "n": "A" * 342, "e": "AQAB"} for i in range(3)]},
    )
    provider.client_secret = "bench-secret"
    provider.save()
    from sites.services.sites import site_create

    with transaction.atomic():
        site = site_create(
            client="Bench", name="Bench", slug="bench", hosts=["bench.example"], provider=provider,
            emails=[f"user{i}@client.example" for i in range(50)], email_domains=["client.example"],
        )
    site = ProtectedSite.objects.select_related("provider", "live_build", "edge_release").get(pk=site.pk)

    render = median_ms(lambda: site_config_render(site), 300)
    print(f"render + validate one site config: {render:.3f} ms (median of 300)")
    redact = median_ms(lambda: canonical_json(config_redact(site_config_render(site))), 300)
    print(f"render + validate + redact + canonical JSON: {redact:.3f} ms (median of 300)")

    def publish_changed():
        ProtectedSite.objects.filter(pk=site.pk).update(session_lifetime=3600 + publish_changed.n)
        publish_changed.n += 1
        config_publish(site_id=site.pk, reason="bench")

    publish_changed.n = 0
    print(f"config_publish with a change (new revision): {median_ms(publish_changed, 100):.3f} ms (median of 100)")
    print(f"config_publish without a change: {median_ms(lambda: config_publish(site_id=site.pk), 100):.3f} ms (median of 100)")


if __name__ == "__main__":
    main()
