"""House-number imports as background jobs (core.Job of kind ``address_import``), and the routing rule.

An upload runs as a job, not in the request, when it is asked for, when it is larger than
GEO_MZ_IMPORT_BACKGROUND_MB (`core.upload_files.import_background_bytes`), or when it holds more
than GEO_MZ_IMPORT_BACKGROUND_ROWS data rows (default 500), estimated cheaply from the file: lines
of a CSV, the <dimension> of an Excel sheet, the feature count of a vector layer
(`import_runs_in_background`). The request answers with the job (API: 202; page: a progress bar),
and the job's result is the importer's report (`ImportReport.as_dict()`).

A lost database connection during the import (a terminated backend, a restarted server) fails the
job with a message a user can act on (`bulk.CONNECTION_LOST`): nothing was written, retry.

(Moved here from addresses/bulk.py, which stays about the set-based import itself.)
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings

from geo_mz.addresses import bulk, importers, services, tabular
from geo_mz.core import jobs
from geo_mz.core.db import psycopg_conninfo
from geo_mz.core.upload_files import import_background_bytes

logger = logging.getLogger(__name__)

JOB_KIND = "address_import"
#: A committed import of more rows than this queues the rebuild of the low-zoom address clusters.
TILE_REFRESH_ROWS = 2_000


def background_rows() -> int:
    """Uploads with more data rows than this run as background jobs (GEO_MZ_IMPORT_BACKGROUND_ROWS)."""
    return int(getattr(settings, "GEO_MZ_IMPORT_BACKGROUND_ROWS", 500))


def upload_row_estimate(upload) -> int | None:
    """Data rows in an uploaded address file, estimated without parsing it (None: cannot tell)."""
    name = upload.name or ""
    if tabular.is_table_file(name):
        upload.open("rb")
        return tabular.table_row_estimate(name, upload.file)
    if bulk.is_vector_file(name):
        path = getattr(upload, "temporary_file_path", None)
        if path is not None:
            return bulk.vector_feature_count(path())
        with tempfile.TemporaryDirectory(prefix="geo_mz_count_") as tmp:  # small: held in memory
            target = Path(tmp) / Path(name).name
            with target.open("wb") as fh:
                for chunk in upload.chunks():
                    fh.write(chunk)
            upload.seek(0)
            return bulk.vector_feature_count(target)
    return None


def import_runs_in_background(upload, requested: bool = False, *, user=None) -> bool:
    """True when this address upload should be imported by a job rather than in the request.
    PermissionDenied first (before a byte is read) when `user` may not import addresses."""
    services._guard(user, [])
    if requested or int(upload.size or 0) > import_background_bytes():
        return True
    rows = upload_row_estimate(upload)
    return rows is not None and rows > background_rows()


def upload_save(upload) -> str:
    """Save an uploaded file where a job worker can read it: MEDIA_ROOT/jobs/uploads/<random>/<name>.
    Returns the path relative to MEDIA_ROOT (the job's params)."""
    from geo_mz.core.upload_files import upload_to_media  # size limit and archive check first

    return upload_to_media(upload)


def import_job_submit(upload, *, dry_run: bool, coordinate_system: str, user=None):
    """Queue an address import of `upload` (any format `addresses_import` reads) as a background job."""
    services._guard(user, [])  # refuse now (403), not in the job
    relative = upload_save(upload)
    return jobs.job_submit(
        JOB_KIND,
        {
            "upload": relative,
            "name": Path(upload.name).name,
            "dry_run": dry_run,
            "coordinate_system": coordinate_system,
        },
        user=user,
    )


class JobProgress:
    """Job progress written on a separate autocommit connection: the import runs in one transaction
    on Django's connection, and progress written there would stay invisible until it commits."""

    def __init__(self, ctx: jobs.JobContext) -> None:
        self.ctx = ctx
        self.conn = None
        self.last = 0.0

    def __call__(self, done: int, total: int | None = None, message: str = "") -> None:
        import psycopg

        now = time.monotonic()
        if now - self.last < 0.5 and not message:
            return
        self.last = now
        try:
            if self.conn is None:
                self.conn = psycopg.connect(**psycopg_conninfo(), autocommit=True)
            self.conn.execute(
                "UPDATE core_job SET progress = %s, total = coalesce(%s, total), "
                "message = CASE WHEN %s <> '' THEN %s ELSE message END WHERE id = %s",
                [done, total, message[:300], message[:300], self.ctx.job.pk],
            )
        except Exception:  # noqa: BLE001 - progress is best effort; the import itself must go on
            logger.warning("job %s: progress not recorded", self.ctx.job.pk, exc_info=True)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


@jobs.job_handler(JOB_KIND)
def address_import_job(ctx: jobs.JobContext) -> dict[str, Any]:
    """Run `importers.addresses_import` (set-based for tables and large vector files) on the saved
    upload; the result is the report. The upload is deleted afterwards. A lost database connection
    fails the job with `bulk.CONNECTION_LOST` (nothing written; the upload stays for a retry)."""
    params = ctx.job.params
    path = Path(settings.MEDIA_ROOT) / params["upload"]
    progress = JobProgress(ctx)
    try:
        if not path.exists():
            raise jobs.JobError("上传的文件已不存在 / the uploaded file is gone")
        report = importers.addresses_import(
            path,
            dry_run=bool(params.get("dry_run", True)),
            coordinate_system=params.get("coordinate_system", "wgs84"),
            user=ctx.job.created_by,
            progress=progress,
        )
        if any(e.field == bulk.CONNECTION_LOST_FIELD for e in report.file_errors):
            raise jobs.JobError(bulk.CONNECTION_LOST)
        report.source = params.get("name", path.name)
        if report.committed and report.total_rows > TILE_REFRESH_ROWS:
            # the low-zoom house-number clusters are precomputed: rebuild them after a large import
            # (the tiles module registers this job kind; until it runs, tiles say X-Tile-Grid: stale)
            jobs.job_submit("tiles_refresh", {"layer": "addresses"}, user=ctx.job.created_by)
        # the upload goes once the import has run; after a failure it stays for a retry (jobs_purge
        # removes it with the job)
        with contextlib.suppress(OSError):
            shutil.rmtree(path.parent)
        return report.as_dict()
    finally:
        progress.close()
