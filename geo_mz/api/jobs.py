"""/api/jobs/: the signed-in user's background jobs of every kind, and one-click retry of a failed one
(e.g. interrupted by a restart: core.jobs marks it failed, and the user runs it again)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from geo_mz.api.exports import job_json
from geo_mz.core import jobs
from geo_mz.core.errors import ConflictError
from geo_mz.core.models import Job


@extend_schema(responses={200: OpenApiResponse({"type": "array", "items": {"type": "object"}})})
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def job_list(request):
    """The signed-in user's latest 50 background jobs (exports and imports), newest first."""
    return Response([job_json(j, request) for j in Job.objects.filter(created_by=request.user)[:50]])


@extend_schema(request=None, responses={202: dict, 404: dict, 409: dict})
@api_view(["POST"])
@permission_classes([IsAuthenticated])
def job_retry(request, pk: int):
    """Queue a failed job of the user's again with the same parameters; 202 with the new job."""
    job = Job.objects.filter(pk=pk, created_by=request.user).first()
    if job is None:
        raise exceptions.NotFound("没有这个任务")
    try:
        retry = jobs.job_retry(job, user=request.user)
    except jobs.JobError as exc:
        raise ConflictError(str(exc), "not_retryable") from exc
    return Response(job_json(retry, request), status=status.HTTP_202_ACCEPTED)
