"""Backup and restore of a geo-mz installation: the database (``pg_dump -Fc``) and the uploaded files
(MEDIA_ROOT) in one archive, with a manifest that makes a restore verifiable.

Archive layout (an uncompressed tar; the dump is already compressed)::

    manifest.json   format, time, database, per-table row counts and checksums, file sizes and SHA-256
    database.dump   pg_dump custom format, taken from the same snapshot as the counts
    media/...       every file under MEDIA_ROOT

Consistency: the counts and checksums are read inside a REPEATABLE READ transaction that exports its
snapshot, and ``pg_dump --snapshot`` dumps exactly that snapshot, so the manifest describes the dump
even while users keep writing. A table checksum is the MD5 of the sorted MD5s of its rows' text form:
independent of physical row order, so a restored table has the same checksum.

Restore verifies the archive against its manifest first (dump and media SHA-256), restores into the
target database (``pg_restore --clean --if-exists --no-owner``), copies the media files, then recounts
and re-checksums every table and reports any difference. Nothing here runs Django's ORM: it works on any
database URL, e.g. a fresh one for a rehearsal.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

FORMAT = "geo-mz-backup/1"
_CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore could not be made or does not verify; the message says what and where."""


@dataclass
class Verification:
    """The outcome of comparing a database (and media) with a manifest."""

    tables_checked: int = 0
    files_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _env(conninfo: dict[str, Any]) -> dict[str, str]:
    """libpq environment for pg_dump/pg_restore: the password never appears on a command line."""
    env = dict(os.environ)
    mapping = {
        "host": "PGHOST",
        "port": "PGPORT",
        "user": "PGUSER",
        "password": "PGPASSWORD",
        "dbname": "PGDATABASE",
    }
    for key, var in mapping.items():
        if conninfo.get(key):
            env[var] = str(conninfo[key])
    return env


def _tables(cur: psycopg.Cursor) -> list[str]:
    cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    return [row[0] for row in cur.fetchall()]


def table_stats(cur: psycopg.Cursor) -> dict[str, dict[str, Any]]:
    """Rows and an order-independent checksum of every table in the public schema."""
    stats: dict[str, dict[str, Any]] = {}
    for table in _tables(cur):
        cur.execute(
            sql.SQL(
                "SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h), '')) "
                "FROM (SELECT md5(t::text) AS h FROM {} AS t) AS rows"
            ).format(sql.Identifier(table))
        )
        rows, checksum = cur.fetchone()
        stats[table] = {"rows": rows, "md5": checksum}
    return stats


def _media_files(media_root: Path) -> Iterator[Path]:
    if media_root.is_dir():
        for path in sorted(media_root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                yield path


def backup_create(conninfo: dict[str, Any], media_root: Path, target: Path) -> dict[str, Any]:
    """Write a backup archive to `target` and return its manifest."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="geo-mz-backup-") as tmp:
        dump = Path(tmp) / "database.dump"
        with psycopg.connect(**conninfo) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SELECT pg_export_snapshot(), current_database(), version()")
                snapshot, dbname, version = cur.fetchone()
                done = subprocess.run(
                    ["pg_dump", "-Fc", "--no-owner", f"--snapshot={snapshot}", "-f", str(dump)],
                    env=_env(conninfo),
                    capture_output=True,
                    text=True,
                )
                if done.returncode != 0:
                    raise BackupError(f"pg_dump 失败：{done.stderr.strip()}")
                tables = table_stats(cur)
        files = [
            {"path": p.relative_to(media_root).as_posix(), "size": p.stat().st_size, "sha256": _sha256(p)}
            for p in _media_files(media_root)
        ]
        manifest = {
            "format": FORMAT,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "database": dbname,
            "server_version": version,
            "dump": {"size": dump.stat().st_size, "sha256": _sha256(dump)},
            "tables": tables,
            "media": files,
        }
        partial = target.with_name(target.name + ".partial")
        with tarfile.open(partial, "w") as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            tar.add(dump, arcname="database.dump")
            for entry in files:
                tar.add(media_root / entry["path"], arcname=f"media/{entry['path']}")
        partial.replace(target)  # a reader never sees a half-written archive under the final name
    return manifest


def _safe_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members = []
    for m in tar.getmembers():
        name = Path(m.name)
        if name.is_absolute() or ".." in name.parts or not (m.isfile() or m.isdir()):
            raise BackupError(f"备份包含不安全的条目：{m.name}")
        members.append(m)
    return members


def archive_verify(archive: Path, workdir: Path) -> dict[str, Any]:
    """Unpack `archive` into `workdir` and check the dump and every media file against the manifest."""
    try:
        with tarfile.open(archive, "r") as tar:
            tar.extractall(workdir, members=_safe_members(tar), filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"无法读取备份文件 {archive}：{exc}") from exc
    manifest_path = workdir / "manifest.json"
    if not manifest_path.is_file():
        raise BackupError("备份中没有 manifest.json")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise BackupError(f"不支持的备份格式：{manifest.get('format')}")
    dump = workdir / "database.dump"
    if not dump.is_file() or _sha256(dump) != manifest["dump"]["sha256"]:
        raise BackupError("数据库转储的校验和与清单不符（备份已损坏）")
    for entry in manifest["media"]:
        path = workdir / "media" / entry["path"]
        if not path.is_file() or _sha256(path) != entry["sha256"]:
            raise BackupError(f"文件 {entry['path']} 缺失或校验和不符（备份已损坏）")
    return manifest


def database_verify(conninfo: dict[str, Any], manifest: dict[str, Any]) -> Verification:
    """Compare every table's row count and checksum in a database with the manifest."""
    result = Verification()
    with psycopg.connect(**conninfo) as conn, conn.cursor() as cur:
        actual = table_stats(cur)
    for table, expected in manifest["tables"].items():
        got = actual.get(table)
        result.tables_checked += 1
        if got is None:
            result.problems.append(f"表 {table} 不存在")
        elif got != expected:
            result.problems.append(
                f"表 {table}：应有 {expected['rows']} 行（校验 {expected['md5']}），实有 {got['rows']} 行（校验 {got['md5']}）"
            )
    for table in sorted(set(actual) - set(manifest["tables"])):
        result.problems.append(f"表 {table} 不在备份中")
    return result


def backup_restore(archive: Path, conninfo: dict[str, Any], media_root: Path) -> Verification:
    """Verify `archive`, restore it into the database `conninfo` and the files into `media_root`, then
    verify the restored database and files against the manifest."""
    with tempfile.TemporaryDirectory(prefix="geo-mz-restore-") as tmp:
        work = Path(tmp)
        manifest = archive_verify(Path(archive), work)
        done = subprocess.run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--exit-on-error",
                "--single-transaction",
                "-d",
                conninfo["dbname"],
                str(work / "database.dump"),
            ],
            env=_env(conninfo),
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise BackupError(f"pg_restore 失败：{done.stderr.strip()[-2000:]}")
        media_root.mkdir(parents=True, exist_ok=True)
        for entry in manifest["media"]:
            dest = media_root / entry["path"]
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(work / "media" / entry["path"], dest)
    result = database_verify(conninfo, manifest)
    for entry in manifest["media"]:
        result.files_checked += 1
        path = media_root / entry["path"]
        if not path.is_file() or _sha256(path) != entry["sha256"]:
            result.problems.append(f"文件 {entry['path']} 恢复后校验和不符")
    return result
