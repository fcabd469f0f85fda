"""Background file imports: the importers that may run as jobs (core.import_jobs) and
/api/import-jobs/<id>/, where their submitter follows one (status, progress, then the report).

Facility and division imports larger than GEO_MZ_IMPORT_BACKGROUND_MB (or sent with
``background=true``) answer 202 with the job instead of holding the request for minutes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from geo_mz.api.exports import job_json
from geo_mz.core.import_jobs import JOB_KIND, file_importer
from geo_mz.core.importing import ImportReport
from geo_mz.core.models import Job
from geo_mz.divisions import services as division_services
from geo_mz.facilities import services as facilities


@file_importer("facilities")
def facilities_import_file(path: Path, params: dict[str, Any], user) -> ImportReport:
    return facilities.facilities_import(
        path,
        dry_run=bool(params.get("dry_run", True)),
        coordinate_system=params.get("coordinate_system", "wgs84"),
        user=user,
    )


@file_importer("divisions")
def divisions_import_file(path: Path, params: dict[str, Any], user) -> ImportReport:
    return division_services.divisions_import_path(path, params, user)


@extend_schema(responses={200: dict})
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def import_job(request, pk: int):
    """A background facility or division import: status, progress and, when done, the report in
    `result`. Only its submitter sees it."""
    job = Job.objects.filter(pk=pk, kind=JOB_KIND).first()
    if job is None or job.created_by_id != request.user.pk:
        raise exceptions.NotFound("没有这个导入任务 / no such import job")
    return Response(job_json(job, request))


def job_accepted(job: Job, request) -> dict[str, Any]:
    """The 202 body: the job, and where to follow it."""
    body = job_json(job, request)
    body["url"] = request.build_absolute_uri(f"/api/import-jobs/{job.pk}/")
    return body
