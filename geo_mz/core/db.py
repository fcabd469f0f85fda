"""Database helpers shared by selectors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def prefer_indexes() -> Iterator[None]:
    """Run the enclosed queries with sequential scans discouraged (SET LOCAL, this transaction only).

    For GIN-indexed array and trigram lookups PostgreSQL's selectivity estimate for `&&`/`@>` is a
    fixed guess (a few per cent), so on 100k rows it picks a sequential scan that detoasts every
    array: measured 1.1 s instead of 5 ms for the rule-check prefilter. The index is always the
    right plan for these lookups.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        yield


def import_finish(report) -> None:
    """Inside an importer's atomic block: commit only a clean, real run (see core.importing)."""
    if report.ok and not report.dry_run:
        report.committed = True
    else:
        transaction.set_rollback(True)
