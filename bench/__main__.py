"""`python -m bench` (or `make bench`): run every benchmark and print one table.

`python -m bench word …` runs the cases whose names contain a word. `python -m bench scale [word …]`
runs the million-feature modules (SCALE = True) instead, which expect the scale data set
(`make bench-scale` creates its own database geo_mz_scale and runs them)."""

from __future__ import annotations

import os
import sys

from bench import (
    bench_addresses_numbering,
    bench_api,
    bench_boundaries_derive,
    bench_coverage,
    bench_foundation,
    bench_import,
    bench_import_table,
    bench_placenames_rules,
    bench_placenames_search,
    bench_scale,
    bench_whatif,
)
from bench.runner import run, table

MODULES = [
    bench_foundation,
    bench_api,
    bench_placenames_rules,
    bench_placenames_search,
    bench_addresses_numbering,
    bench_boundaries_derive,
    bench_coverage,
    bench_import_table,
    bench_whatif,
    bench_scale,
    bench_import,
]


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_mz.settings")
    only = sys.argv[1:]
    scale = bool(only) and only[0] == "scale"
    if scale:
        only = only[1:]
    results = []
    for module in MODULES:
        if getattr(module, "SCALE", False) != scale:
            continue
        for case in module.cases():
            if only and not any(word in case.name for word in only):
                continue
            print(f"… {case.name}", file=sys.stderr, flush=True)
            results.append(run(case))
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
