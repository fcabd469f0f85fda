"""core.sequences.next_serial: concurrent callers on real connections each get their own number."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from geo_mz.core.models import SerialCounter
from geo_mz.core.sequences import next_serial


@pytest.mark.django_db
def test_numbers_follow_on_and_start_after_existing_codes():
    assert next_serial("t:seeded", start_after=lambda: 41) == 42
    assert next_serial("t:seeded", start_after=lambda: 1 / 0) == 43  # only asked when there is no counter
    assert next_serial("t:block", 5) == 1
    assert next_serial("t:block") == 6
    with pytest.raises(ValueError):
        next_serial("t:block", 0)


def test_twenty_concurrent_callers_get_twenty_different_numbers(django_db_blocker):
    """Twenty threads, twenty connections, one new scope: no duplicate, no gap, no error (MAX()+1 gave
    12 IntegrityErrors out of 20)."""
    scope = "t:concurrent"
    barrier = threading.Barrier(20)
    got: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def take() -> None:
        try:
            barrier.wait()
            n = next_serial(scope, start_after=lambda: 100)
            with lock:
                got.append(n)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    with django_db_blocker.unblock():
        try:
            threads = [threading.Thread(target=take) for _ in range(20)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert errors == []
            assert sorted(got) == list(range(101, 121))
        finally:
            SerialCounter.objects.filter(scope=scope).delete()
