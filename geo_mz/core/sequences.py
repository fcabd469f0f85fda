"""Gap-free numbered sequences per scope: case numbers per year, feature codes, address codes per
township, certificate serials per county and year.

Never MAX()+1: two transactions reading the same maximum hand out the same number, and one of them
fails on the unique index (20 naming cases created at once gave 12 × 500). Here each number comes from
one upsert on the scope's counter row; the row stays locked until the caller's transaction commits, so
concurrent callers queue for a moment and each gets its own number, and a rolled-back transaction
gives its numbers back.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection, transaction


def next_serial(scope: str, count: int = 1, *, start_after: Callable[[], int] | None = None) -> int:
    """Reserve `count` consecutive numbers of `scope` and return the first.

    `start_after` gives the highest number already used when the scope has no counter yet (codes that
    existed before the counter, e.g. imported data); it is only called then. Runs in (or opens) a
    transaction: the reservation holds until that transaction ends."""
    if count < 1:
        raise ValueError("count must be at least 1")
    with transaction.atomic(), connection.cursor() as cur:
        seed = 0
        if start_after is not None:
            cur.execute("SELECT 1 FROM core_serialcounter WHERE scope = %s", [scope])
            if cur.fetchone() is None:
                seed = int(start_after() or 0)
        cur.execute(
            "INSERT INTO core_serialcounter (scope, last) VALUES (%s, %s) "
            "ON CONFLICT (scope) DO UPDATE SET last = core_serialcounter.last + %s RETURNING last",
            [scope, seed + count, count],
        )
        last = cur.fetchone()[0]
    return last - count + 1
