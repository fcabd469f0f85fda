"""manage.py backup / restore round-trip the demo county into a fresh database, verified table by table."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from geo_mz.core.backup import BackupError, archive_verify, table_stats
from geo_mz.core.db import psycopg_conninfo


@pytest.fixture
def fresh_database():
    info = psycopg_conninfo()
    name = f"{info['dbname']}_restore"
    admin = {**info, "dbname": "postgres"}
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'")
    yield {**info, "dbname": name}
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _url(info: dict) -> str:
    return (
        f"postgres://{info['user']}:{info['password']}@{info.get('host', '127.0.0.1')}:"
        f"{info.get('port', 5432)}/{info['dbname']}"
    )


@pytest.mark.django_db
def test_backup_then_restore_reproduces_every_table_and_file(tmp_path, settings, fresh_database):
    # given the demo county plus an uploaded file
    media = tmp_path / "media"
    (media / "decisions/2026").mkdir(parents=True)
    (media / "decisions/2026/批复.pdf").write_bytes(b"%PDF-1.4 decision\n")
    settings.MEDIA_ROOT = media
    archive = tmp_path / "b.tar"
    # when it is backed up and restored into a fresh database and an empty media root
    call_command("backup", str(archive))
    restored_media = tmp_path / "restored"
    call_command(
        "restore",
        str(archive),
        "--yes",
        "--database-url",
        _url(fresh_database),
        "--media-root",
        str(restored_media),
    )
    # then every table has the same rows (count and checksum) as the source at backup time
    with psycopg.connect(**fresh_database) as conn, conn.cursor() as cur:
        restored = table_stats(cur)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM addresses_address")
        assert cur.fetchone()[0] > 0
    with psycopg.connect(**psycopg_conninfo()) as conn, conn.cursor() as cur:
        source = table_stats(cur)
    assert restored == source
    assert restored["placenames_namedfeature"]["rows"] > 100
    assert (restored_media / "decisions/2026/批复.pdf").read_bytes() == b"%PDF-1.4 decision\n"


@pytest.mark.django_db
def test_a_corrupted_archive_is_refused_before_anything_is_restored(tmp_path, settings, fresh_database):
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "media").mkdir()
    (tmp_path / "media/a.txt").write_text("original", encoding="utf-8")
    archive = tmp_path / "b.tar"
    call_command("backup", str(archive))
    # rewrite the archive with one media file changed
    bad = tmp_path / "bad.tar"
    with tarfile.open(archive) as src, tarfile.open(bad, "w") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read()
            if m.name == "media/a.txt":
                data = b"tampered"
                m.size = len(data)
            dst.addfile(m, io.BytesIO(data))
    with pytest.raises(BackupError, match="a.txt"):
        archive_verify(bad, tmp_path / "work")
    with pytest.raises(CommandError, match="a.txt"):
        call_command("restore", str(bad), "--yes", "--database-url", _url(fresh_database))
    with psycopg.connect(**fresh_database) as conn, conn.cursor() as cur:
        assert table_stats(cur) == {}  # nothing was restored
    assert Path(tmp_path / "media/a.txt").read_text(encoding="utf-8") == "original"
