"""Database helpers shared by selectors.

Read replica
------------
When settings.DATABASES has a "replica" alias (DATABASE_REPLICA_URL: a streaming hot standby), the
high-volume anonymous reads (OGC API items/collections, vector tiles) run there; see read_alias() for
the rules and docs/scaling.md for the set-up. Everything else, and every write, uses default.
"""

from __future__ import annotations

import contextvars
import logging
import math
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction

logger = logging.getLogger(__name__)

REPLICA = "replica"
# How long (seconds) a replica lag check is trusted before the next one (per process).
LAG_CHECK_INTERVAL_S = 5.0

_pinned_alias: contextvars.ContextVar[str | None] = contextvars.ContextVar("geo_mz_read_alias", default=None)
# The last lag check: (monotonic time, replica usable?, lag in seconds or None).
_lag_state: dict[str, tuple[float, bool, float | None]] = {}

# Samples of the primary's WAL position taken by lag checks in this process: (monotonic time, position).
_primary_positions: deque[tuple[float, int]] = deque(maxlen=64)
LSN_SQL = "pg_wal_lsn_diff({}, '0/0')::bigint"  # a WAL position as a byte offset


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def replica_lag_seconds(using: str = REPLICA, wait_s: float = 0.02) -> float | None:
    """How far the standby behind `using` trails the primary (default), in seconds; None when that
    server is not a standby (not in recovery: a primary, or the test mirror of default).

    Measured against the primary's WAL position, not commit timestamps: the primary's current
    position is sampled, and if the standby replays past it within `wait_s`, the lag is the time that
    took (milliseconds, normally). Otherwise it is the age of the newest earlier sample (from previous
    checks in this process) that the standby has replayed: an upper bound, within the check interval.
    With no such sample, the age of its last replayed commit (pg_last_xact_replay_timestamp(), which
    overstates the lag while the primary runs a long transaction and commits nothing else)."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        if not cursor.fetchone()[0]:
            return None
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(f"SELECT {LSN_SQL.format('pg_current_wal_lsn()')}")
        position = int(cursor.fetchone()[0])
    sampled = time.monotonic()
    _primary_positions.append((sampled, position))
    with connections[using].cursor() as cursor:
        while True:
            cursor.execute(
                f"SELECT {LSN_SQL.format('pg_last_wal_replay_lsn()')}, "
                "extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8"
            )
            replayed, since_commit = cursor.fetchone()
            elapsed = time.monotonic() - sampled
            if replayed is not None and int(replayed) >= position:
                return elapsed
            if elapsed >= wait_s:
                break
            time.sleep(0.002)
    seen = [at for at, pos in _primary_positions if replayed is not None and pos <= int(replayed)]
    if seen:
        return time.monotonic() - max(seen)
    return math.inf if since_commit is None else max(0.0, float(since_commit))


def replica_state_reset() -> None:
    """Forget the last lag check (tests; after changing GEO_MZ_REPLICA_MAX_LAG_S)."""
    _lag_state.clear()
    _primary_positions.clear()


def _replica_usable() -> bool:
    """The replica is reachable and at most settings.GEO_MZ_REPLICA_MAX_LAG_S behind (checked at most
    every LAG_CHECK_INTERVAL_S seconds per process; 0 = never checked, always usable)."""
    max_lag = float(getattr(settings, "GEO_MZ_REPLICA_MAX_LAG_S", 30))
    if max_lag <= 0:
        return True
    now = time.monotonic()
    last = _lag_state.get(REPLICA)
    if last is not None and now - last[0] < LAG_CHECK_INTERVAL_S:
        return last[1]
    try:
        lag = replica_lag_seconds()
    except DatabaseError as exc:
        connections[REPLICA].close()
        lag, usable = None, False
        logger.warning("replica unreachable, reading from default: %s", exc)
    else:
        usable = lag is None or lag <= max_lag
        if not usable:
            logger.warning("replica %.1f s behind (max %.1f s), reading from default", lag, max_lag)
    _lag_state[REPLICA] = (now, usable, lag)
    return usable


def read_alias() -> str:
    """The database alias for reads that may lag a little behind the latest commit.

    "replica" only when it is configured and none of these hold, else "default":
    - default is inside a transaction (atomic block): this code may have written, and must read its
      own, uncommitted writes (this also keeps the test suite, whose tests run in a transaction, on
      default);
    - the replica is unreachable, or more than settings.GEO_MZ_REPLICA_MAX_LAG_S behind.
    Within read_pinned() the alias chosen on entry is kept; inside a transaction on the replica (e.g.
    OGC short_queries) the replica is kept, so one request never mixes the two servers.
    """
    if not replica_configured():
        return DEFAULT_DB_ALIAS
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    pinned = _pinned_alias.get()
    if pinned is not None:
        return pinned
    if connections[REPLICA].in_atomic_block:
        return REPLICA
    return REPLICA if _replica_usable() else DEFAULT_DB_ALIAS


@contextmanager
def read_pinned() -> Iterator[str]:
    """Choose the read alias once for the enclosed block (also a view decorator: `@read_pinned()`),
    so that, e.g., a tile's version (its ETag) and its bytes come from the same server."""
    token = _pinned_alias.set(read_alias())
    try:
        yield _pinned_alias.get()
    finally:
        _pinned_alias.reset(token)


@contextmanager
def read_cursor() -> Iterator:
    """A cursor for reads that may lag (see read_alias): on the replica when it is usable."""
    with connections[read_alias()].cursor() as cursor:
        yield cursor


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


# SQLSTATEs of a server that ended the session: admin shutdown (pg_terminate_backend), crash shutdown,
# cannot connect now; and class 08, connection exceptions.
_LOST_SQLSTATES = ("57P01", "57P02", "57P03")


def _psycopg_cause(exc: BaseException | None):
    """The psycopg error behind `exc` (Django wraps psycopg's errors in its own), or None."""
    import psycopg

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, psycopg.Error):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def connection_lost(exc: BaseException | None = None, using: str = DEFAULT_DB_ALIAS) -> bool:
    """True when `exc` (or the state of the connection `using`) says the database session is gone:
    backend terminated, server restarted, network cut. Not for errors of a live session (a statement
    timeout, a lock timeout, a constraint), which the caller handles as usual.

    Decided without running a query (inside a failed transaction every query fails while the
    session itself is fine): psycopg's broken/closed state, else the SQLSTATE of the psycopg error
    behind `exc` (none at all: a client-side connection failure). Django may already have opened a
    fresh connection when an atomic block's failed rollback dropped the dead one, so `exc` decides
    then. Callers must not run cleanup SQL on a lost connection: close it instead."""
    import psycopg

    raw = connections[using].connection
    if raw is not None and (getattr(raw, "broken", False) or raw.closed):
        return True
    error = _psycopg_cause(exc)
    if error is None:
        return False
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate is None:
        return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)
    return sqlstate.startswith("08") or sqlstate in _LOST_SQLSTATES


def psycopg_conninfo(alias: str = DEFAULT_DB_ALIAS) -> dict:
    """`psycopg.connect(**…)` arguments for a database alias: for work that needs its own connection
    beside Django's (export cursors, progress that must be visible before the caller commits)."""
    s = connections[alias].settings_dict
    info = {"dbname": s["NAME"], "user": s["USER"], "password": s["PASSWORD"]}
    info.update({key.lower(): s[key] for key in ("HOST", "PORT") if s.get(key)})
    return info


def advisory_xact_lock(namespace: str, key: str, using: str = DEFAULT_DB_ALIAS) -> None:
    """Take a PostgreSQL transaction-level advisory lock on (`namespace`, `key`); it is released when
    the surrounding transaction ends. For rules no single row or constraint can hold (a county-wide
    "no two active names alike" check runs in Python over many rows): every writer that checks and
    then writes takes the same lock first, so the second one checks after the first has committed."""
    if not connections[using].in_atomic_block:
        raise RuntimeError("advisory_xact_lock needs a transaction (transaction.atomic)")
    with connections[using].cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))", [namespace, key])
