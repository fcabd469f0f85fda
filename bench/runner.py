"""Tiny benchmark harness: each case times an operation and its named reference in the same run and
reports the ratio and the peak memory (tracemalloc, Python allocations incl. numpy buffers).

A case is a function returning `Case(name, target, reference, reference_name, repeat)`; later issues
add modules to bench/ and list them in bench/__main__.py.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Case:
    name: str
    target: Callable[[], object]
    reference: Callable[[], object]
    reference_name: str
    repeat: int = 5
    statistic: str = "median"  # or "p95": then each call should be one request of a mixed workload
    concurrency: int = 1  # > 1: the calls run on this many threads at once (clients), latency per call
    note: Callable[[], str] | None = None  # after the run: text appended to the name (e.g. server RSS)


@dataclass
class Result:
    name: str
    seconds: float
    reference_name: str
    reference_seconds: float
    peak_mib: float
    statistic: str = "median"

    @property
    def ratio(self) -> float:
        """Reference time / target time: > 1 means we are faster than the reference."""
        return self.reference_seconds / self.seconds if self.seconds else float("inf")


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _time(fn: Callable[[], object], repeat: int, statistic: str = "median", concurrency: int = 1) -> float:
    fn()  # warm-up (caches, imports, JIT of numpy paths)
    samples = []
    if concurrency > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(lambda _: fn(), range(concurrency)))  # warm every client
            samples = list(pool.map(lambda _: _timed(fn), range(repeat)))
    for _ in range(repeat if concurrency <= 1 else 0):
        gc.collect()
        samples.append(_timed(fn))
    if statistic == "p95" and len(samples) >= 20:
        return statistics.quantiles(samples, n=20)[18]
    return statistics.median(samples)


def _peak(fn: Callable[[], object]) -> float:
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def run(case: Case) -> Result:
    result = Result(
        name=case.name,
        seconds=_time(case.target, case.repeat, case.statistic, case.concurrency),
        reference_name=case.reference_name,
        reference_seconds=_time(case.reference, case.repeat, case.statistic, case.concurrency),
        peak_mib=_peak(case.target),
        statistic=case.statistic,
    )
    if case.note is not None:
        result.name += f" [{case.note()}]"
    return result


def _fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def table(results: list[Result]) -> str:
    headers = ("operation", "stat", "time", "reference", "ref time", "ratio (ref/ours)", "peak MiB")
    rows = [
        (
            r.name,
            r.statistic,
            _fmt_time(r.seconds),
            r.reference_name,
            _fmt_time(r.reference_seconds),
            f"{r.ratio:.1f}×",
            f"{r.peak_mib:.1f}",
        )
        for r in results
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]
    line = " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    sep = "-+-".join("-" * w for w in widths)
    body = [" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join([line, sep, *body])
