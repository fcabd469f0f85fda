"""Large file imports as background jobs (core.Job of kind ``file_import``).

A request whose upload is larger than GEO_MZ_IMPORT_BACKGROUND_MB (or that asks for `background`)
does not run the importer while the client waits: the upload is checked and saved where a worker
can read it (core.upload_files.upload_to_media: size limit, archive check), a job is queued, and the
request answers 202 with the job. The job's result is the importer's report (`ImportReport.as_dict`),
and the saved upload is removed when the job ends, whatever the outcome.

Importers register by name (`file_importer`); the apps' API modules do, so every process that
imports `geo_mz.api` (web and `manage.py jobs_work`) knows them. The address importer keeps its own
job kind (addresses/bulk.py) with finer progress.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings

from geo_mz.core import jobs
from geo_mz.core.importing import ImportReport
from geo_mz.core.models import Job
from geo_mz.core.upload_files import import_background_bytes, upload_to_media

JOB_KIND = "file_import"

Importer = Callable[[Path, dict[str, Any], Any], ImportReport]
_IMPORTERS: dict[str, Importer] = {}


def file_importer(name: str) -> Callable[[Importer], Importer]:
    """Register `fn(path, params, user) -> ImportReport` as the importer called `name`."""

    def register(fn: Importer) -> Importer:
        _IMPORTERS[name] = fn
        return fn

    return register


def runs_in_background(upload: Any, requested: bool = False) -> bool:
    """True when the import should be a job: asked for, or larger than the threshold."""
    return bool(requested) or int(upload.size or 0) > import_background_bytes()


def import_job_submit(name: str, upload: Any, params: dict[str, Any], *, user) -> Job:
    """Save the (checked) upload and queue the import `name` with JSON-able `params`.

    Call it after the permission check: the upload is written to disk here."""
    if name not in _IMPORTERS:
        raise ValueError(f"unknown importer {name!r}")
    relative = upload_to_media(upload)
    return jobs.job_submit(
        JOB_KIND,
        {"importer": name, "upload": relative, "name": Path(upload.name or "").name[:200], **params},
        user=user,
    )


@jobs.job_handler(JOB_KIND)
def file_import_job(ctx: jobs.JobContext) -> dict[str, Any]:
    params = dict(ctx.job.params)
    path = Path(settings.MEDIA_ROOT) / params.pop("upload")
    try:
        importer = _IMPORTERS.get(params.pop("importer", ""))
        if importer is None:
            raise jobs.JobError("未知导入类型 / unknown importer")
        if not path.exists():
            raise jobs.JobError("上传的文件已不存在 / the uploaded file is gone")
        name = params.pop("name", path.name)
        ctx.progress(0, None, f"正在导入 {name} / importing")
        report = importer(path, params, ctx.job.created_by)
        report.source = name
        return report.as_dict()
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(path.parent)
