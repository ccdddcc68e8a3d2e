"""Edge config cache: memory against its budget, hit time against a no-op floor, same run.

    python benchmarks/bench_edge_cache.py [--before REV]

At 1,000 and 10,000 hosts, each served a config of about a real site's size
(two RSA keys, 14 KB parsed) by a stub fetcher:
- the memory the store holds (tracemalloc, after gc) against
  ``cache_max_bytes`` (the default, 32 MiB): bound, at most the budget;
- a cache hit (``ConfigStore.get`` of a cached host, host normalisation
  included) against the no-op floor, a stub store's ``get`` timed in turns
  with it (reported, no bound: the floor is a bare method call).

``--before REV`` adds the same figures for ``edge_runtime/store.py`` as it was
at REV (git show), e.g. ``ee2e50c``, the unbounded cache before
cache_max_bytes; the bounded hit is then bound to at most 1.15x that one's.
"""

import argparse
import gc
import importlib.util
import subprocess
import sys
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_edge import paired_us  # noqa: E402

from edge_runtime import store as store_module  # noqa: E402
from edge_runtime.settings import settings_from_dict  # noqa: E402
from tests.edge.test_store import _body_template  # noqa: E402

SETTINGS = settings_from_dict({"config_bucket": "gatehouse-config", "config_region": "us-east-1"})


def store_at(rev):
    """edge_runtime/store.py as it was at `rev`, imported inside the edge_runtime package."""
    source = subprocess.run(["git", "show", f"{rev}:edge_runtime/store.py"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    spec = importlib.util.spec_from_loader("edge_runtime._store_before", loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "edge_runtime"
    exec(compile(source, f"{rev}:edge_runtime/store.py", "exec"), module.__dict__)
    return module


def filled(module, hosts):
    """(store, bytes it holds per tracemalloc) after one fetch of each of `hosts` hosts."""
    template = _body_template()

    def fetcher(key):
        host = key.removeprefix("sites/").removesuffix(".json")
        return 200, template.replace(b"HOST.example", host.encode())

    clock = [1000.0]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        store = module.ConfigStore(SETTINGS, clock=lambda: clock[0], fetcher=fetcher)
        for i in range(hosts):
            store.get(f"site-{i}.example.com")
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    return store, held


class StubStore:
    def __init__(self, cfg):
        self.cfg = cfg

    def get(self, host):
        return self.cfg


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", help="a git revision whose edge_runtime/store.py to measure as well")
    args = parser.parse_args()
    variants = {"bounded": store_module}
    if args.before:
        variants[f"before ({args.before})"] = store_at(args.before)
    budget = SETTINGS.cache_max_bytes
    rows, missed = [], 0
    for hosts in (1_000, 10_000):
        stores = {}
        for name, module in variants.items():
            store, held = filled(module, hosts)
            stores[name] = store
            ok = held <= budget if name == "bounded" else None
            missed += ok is False
            rows.append((f"{hosts:>6} hosts, {name}: memory held", f"{held / 2**20:8.1f} MiB", f"budget {budget / 2**20:.0f} MiB",
                         f"{held / budget:5.2f}x", {True: "ok", False: "MISSED", None: ""}[ok]))  # fmt: skip
        hot = f"site-{hosts - 1}.example.com"
        floor_store = StubStore(stores["bounded"].get(hot))
        fns = {"floor": lambda: floor_store.get(hot)}
        for name, store in stores.items():
            fns[name] = (lambda s: lambda: s.get(hot))(store)
        us, ratio = paired_us(fns, number=20_000, repeat=21)
        before = next((name for name in stores if name != "bounded"), None)
        for name in stores:
            ok = None
            if name == "bounded" and before:
                ok = ratio[name] / ratio[before] <= 1.15
            missed += ok is False
            rows.append((f"{hosts:>6} hosts, {name}: cache hit", f"{us[name]:8.3f} us", f"no-op {us['floor']:.3f} us",
                         f"{ratio[name]:5.2f}x", {True: "ok (<= 1.15x before)", False: "MISSED", None: ""}[ok]))  # fmt: skip
        del stores
    print("medians of CPU time; ratios within turns against the same-run baseline; memory by tracemalloc after gc")
    print(f"{'figure':44} {'value':>12}   {'baseline':>18} {'ratio':>6}   verdict")
    for name, value, base, ratio, verdict in rows:
        print(f"{name:44} {value:>12}   {base:>18} {ratio:>6}   {verdict}")
    print(f"\n{missed} bound(s) missed" if missed else "\nevery bound held")


if __name__ == "__main__":
    main()
