"""民政设施与覆盖分析 pages: the facility registry (with import), the coverage workbench (run, suggest
sites, compare a scenario, "what if I put one here"), a run's results with the folium analysis map,
and the indicator dashboard. Thin over facilities.services / coverage.services."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from geo_mz.core import crs, import_jobs
from geo_mz.core.csp_policy import nonce_tags
from geo_mz.core.permissions import require_role
from geo_mz.core.upload_files import saved_upload
from geo_mz.coverage import reports, whatif
from geo_mz.coverage import services as coverage
from geo_mz.coverage.models import ChangeAction, CoverageRun
from geo_mz.divisions.models import Division, Level
from geo_mz.facilities import services as facilities
from geo_mz.facilities.models import DemandGroup, FacilityStatus, FacilityType
from geo_mz.web.placename_views import _error_text, _map_config

ERRORS = (ValidationError, PermissionDenied, ValueError)


def _facilities_import(request):
    """The import form: role first (before the upload is read), then a report, or for a large file
    a background job (core.import_jobs) announced in a message."""
    upload = request.FILES["file"]
    options = {
        "dry_run": not request.POST.get("commit"),
        "coordinate_system": request.POST.get("coordinate_system", "wgs84"),
    }
    try:
        require_role(request.user, facilities.APP)
        if import_jobs.runs_in_background(upload):
            job = import_jobs.import_job_submit("facilities", upload, options, user=request.user)
            messages.info(
                request,
                _("文件较大，已转为后台导入任务 #%(id)s，进度与报告见 %(url)s")
                % {"id": job.pk, "url": f"/api/import-jobs/{job.pk}/"},
            )
            return None
        with saved_upload(upload) as path:
            report = facilities.facilities_import(path, user=request.user, **options)
    except ERRORS as exc:
        messages.error(request, _error_text(exc))
        return None
    report.source = Path(upload.name or "").name
    return report


@login_required
def facility_registry(request):
    report = None
    if request.method == "POST" and request.POST.get("form") == "create":
        try:
            lon, lat = float(request.POST["lon"]), float(request.POST["lat"])
            crs.check_lonlat(lon, lat)
            x, y = crs.lonlat_to_projected(lon, lat, settings.GEO_MZ_SRID)
            from django.contrib.gis.geos import Point

            numbers = {
                k: int(request.POST[k]) for k in ("beds", "nursing_beds", "places") if request.POST.get(k)
            }
            f = facilities.facility_create(
                type_code=request.POST.get("type", ""),
                name=request.POST.get("name", ""),
                point=Point(float(x), float(y), srid=settings.GEO_MZ_SRID),
                status=request.POST.get("status") or FacilityStatus.OPERATING,
                user=request.user,
                **numbers,
            )
            messages.success(request, f"已登记 {f.name}（{f.code}，{f.division.name}）")
            return redirect("web:facilities")
        except (*ERRORS, KeyError, crs.CoordinateError) as exc:
            messages.error(request, _error_text(exc))
    if request.method == "POST" and request.FILES.get("file"):
        report = _facilities_import(request)
    qs = coverage.facilities_within(request.GET.get("within") or _map_config()["countyCode"]).order_by(
        "type__sort_order", "code"
    )
    type_code, status = request.GET.get("type", ""), request.GET.get("status", "")
    if type_code:
        qs = qs.filter(type__code=type_code)
    if status:
        qs = qs.filter(status=status)
    return render(
        request,
        "coverage/facilities.html",
        {
            "facilities": qs,
            "types": FacilityType.objects.all(),
            "statuses": FacilityStatus.choices,
            "type_code": type_code,
            "status": status,
            "report": report,
            "systems": sorted(crs.COORDINATE_SYSTEMS),
            "map_config": _map_config() | {"facilityType": type_code},
        },
    )


@login_required
def workbench(request):
    if request.method == "POST":
        form = request.POST.get("form")
        try:
            radius = float(request.POST["radius_m"]) if request.POST.get("radius_m") else None
            if form == "run":
                run = coverage.coverage_run(
                    request.POST.getlist("types"),
                    mode=request.POST.get("mode", "straight"),
                    group=request.POST.get("group", DemandGroup.OLDER),
                    radius_m=radius,
                    user=request.user,
                )
            else:
                run = coverage.suggest_sites(
                    request.POST.get("type", ""),
                    int(request.POST.get("k") or 0),
                    candidates=request.POST.get("candidates", "villages"),
                    mode=request.POST.get("mode", "straight"),
                    radius_m=radius,
                    minimal=bool(request.POST.get("minimal")),
                    user=request.user,
                )
            return redirect("web:coverage-run", pk=run.pk)
        except ERRORS as exc:
            messages.error(request, _error_text(exc))
    return render(
        request,
        "coverage/workbench.html",
        {
            "types": FacilityType.objects.exclude(radius_m__isnull=True),
            "groups": DemandGroup.choices,
            "runs": CoverageRun.objects.select_related("scenario")[:20],
        },
    )


@login_required
def run_detail(request, pk: int):
    run = get_object_or_404(CoverageRun.objects.select_related("scenario"), pk=pk)
    comparison = None
    if request.method == "POST" and run.suggestions:
        try:
            scenario = coverage.scenario_create(
                f"{run.label}（分析 #{run.pk}）",
                "由选址建议生成",
                [{"action": ChangeAction.ADD, "type": run.parameters["type"], "lon": s["lon"], "lat": s["lat"],
                  "name": f"建议选址 {s['rank']}", "radius_m": run.parameters.get("radius_m")} for s in run.suggestions],
                user=request.user,
            )  # fmt: skip
            comparison = coverage.scenario_compare(
                scenario, [run.parameters["type"]], mode=run.parameters["mode"], group=run.parameters["group"],
                radius_m=run.parameters.get("radius_m"),
            )  # fmt: skip
        except ERRORS as exc:
            messages.error(request, _error_text(exc))
    types = run.parameters.get("types") or [run.parameters.get("type")]
    whatif.warm_up()  # the page's what-if: prepare this worker's index while the planner reads
    return render(
        request,
        "coverage/run.html",
        {
            "run": run,
            "comparison": comparison,
            "map_config": _map_config()
            | {"runId": run.pk, "types": types, "whatIfType": types[0], "group": run.parameters.get("group")},
        },
    )


@login_required
def run_map(request, pk: int):
    run = get_object_or_404(CoverageRun, pk=pk)
    # folium writes its map as inline <script>/<style> blocks (data JSON-escaped): they carry this
    # response's CSP nonce, so the strict policy stays in force for the page
    return HttpResponse(nonce_tags(reports.run_map_html(run, standalone=False), str(request.csp_nonce)))


@login_required
def dashboard(request):
    try:
        data = coverage.indicators(request.GET.get("within") or None)
    except Division.DoesNotExist:
        data = coverage.indicators(None)
    townships = Division.objects.filter(
        level=Level.TOWNSHIP, code__startswith=settings.GEO_MZ_COUNTY_CODE
    ).order_by("code")
    return render(request, "coverage/dashboard.html", {"data": data, "townships": townships})
