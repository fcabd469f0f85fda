"""Check the read replica (DATABASE_REPLICA_URL) against the primary (DATABASE_URL) and measure how long
a commit on the primary takes to become visible on the replica.

    DATABASE_REPLICA_URL=postgres://geo_mz:geo_mz@127.0.0.1:5433/geo_mz manage.py replica_check

1. The replica is a hot standby (in recovery) of this very primary (same system identifier).
2. Probes: each commits a transaction on the primary that writes only a WAL message
   (pg_logical_emit_message: no table is touched, so tile versions and ETags do not move), takes the
   primary's WAL position after the commit, and polls the replica until it has replayed past it.
   The time from the commit returning to the replica having replayed it is the replay lag a reader
   on the replica sees (an upper bound: the position can include other sessions' WAL).
3. Read-back: after one more wait for replay, the same reads on both servers (row counts of the
   tiled tables and each tile layer's version) must agree (they can differ only when other sessions
   write meanwhile).
4. What the application sees: core.db.replica_lag_seconds() (5 checks, 1 s apart) and read_alias().
Exit status 1 when the replica is missing, not a standby of this primary, or a probe times out.
"""

from __future__ import annotations

import statistics
import time
import uuid

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from geo_mz.core import db

READS = [
    ("divisions_division", "SELECT count(*) FROM divisions_division"),
    ("addresses_address", "SELECT count(*) FROM addresses_address"),
    ("facilities_facility", "SELECT count(*) FROM facilities_facility"),
    ("placenames_roadsegment", "SELECT count(*) FROM placenames_roadsegment"),
    (
        "tile versions",
        "SELECT string_agg(layer || '=' || v, ' ' ORDER BY layer) FROM "
        "(SELECT layer, sum(weight) AS v FROM core_tile_change GROUP BY layer) s",
    ),
]


def _one(alias: str, sql: str, params=None):
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


class Command(BaseCommand):
    help = "检查只读副本并测量复制延迟 / check the read replica and measure replay lag"

    def add_arguments(self, parser):
        parser.add_argument("--probes", type=int, default=20, help="探测次数 / number of probes (20)")
        parser.add_argument(
            "--timeout", type=float, default=10.0, help="每次等待上限（秒）/ seconds per probe"
        )

    def _wait_replayed(self, lsn: str, timeout: float) -> float:
        """Seconds until the replica has replayed WAL position `lsn`."""
        started = time.perf_counter()
        while True:
            if _one(db.REPLICA, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]):
                return time.perf_counter() - started
            if time.perf_counter() - started > timeout:
                raise CommandError(
                    f"副本在 {timeout} 秒内未回放到 {lsn} / the replica did not replay {lsn} in time"
                )
            time.sleep(0.0005)

    def handle(self, *args, probes: int, timeout: float, **options):
        if not db.replica_configured():
            raise CommandError("未配置只读副本 / DATABASE_REPLICA_URL is not set")
        primary, replica = connections[DEFAULT_DB_ALIAS], connections[db.REPLICA]
        out = self.stdout.write
        out(
            f"主库 / primary: {primary.settings_dict['HOST']}:{primary.settings_dict['PORT']}"
            f"/{primary.settings_dict['NAME']}; 副本 / replica: {replica.settings_dict['HOST']}:"
            f"{replica.settings_dict['PORT']}/{replica.settings_dict['NAME']}"
        )
        if not _one(db.REPLICA, "SELECT pg_is_in_recovery()"):
            raise CommandError(
                "副本不是热备（未处于恢复状态）/ the replica is not a hot standby (not in recovery)"
            )
        if _one(DEFAULT_DB_ALIAS, "SELECT pg_is_in_recovery()"):
            raise CommandError("DATABASE_URL 指向的是备库 / DATABASE_URL points at a standby")
        ids = [
            _one(alias, "SELECT system_identifier::text FROM pg_control_system()")
            for alias in (DEFAULT_DB_ALIAS, db.REPLICA)
        ]
        if ids[0] != ids[1]:
            raise CommandError(
                f"副本不是本主库的副本 / not a replica of this primary (system id {ids[1]} ≠ {ids[0]})"
            )
        out(f"热备，系统标识一致 / hot standby of this primary (system identifier {ids[0]})")
        with primary.cursor() as cursor:
            cursor.execute(
                "SELECT application_name, client_addr::text, state, sync_state, write_lag, flush_lag, "
                "replay_lag FROM pg_stat_replication ORDER BY application_name"
            )
            for name, addr, state, sync, write_lag, flush_lag, replay_lag in cursor.fetchall():
                out(
                    f"pg_stat_replication: {name} {addr} {state} ({sync}); write_lag={write_lag} "
                    f"flush_lag={flush_lag} replay_lag={replay_lag}"
                )

        lags = []
        run = uuid.uuid4().hex[:8]
        for i in range(probes):
            with transaction.atomic(using=DEFAULT_DB_ALIAS):
                _one(
                    DEFAULT_DB_ALIAS,
                    "SELECT pg_logical_emit_message(true, 'geo_mz.replica_check', %s)",
                    [f"{run}:{i}"],
                )
            lsn = _one(DEFAULT_DB_ALIAS, "SELECT pg_current_wal_insert_lsn()::text")
            lags.append(self._wait_replayed(lsn, timeout) * 1000)
            time.sleep(0.05)
        lags.sort()
        p95 = lags[min(len(lags) - 1, round(0.95 * (len(lags) - 1)))]
        out(
            f"提交后在副本可见 / commit → visible on the replica, {probes} probes: "
            f"min {lags[0]:.2f} ms, median {statistics.median(lags):.2f} ms, p95 {p95:.2f} ms, "
            f"max {lags[-1]:.2f} ms"
        )

        on_primary = {name: _one(DEFAULT_DB_ALIAS, sql) for name, sql in READS}
        self._wait_replayed(_one(DEFAULT_DB_ALIAS, "SELECT pg_current_wal_insert_lsn()::text"), timeout)
        on_replica = {name: _one(db.REPLICA, sql) for name, sql in READS}
        for name, _sql in READS:
            same = (
                "一致 / same"
                if on_primary[name] == on_replica[name]
                else "不同（有并发写入？）/ differs (concurrent writes?)"
            )
            out(f"读回 / read back {name}: primary {on_primary[name]} | replica {on_replica[name]} — {same}")

        db.replica_state_reset()
        lags = []
        for _ in range(5):
            lags.append(db.replica_lag_seconds())
            time.sleep(1)
        shown = ", ".join("None" if lag is None else f"{lag * 1000:.1f} ms" for lag in lags)
        out(f"core.db.replica_lag_seconds(), 5 × 1 s: {shown}")
        db.replica_state_reset()
        out(
            f"read_alias() = {db.read_alias()!r} (GEO_MZ_REPLICA_MAX_LAG_S = {settings.GEO_MZ_REPLICA_MAX_LAG_S})"
        )
