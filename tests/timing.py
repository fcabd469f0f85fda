"""Timing guards for bounded-work tests (issue 14): not benchmarks, but checks that a hostile input
cannot make a call slow.

The test machine is shared (several processes on two cores), so one run can be starved of CPU or hit
a garbage-collection pause caused by earlier tests. Catastrophic behaviour (backtracking, quadratic
key sets) is slow on *every* run, so the fastest of a few runs, with the cyclic GC paused, is the
number to compare with the bound.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def best_of(call: Callable[[], T], repeat: int = 3) -> tuple[T, float]:
    """(result of the last run, fastest run in seconds) of ``call`` run ``repeat`` times."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        fastest = float("inf")
        result: T
        for _ in range(repeat):
            started = time.perf_counter()
            result = call()
            fastest = min(fastest, time.perf_counter() - started)
    finally:
        if was_enabled:
            gc.enable()
    return result, fastest


def raised(call: Callable[[], object], expected: type[BaseException]) -> BaseException:
    """The ``expected`` exception raised by ``call`` (AssertionError when it returns or raises another)."""
    try:
        call()
    except expected as exc:
        return exc
    raise AssertionError(f"{expected.__name__} not raised")
