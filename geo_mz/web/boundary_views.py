"""界线 pages: the schedule dashboard, derivation from division polygons, a line with its markers and
inspection history, and the inspection form (tablet-friendly) through both sides' confirmation.
Thin over boundaries.services / selectors."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from geo_mz.boundaries import importers, reports, selectors, services
from geo_mz.boundaries.models import (
    Action,
    BoundaryLine,
    Condition,
    Inspection,
    InspectionKind,
    LineLevel,
    Marker,
)
from geo_mz.boundaries.reports import condition_definitions
from geo_mz.core import visibility
from geo_mz.core.errors import ConflictError
from geo_mz.core.permissions import require_edit
from geo_mz.core.upload_files import photo_map, read_upload, saved_upload
from geo_mz.web.placename_views import _error_text, _map_config

EDIT_ERRORS = (ValidationError, ConflictError, PermissionDenied)


def _year(request, default: int) -> int:
    try:
        return int(request.GET.get("year", default))
    except ValueError:
        return default


@login_required
def boundaries_home(request):
    today = dt.date.today()
    within = settings.GEO_MZ_COUNTY_CODE
    schedules = selectors.line_schedules(today, within)
    year = _year(request, selectors.last_year_with_inspections() or today.year)
    attention = selectors.markers_attention(within)
    config = _map_config() | {"boundaries": True}
    return render(
        request,
        "boundaries/home.html",
        {
            "today": today,
            "schedules": schedules,
            "due": [s for s in schedules if s.state in ("due", "overdue")],
            "queue": selectors.inspection_queue(within),
            "year": year,
            "figures": selectors.annual_figures(year, within),
            "lost": attention["lost"],
            "repair": attention["repair"],
            "map_config": config,
        },
    )


@login_required
def derive_page(request):
    level = request.POST.get("level") or request.GET.get("level") or LineLevel.COUNTY
    tolerance = (
        request.POST.get("tolerance_m") or request.GET.get("tolerance_m") or services.DEFAULT_TOLERANCE_M
    )
    run, error = None, ""
    try:
        run = services.lines_derive(level, tolerance_m=float(tolerance))
        if request.method == "POST":
            counts = services.lines_store(run, user=request.user)
            messages.success(
                request,
                f"已保存：新增 {counts['created']}，替换 {counts['replaced']}，撤销 {counts['retired']}，未变 {counts['unchanged']}",
            )
            return redirect(f"{reverse('web:boundary-derive')}?level={level}&tolerance_m={tolerance}")
    except (*EDIT_ERRORS, ValueError) as exc:
        error = _error_text(exc)
    return render(
        request,
        "boundaries/derive.html",
        {"run": run, "error": error, "level": level, "tolerance": tolerance, "levels": LineLevel.choices},
    )


@login_required
def line_detail(request, pk: int):
    line = get_object_or_404(
        BoundaryLine.objects.select_related("division_a", "division_b", "previous"), pk=pk
    )
    if request.method == "POST":
        try:
            if request.POST.get("form") == "line":
                services.line_update(
                    line.pk,
                    user=request.user,
                    expected_version=request.POST.get("version"),
                    name=request.POST.get("name", "").strip(),
                    agreement_no=request.POST.get("agreement_no", "").strip(),
                    agreement_date=request.POST.get("agreement_date") or None,
                    approving_authority=request.POST.get("approving_authority", "").strip(),
                )
                messages.success(request, "界线信息已保存")
                return redirect("web:boundary-line", pk=line.pk)
            if request.POST.get("form") == "inspection":
                insp = services.inspection_create(
                    line.pk,
                    round_year=int(request.POST["round_year"]),
                    kind=request.POST.get("kind", InspectionKind.REGULAR),
                    reason=request.POST.get("reason", ""),
                    lead_code=request.POST.get("lead", ""),
                    start_date=dt.date.fromisoformat(request.POST["start_date"]),
                    user=request.user,
                )
                return redirect("web:boundary-inspection", pk=insp.pk)
        except (*EDIT_ERRORS, ValueError, KeyError) as exc:
            messages.error(request, _error_text(exc))
    schedule = next((s for s in selectors.line_schedules(dt.date.today()) if s.line.pk == line.pk), None)
    return render(
        request,
        "boundaries/line_detail.html",
        {
            "line": line,
            "schedule": schedule,
            "markers": selectors.current_markers(line).order_by("seq", "letter"),
            "quality": services.marker_quality(line) if line.status != "retired" else [],
            "inspections": line.inspections.select_related("lead").order_by("-round_year", "-start_date"),
            "kinds": InspectionKind.choices,
            "today": dt.date.today(),
            "map_config": _map_config() | {"lineId": line.pk},
        },
    )


def _photos(request) -> list[services.PhotoUpload]:
    return [
        services.PhotoUpload(f.name, read_upload(f, field="photos")) for f in request.FILES.getlist("photos")
    ]


def _measured(post):
    lon, lat = post.get("lon", "").strip(), post.get("lat", "").strip()
    x, y = post.get("x", "").strip(), post.get("y", "").strip()
    if lon or lat:
        return services.marker_point_from_input(lon=float(lon), lat=float(lat))
    if x or y:
        return services.marker_point_from_input(x=float(x), y=float(y))
    return None


def _upload_report(upload, fn):
    with saved_upload(upload) as path:
        report = fn(path)
    report.source = upload.name
    return report


@login_required
def inspection_detail(request, pk: int):
    insp = get_object_or_404(
        Inspection.objects.select_related("line__division_a", "line__division_b", "lead", "corrects"), pk=pk
    )
    report = None
    if request.method == "POST":
        form = request.POST.get("form")
        version = int(request.POST["version"]) if request.POST.get("version") else None
        try:
            if request.FILES:  # who may edit, before any uploaded file is read
                require_edit(request.user, services.APP, insp.line.side_codes, any_side=True)
            if form == "finding":
                finding = services.finding_record(
                    insp.pk,
                    marker_id=int(request.POST["marker"]),
                    condition=request.POST.get("condition", ""),
                    repainted=bool(request.POST.get("repainted")),
                    measured=_measured(request.POST),
                    action=request.POST.get("action", Action.NONE),
                    bearings_intact=not request.POST.get("bearings_damaged"),
                    note=request.POST.get("note", ""),
                    photos=_photos(request),
                    expected_version=version,
                    user=request.user,
                )
                text = f"界桩 {finding.marker.number} 已记录"
                if finding.offset_m is not None:
                    text += f"，实测偏移 {finding.offset_m:.3f} 米"
                messages.success(request, text)
                for w in finding.warnings:
                    messages.warning(request, w)
            elif form == "segment":
                services.segment_finding_record(
                    insp.pk,
                    section=request.POST.get("section", ""),
                    terrain_change=request.POST.get("terrain_change", ""),
                    recognisable=not request.POST.get("unrecognisable"),
                    construction=request.POST.get("construction", ""),
                    dispute=request.POST.get("dispute", ""),
                    handling=request.POST.get("handling", ""),
                    expected_version=version,
                    user=request.user,
                )
                messages.success(request, "界线段检查结果已记录")
            elif form == "meta":
                services.inspection_update(
                    insp.pk,
                    user=request.user,
                    expected_version=version,
                    participants_a=request.POST.get("participants_a", ""),
                    participants_b=request.POST.get("participants_b", ""),
                    end_date=request.POST.get("end_date")
                    and dt.date.fromisoformat(request.POST["end_date"])
                    or None,
                    conclusion=request.POST.get("conclusion", ""),
                )
                messages.success(request, "已保存")
            elif form == "confirm":
                services.inspection_confirm(
                    insp.pk,
                    user=request.user,
                    side=request.POST.get("side") or None,
                    expected_version=version,
                )
                messages.success(request, "已确认")
            elif form == "withdraw":
                services.inspection_withdraw(insp.pk, user=request.user, expected_version=version)
                messages.success(request, "已撤回确认")
            elif form == "correct":
                new = services.inspection_correct(insp.pk, user=request.user)
                messages.success(request, f"已新建更正记录 {new.record_no}")
                return redirect("web:boundary-inspection", pk=new.pk)
            elif form == "file":
                upload = request.FILES.get("agreement")
                services.inspection_file(
                    insp.pk,
                    filed_on=dt.date.fromisoformat(request.POST.get("filed_on", "")),
                    filed_with=request.POST.get("filed_with", ""),
                    agreement=services.PhotoUpload(upload.name, read_upload(upload, field="agreement"))
                    if upload
                    else None,
                    agreement_note=request.POST.get("agreement_note", ""),
                    user=request.user,
                )
                messages.success(request, "备案信息已保存")
            elif form in ("import-findings", "import-gnss") and request.FILES.get("file"):
                dry_run = not request.POST.get("commit")
                if form == "import-findings":
                    photos = photo_map(request.FILES.getlist("photos"))
                    report = _upload_report(
                        request.FILES["file"],
                        lambda p: importers.findings_import(
                            insp.pk, p, photos=photos, dry_run=dry_run, user=request.user
                        ),
                    )
                else:
                    report = _upload_report(
                        request.FILES["file"],
                        lambda p: importers.gnss_import(insp.pk, p, dry_run=dry_run, user=request.user),
                    )
            if report is None:
                return redirect("web:boundary-inspection", pk=insp.pk)
        except (*EDIT_ERRORS, ValueError, KeyError) as exc:
            messages.error(request, _error_text(exc))
        insp.refresh_from_db()
    findings = {f.marker_id: f for f in insp.marker_findings.prefetch_related("photos")}
    markers = list(Marker.objects.filter(line=insp.line).exclude(status="retired").order_by("seq", "letter"))
    return render(
        request,
        "boundaries/inspection.html",
        {
            "insp": insp,
            "rows": [(m, findings.get(m.pk)) for m in markers],
            "segments": insp.segment_findings.all(),
            "conditions": Condition.choices,
            "actions": Action.choices,
            "definitions": condition_definitions(),
            "completeness": services.inspection_completeness(insp) if not insp.locked else [],
            "report": report,
            "map_config": _map_config() | {"lineId": insp.line_id, "inspectionId": insp.pk},
        },
    )


@login_required
def inspection_pdf(request, pk: int):
    insp = get_object_or_404(Inspection.objects.select_related("line__division_a", "line__division_b"), pk=pk)
    # the report names both sides' participants and confirmers (core/visibility.py)
    codes = [insp.line.division_a.code, insp.line.division_b.code]
    if not visibility.personal_visible(request.user, "boundaries", codes, any_side=True):
        raise Http404("没有这份联检报告")
    response = HttpResponse(reports.inspection_report(insp), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="inspection-{insp.pk}.pdf"'
    return response
