"""`manage.py restore archive`: verify a backup, restore it, and verify the restored data."""

from pathlib import Path

import dj_database_url
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from geo_mz.core.backup import BackupError, backup_restore
from geo_mz.core.db import psycopg_conninfo


class Command(BaseCommand):
    help = (
        "Restore a `manage.py backup` archive: checks the archive's checksums, restores the database "
        "(replacing its tables) and the files, then compares every table's row count and checksum with "
        "the manifest. Stop the web and job processes first."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive")
        parser.add_argument(
            "--database-url", help="restore into this database instead of the configured one (a rehearsal)"
        )
        parser.add_argument("--media-root", help="restore the files here instead of MEDIA_ROOT")
        parser.add_argument("--yes", action="store_true", help="do not ask before replacing the database")

    def handle(self, *args, **opts):
        if opts["database_url"]:
            d = dj_database_url.parse(opts["database_url"])
            conninfo = {"dbname": d["NAME"], "user": d["USER"], "password": d["PASSWORD"]}
            conninfo.update({k.lower(): d[k] for k in ("HOST", "PORT") if d.get(k)})
        else:
            conninfo = psycopg_conninfo()
        media_root = Path(opts["media_root"] or settings.MEDIA_ROOT)
        if not opts["yes"]:
            answer = input(f"这将替换数据库 {conninfo['dbname']} 的全部数据，继续？[y/N] ")
            if answer.strip().lower() not in {"y", "yes"}:
                raise CommandError("已取消")
        try:
            result = backup_restore(Path(opts["archive"]), conninfo, media_root)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        if not result.ok:
            raise CommandError("恢复后校验不符：\n" + "\n".join(result.problems))
        self.stdout.write(
            f"恢复完成并已校验：{result.tables_checked} tables, {result.files_checked} files match the manifest"
        )
