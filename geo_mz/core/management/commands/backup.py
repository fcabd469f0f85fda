"""`manage.py backup [path]`: the database and the uploaded files in one verifiable archive."""

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from geo_mz.core.backup import BackupError, backup_create
from geo_mz.core.db import psycopg_conninfo


class Command(BaseCommand):
    help = (
        "Back up the database (pg_dump -Fc, one consistent snapshot) and MEDIA_ROOT into one archive "
        "with a manifest of per-table row counts and checksums and file SHA-256 (restore: manage.py restore)."
    )

    def add_arguments(self, parser):
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        parser.add_argument("path", nargs="?", default=f"backups/geo-mz-{stamp}.tar", help="archive to write")

    def handle(self, *args, **opts):
        target = Path(opts["path"])
        try:
            manifest = backup_create(psycopg_conninfo(), Path(settings.MEDIA_ROOT), target)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        rows = sum(t["rows"] for t in manifest["tables"].values())
        self.stdout.write(
            f"备份完成 {target}: {len(manifest['tables'])} tables, {rows} rows, "
            f"{len(manifest['media'])} files, {target.stat().st_size / 1e6:.1f} MB"
        )
