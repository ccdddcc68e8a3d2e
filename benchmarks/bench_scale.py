"""Flat cost at 10,000 sites (issue 9): each figure at a small and a large size,
against a baseline measured in the same run.

Runs on a throwaway in-memory SQLite database (moto in-process for the AWS
figures); prints one line per measure: median, baseline, ratio.

    python benchmarks/bench_scale.py [--large 10000]
"""

import argparse
import os
import sys
import time

from _setup import django_start, line, median_ms, provider_make

# The "dashboard" section runs itself again on a PostgreSQL database of its
# own (BENCH_SCALE_DATABASE_URL, made and dropped by bench_dashboard); every
# other figure is on a throwaway in-memory SQLite.
django_start(os.environ.get("BENCH_SCALE_DATABASE_URL", "sqlite://:memory:"))

from django.core.management import call_command  # noqa: E402


def sites_grow(provider, total):
    """Sites s0..s{total-1}, each with a host and a CloudFront domain, and their SiteHost rows."""
    from sites.models import ProtectedSite, SiteHost
    from sites.services.provisioning.oac import oac_name_for_index

    have = ProtectedSite.objects.filter(slug__startswith="s-").count()
    new = [
        ProtectedSite(
            client=f"Client {i // 10}", name=f"Site {i}", slug=f"s-{i}", hosts=[f"s{i}.example"], provider=provider,
            distribution_id=f"E{i:012d}", distribution_domain=f"d{i}.cloudfront.net", status="live",
            oac_name=oac_name_for_index(i // 100),  # as provisioning shards them (provisioning/oac.py)
            emails=[f"user{j}@client{i}.example" for j in range(20)],
        )
        for i in range(have, total)
    ]
    made = ProtectedSite.objects.bulk_create(new, batch_size=500)
    SiteHost.objects.bulk_create(
        [SiteHost(site_id=s.pk, host=h) for s in made for h in s.config_hosts], batch_size=1000
    )


def bench_hosts(provider, sizes):
    """Host uniqueness: the check a save makes, against a lookup by primary key."""
    from sites.models import ProtectedSite

    print("== host uniqueness (the check in every site save)")
    first = ProtectedSite.objects.order_by("pk").first
    for total in sizes:
        sites_grow(provider, total)
        probe = ProtectedSite(client="x", name="x", slug="probe", hosts=["new.example", "www.new.example"], provider=provider)
        baseline = median_ms(lambda: ProtectedSite.objects.filter(pk=1).exists(), 200)

        def scan():  # what hosts_in_use() did: decode every site's hosts
            in_use = set()
            for hosts, domain in ProtectedSite.objects.values_list("hosts", "distribution_domain"):
                in_use.update(hosts or [])
                in_use.add(domain)
            return in_use & set(probe.hosts)

        check = median_ms(lambda: ProtectedSite.hosts_taken(probe.hosts), 200)
        line(f"{total:>6} sites, hosts_taken (SiteHost index)", check, baseline, base_name="pk lookup")
        line(f"{total:>6} sites, the old every-site scan", median_ms(scan, 5 if total > 1000 else 50), baseline, base_name="pk lookup")
        site = first()
        line(f"{total:>6} sites, full_clean of a site (its host check)", median_ms(site.full_clean, 100), baseline, base_name="pk lookup")


def moto_in_process():
    """moto in this process, and sites.aws pointed at it (no endpoint URL)."""
    from django.conf import settings
    from moto import mock_aws

    from sites import aws

    mock = mock_aws()
    mock.start()
    settings.GATEHOUSE_AWS_ENDPOINT_URL = None
    aws.clients_reset()
    return mock


def bench_distribution(provider, sizes):
    """A new site's distribution lookup, at N distributions in the account, against one GetDistribution."""
    from sites import aws

    print("== a new site's distribution lookup (moto in process)")
    mock = moto_in_process()
    try:
        oac_id = aws.oac_ensure(name="bench-oac")
        made = []

        def create(reference):
            return aws.distribution_ensure(
                caller_reference=reference, comment=f"bench {reference}", bucket_name="bench-bucket",
                oac_id=oac_id, edge_version_arn=None,
            )

        counter = iter(range(10**9))
        for total in (sizes[0], min(sizes[1], 1000)):
            while len(made) < total:
                made.append(create(f"bench:fill-{len(made)}"))
            known = made[0]["id"]
            baseline = median_ms(lambda: aws.distribution_get(known), 20)
            new = median_ms(lambda: create(f"bench:new-{next(counter)}"), 10)
            lost = median_ms(lambda: create("bench:fill-0"), 10)
            listing = median_ms(lambda: aws.distribution_find_by_caller_reference("bench:absent"), 3)
            line(f"{total:>6} distributions, new site (one CreateDistribution)", new, baseline, base_name="GetDistribution")
            line(f"{total:>6} distributions, lost id (Create -> AlreadyExists -> Get)", lost, baseline, base_name="GetDistribution")
            line(f"{total:>6} distributions, the old lookup (list every distribution)", listing, baseline, base_name="GetDistribution")
    finally:
        mock.stop()


def _quiet_broker():
    """Nothing leaves for a broker: the sends a save or a roll-out makes are dropped (counted)."""
    from sites import enqueue

    sent = []
    enqueue.task_send = lambda name, *args, **options: sent.append(name)
    return sent


def _admin_client():
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    settings.ALLOWED_HOSTS = ["testserver"]
    user, _ = get_user_model().objects.get_or_create(username="bench-admin", defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name="Admin"))
    client = Client()
    client.force_login(user)
    return client, user


def _releases():
    from sites.models import EdgeRelease

    old, _ = EdgeRelease.objects.get_or_create(
        version="bench-old", defaults=dict(zip_sha256="a" * 64, status="published", function_name="gatehouse-edge",
                                           version_arn="arn:aws:lambda:us-east-1:123456789012:function:gatehouse-edge:1"))
    new, _ = EdgeRelease.objects.get_or_create(
        version="bench-new", defaults=dict(zip_sha256="b" * 64, status="published", function_name="gatehouse-edge",
                                           version_arn="arn:aws:lambda:us-east-1:123456789012:function:gatehouse-edge:2"))
    return old, new


def bench_rollout(provider, sizes):
    """Roll-out to all sites: the POST (a row and one task) and the worker's batches on moto."""
    from django.urls import reverse

    from sites.models import ProtectedSite, Rollout

    print("== roll-out of an edge release to all sites")
    sent = _quiet_broker()
    client, user = _admin_client()
    old, new = _releases()

    # The POST: sites in the database only (it calls no AWS and moves no site).
    for total in sizes:
        sites_grow(provider, total)
        ProtectedSite.objects.filter(slug__startswith="s-").update(edge_release=old)
        ProtectedSite.objects.filter(slug="s-0").update(edge_release=new)  # one site checked first
        url = reverse("sites:release_rollout", args=[new.pk])

        def post_all():
            Rollout.objects.all().delete()
            response = client.post(url, {"scope": "all"})
            assert response.status_code == 302, response.status_code

        def post_one():
            client.post(url, {"scope": "one", "site": "s-1"})

        one = median_ms(post_one, 10)
        line(f"{total:>6} sites, POST roll-out to all (one row, one task)", median_ms(post_all, 10), one,
             base_name="POST roll-out to one site")
    ProtectedSite.objects.all().delete()
    Rollout.objects.all().delete()

    # The worker: real distributions on moto, moved a batch at a time; once
    # with moto in this process (its CPU shares the worker's interpreter lock)
    # and once with moto's server in its own process, as `make run` runs it.
    for where in ("moto in process", "moto's server"):
        if where == "moto in process":
            mock = moto_in_process()
            stop = mock.stop
        else:
            stop = moto_server()
        try:
            _rollout_worker(provider, sizes, old, new, user, where)
        finally:
            stop()
        ProtectedSite.objects.all().delete()
        Rollout.objects.all().delete()


def moto_server():
    """moto's server on a free loopback port, and sites.aws pointed at it; the stop function."""
    import socket
    import subprocess
    import urllib.request

    from django.conf import settings

    from sites import aws

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    settings.GATEHOUSE_AWS_ENDPOINT_URL = url
    aws.clients_reset()

    def stop():
        process.terminate()
        process.wait(timeout=10)
        settings.GATEHOUSE_AWS_ENDPOINT_URL = None
        aws.clients_reset()

    return stop


def _rollout_worker(provider, sizes, old, new, user, where):
    from django.db import transaction

    from sites import aws
    from sites.models import ProtectedSite, Rollout
    from sites.services.provisioning import rollout_advance, rollout_start
    from sites.services.provisioning.snapshots import snapshot_record
    from sites.services.sites import site_create

    oac_id = aws.oac_ensure(name="gatehouse-oac")
    made = []
    small, large = sizes[0], min(sizes[1], 200)
    for total in (small, large):
        while len(made) < total:
            i = len(made)
            with transaction.atomic():
                site = site_create(client="Bench", name=f"r{i}", slug=f"r-{i}", hosts=[f"r{i}.example"],
                                   provider=provider, allow_any_user=True, edge_release=old)
            created = aws.distribution_ensure(caller_reference=f"bench:r{i}", comment=f"bench r{i}",
                                              bucket_name=f"bench-r{i}", oac_id=oac_id, edge_version_arn=old.version_arn)
            # As provisioning records them: the distribution, the OAC it was
            # given, and CloudFront's answer (its config and ETag).
            ProtectedSite.objects.filter(pk=site.pk).update(
                distribution_id=created["id"], bucket_name=f"bench-r{i}", oac_name="gatehouse-oac"
            )
            site.distribution_id = created["id"]
            snapshot_record(site, created)
            made.append(created["id"])
        ProtectedSite.objects.update(edge_release=old)
        Rollout.objects.all().delete()
        start = time.perf_counter()
        rollout = rollout_start(release=new, actor=user)
        while rollout_advance(rollout_id=rollout.pk):
            pass
        took = time.perf_counter() - start
        assert rollout.counts()["updated"] == total, rollout.counts()

        def raw_update(distribution_id=made[0]):
            aws.distribution_update(distribution_id=distribution_id, mutate=lambda config: None)

        # The roll-out sends one UpdateDistribution a site over the recorded
        # config and ETag; the second baseline is that call alone.
        known = [aws.distribution_update(distribution_id=made[0], mutate=lambda config: None)]

        def raw_blind_update(distribution_id=made[0]):
            answer = known[0]
            known[0] = aws.distribution_update(distribution_id=distribution_id, mutate=lambda config: None,
                                               known=(answer["config"], answer["etag"]))

        raw = median_ms(raw_update, 20)
        blind = median_ms(raw_blind_update, 20)
        rate = total / took
        each = took * 1000 / total
        print(f"   {total:>6} sites, worker fan-out: {rate:.1f} sites/s ({each:.1f} ms a site) ({where})")
        print(f"          baseline one bare GetDistributionConfig + UpdateDistribution {raw:.2f} ms "
              f"({1000 / raw:.1f} a s), ratio {each / raw:.2f}")
        print(f"          baseline one bare UpdateDistribution over a known ETag {blind:.2f} ms "
              f"({1000 / blind:.1f} a s), ratio {each / blind:.2f}")


def _page(client, url, runs=10):
    size = len(client.get(url).content)
    return median_ms(lambda: client.get(url), runs), size


def bench_pages(provider, sizes):
    """The release page and the activity page, time and bytes, at the small and the large size."""
    from django.urls import reverse

    from sites.models import Activity, ProtectedSite

    print("== release page and activity page")
    _quiet_broker()
    client, _ = _admin_client()
    old, new = _releases()
    results = {}
    for total in sizes:
        sites_grow(provider, total)
        ProtectedSite.objects.filter(slug__startswith="s-").update(edge_release=old)
        have = Activity.objects.filter(verb="site.create").count()
        Activity.objects.bulk_create(
            [Activity(chain_id=f"c{i}", verb="site.create", site_slug=f"s-{i}", detail="bench") for i in range(have, total)],
            batch_size=1000,
        )
        for name, url in (("release page", reverse("sites:release", args=[new.pk])), ("activity page", reverse("sites:activity"))):
            results[(name, total)] = _page(client, url)
    for name in ("release page", "activity page"):
        (t0, b0), (t1, b1) = results[(name, sizes[0])], results[(name, sizes[1])]
        line(f"{name} at {sizes[1]} sites, time", t1, t0, base_name=f"at {sizes[0]} sites")
        line(f"{name} at {sizes[1]} sites, size", b1 / 1024, b0 / 1024, unit="KB", base_name=f"at {sizes[0]} sites")
    ProtectedSite.objects.all().delete()


# The server the dashboard figures are measured on; the benchmark makes a
# database of its own there and drops it afterwards.
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


def _dashboard_pages(provider, sizes):
    """On the database this process runs on: the dashboard's first and last page at each size."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from sites.models import Deployment, ProtectedSite
    from sites.views.lists import PAGE_SIZE

    print(f"== dashboard on {connection.vendor}: first and deepest page")
    client, _ = _admin_client()
    results = {}
    for total in sizes:
        sites_grow(provider, total)
        have = set(Deployment.objects.values_list("site_id", flat=True))
        Deployment.objects.bulk_create(
            [Deployment(kind=kind, site_id=pk, site_slug=slug, status="succeeded")
             for pk, slug in ProtectedSite.objects.values_list("pk", "slug") if pk not in have
             for kind in ("provision", "build")],
            batch_size=1000,
        )
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ANALYZE")
        url = reverse("sites:dashboard")
        last = max(1, -(-total // PAGE_SIZE))
        for name, query in (("first page", ""), ("deepest page", f"?page={last}")):
            connection.queries_log.clear()  # a full log (DEBUG keeps 9,000) would count nothing
            with CaptureQueriesContext(connection) as captured:
                client.get(url + query)
            results[(name, total)] = (*_page(client, url + query), len(captured.captured_queries))
    first_small = results[("first page", sizes[0])][0]
    for name in ("first page", "deepest page"):
        t, b, q = results[(name, sizes[1])]
        line(f"{name} at {sizes[1]} sites, time", t, first_small, base_name=f"first page at {sizes[0]} sites")
        print(f"   {name} at {sizes[1]} sites: {b / 1024:.1f} KB, {q} queries")
    t_deep, t_first = results[("deepest page", sizes[1])][0], results[("first page", sizes[1])][0]
    line(f"deepest page at {sizes[1]} sites against the first", t_deep, t_first, base_name="first page")


def bench_dashboard(provider, sizes):
    """The dashboard's first and deepest page at two sizes, on PostgreSQL (issue 9: deep pages <= 2x the first)."""
    import subprocess
    import uuid

    if os.environ.get("BENCH_SCALE_DATABASE_URL"):
        return _dashboard_pages(provider, sizes)
    try:
        import psycopg

        admin = psycopg.connect(POSTGRES_URL.replace("postgres://", "postgresql://", 1), autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001 - no server: say so and go on
        print(f"== dashboard on PostgreSQL: skipped, no server at {POSTGRES_URL} ({type(exc).__name__})")
        return
    name = f"gatehouse_bench_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
        env = dict(os.environ, BENCH_SCALE_DATABASE_URL=url)
        subprocess.run(
            [sys.executable, __file__, "--only", "dashboard", "--small", str(sizes[0]), "--large", str(sizes[1])],
            env=env, check=True,
        )
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


SECTIONS = {
    "hosts": bench_hosts,
    "distribution": bench_distribution,
    "rollout": bench_rollout,
    "pages": bench_pages,
    "dashboard": bench_dashboard,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=10000)
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    provider = provider_make()
    for name, section in SECTIONS.items():
        if args.only and name not in args.only:
            continue
        section(provider, (args.small, args.large))


if __name__ == "__main__":
    main()
