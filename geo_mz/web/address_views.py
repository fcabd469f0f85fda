"""门牌 pages: search and case queue, the numbering workbench for a road, village numbering, cases
(申请 → 编制 → 审核 → 发证), certificates (print, reissue, cancel), address detail with proof
printout, import, and the public certificate verification page. Thin over services/selectors."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext

from geo_mz.addresses import import_jobs, importers, selectors, services, workflow
from geo_mz.addresses.models import Address, AddressCase, Certificate
from geo_mz.core import crs, visibility
from geo_mz.core.errors import ConflictError
from geo_mz.core.importing import ImportReport
from geo_mz.core.limits import InputTooLong
from geo_mz.core.models import Job, JobStatus
from geo_mz.placenames.models import NamedFeature
from geo_mz.web.placename_views import _error_text, _map_config

STEPS = [
    (s, workflow.STATE_LABELS[s])
    for s in (workflow.APPLICATION, workflow.COMPILE, workflow.REVIEW, workflow.ISSUED)
]


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@login_required
def address_home(request):
    query = request.GET.get("q", "").strip()
    parsed, matches, error = None, [], ""
    if query:
        try:
            parsed, matches = selectors.address_search(query)
        except InputTooLong as exc:  # bounded work (issue 14)
            limit = {"limit": exc.limit, "length": exc.length}
            error = gettext("不能超过 %(limit)d 个字符（现有 %(length)d 个）") % limit
        except ValueError as exc:
            error = str(exc)
    roads = (
        NamedFeature.objects.filter(kind__is_road=True, addresses__status="proposed")
        .annotate(pending=Count("addresses", filter=Q(addresses__status="proposed")))
        .order_by("-pending", "code")[:30]
    )
    _, village_totals = selectors.village_progress()
    return render(
        request,
        "addresses/home.html",
        {
            "query": query,
            "parsed": parsed,
            "matches": matches,
            "error": error,
            "queue": selectors.case_queue(),
            "roads": roads,
            "village_totals": village_totals,
            "certificates": Certificate.objects.select_related("address").order_by("-issued_on", "-serial")[
                :20
            ],
        },
    )


@login_required
def road_workbench(request, code: str):
    road = get_object_or_404(
        NamedFeature.objects.select_related("kind", "division"), code=code, kind__is_road=True
    )
    if request.method == "POST":
        adjustments = {
            int(k.removeprefix("n-")): v.strip()
            for k, v in request.POST.items()
            if k.startswith("n-") and v.strip()
        }
        only = [int(v) for v in request.POST.getlist("only")] or None
        try:
            done = services.road_numbering_commit(
                road.pk, only=only, adjustments=adjustments, user=request.user
            )
            messages.success(request, f"已编号 {len(done)} 处门牌：" + "、".join(a.label for a in done[:10]))
            return redirect("web:address-road", code=code)
        except (ValidationError, ConflictError, PermissionDenied) as exc:
            messages.error(request, _error_text(exc))
    preview = services.road_numbering_preview(road, renumber=request.GET.get("renumber") == "1")
    config = _map_config() | {"roadCode": road.code}
    return render(
        request,
        "addresses/workbench.html",
        {
            "road": road,
            "name": services._feature_name(road),
            "preview": preview,
            "rows": sorted(preview.proposals(), key=lambda p: (p[1].side, p[1].chainage_m)),
            "renumber": request.GET.get("renumber") == "1",
            "map_config": config,
        },
    )


@login_required
def villages(request):
    if request.method == "POST":
        try:
            done = services.village_number(request.POST.get("village", ""), user=request.user)
            messages.success(request, f"已为 {len(done)} 户编号")
        except (ValidationError, ConflictError, PermissionDenied) as exc:
            messages.error(request, _error_text(exc))
        return redirect("web:address-villages")
    rows, totals = selectors.village_progress()
    return render(request, "addresses/villages.html", {"rows": rows, "totals": totals})


def _point_from_post(data) -> Point | None:
    lon, lat = data.get("lon", "").strip(), data.get("lat", "").strip()
    if not lon and not lat:
        return None
    try:
        lon_f, lat_f = crs.to_wgs84(float(lon), float(lat), data.get("coordinate_system", "wgs84"))
        crs.check_lonlat(lon_f, lat_f)
    except ValueError as exc:
        raise ValidationError(
            {"lon/lat": str(exc) if isinstance(exc, crs.CoordinateError) else "经纬度须为数字"}
        ) from exc
    x, y = crs.lonlat_to_projected(lon_f, lat_f, settings.GEO_MZ_SRID)
    return Point(float(x), float(y), srid=settings.GEO_MZ_SRID)


@login_required
def case_new(request):
    values = request.POST if request.method == "POST" else request.GET
    if request.method == "POST":
        try:
            replaces = get_object_or_404(Address, code=values["replaces"]) if values.get("replaces") else None
            address = get_object_or_404(Address, code=values["address"]) if values.get("address") else None
            road = get_object_or_404(NamedFeature, code=values["road"]) if values.get("road") else None
            case = services.address_case_create(
                kind="change" if replaces else "new",
                owner=values.get("owner", ""),
                owner_kind=values.get("owner_kind", "person"),
                phone=values.get("phone", ""),
                point=_point_from_post(values),
                address=address,
                feature=road,
                replaces=replaces,
                previous_address=values.get("previous_address", ""),
                previous_source=values.get("previous_source", ""),
                reason=values.get("reason", ""),
                user=request.user,
            )
            return redirect("web:address-case", pk=case.pk)
        except (ValidationError, ConflictError, PermissionDenied) as exc:
            messages.error(request, _error_text(exc))
    return render(
        request, "addresses/case_new.html", {"values": values, "map_config": _map_config() | {"pick": True}}
    )


@login_required
def case_detail(request, pk: int):
    case = get_object_or_404(
        AddressCase.objects.select_related("address__feature", "address__division", "replaces"), pk=pk
    )
    if request.method == "POST":
        try:
            version = int(request.POST.get("expected_version", case.version))
            if request.POST.get("op") == "adjust":
                services.address_case_adjust(
                    case.pk,
                    number_text_value=request.POST.get("number", ""),
                    expected_version=version,
                    user=request.user,
                )
                messages.success(request, "门牌号已调整")
            else:
                action = request.POST.get("action", "")
                case = services.address_case_transition(
                    case.pk,
                    action,
                    user=request.user,
                    expected_version=version,
                    comment=request.POST.get("comment", ""),
                )
                messages.success(request, f"已{workflow.ACTION_LABELS.get(action, action)}")
            return redirect("web:address-case", pk=pk)
        except (ValidationError, ConflictError, PermissionDenied) as exc:
            messages.error(request, _error_text(exc))
            case.refresh_from_db()
    config = _map_config() | {"casePoint": services._storage_to_lonlat(case.address.point)}
    return render(
        request,
        "addresses/case_detail.html",
        {
            "case": case,
            "steps": STEPS,
            "actions": [(a, workflow.ACTION_LABELS[a]) for a in workflow.allowed_actions(case.state)],
            "events": case.events.all(),
            "certificates": case.certificates.all(),
            "map_config": config,
            "today": dt.date.today(),
        },
    )


@login_required
def address_detail(request, code: str):
    address = get_object_or_404(Address.objects.select_related("feature", "division", "decision"), code=code)
    if request.method == "POST":
        op = request.POST.get("op")
        try:
            if op == "proof":
                pdf = services.address_proof_document(
                    address, holder=request.POST.get("holder", ""), purpose=request.POST.get("purpose", "")
                )
                return _pdf(pdf, f"address-proof-{address.code}.pdf")
            cert = get_object_or_404(Certificate, serial=request.POST.get("serial"))
            version = int(request.POST.get("expected_version", cert.version))
            if op == "reissue":
                new = services.certificate_reissue(
                    cert.pk,
                    reason=request.POST.get("reason", ""),
                    kind=request.POST.get("kind", "补发"),
                    expected_version=version,
                    user=request.user,
                )
                messages.success(request, f"已{new.issue_kind}门牌证 {new.serial}")
            elif op == "cancel":
                services.certificate_cancel(
                    cert.pk,
                    reason=request.POST.get("reason", ""),
                    expected_version=version,
                    user=request.user,
                )
                messages.success(request, f"门牌证 {cert.serial} 已注销")
            return redirect("web:address", code=code)
        except (ValidationError, ConflictError, PermissionDenied) as exc:
            messages.error(request, _error_text(exc))
    return render(
        request,
        "addresses/address_detail.html",
        {
            "address": address,
            "history": selectors.address_history(address),
            "certificates": address.certificates.select_related("replaces").order_by("-issued_on", "-serial"),
            "cases": address.cases.all(),
            "map_config": _map_config() | {"casePoint": services._storage_to_lonlat(address.point)},
        },
    )


@login_required
def certificate_pdf(request, serial: str):
    cert = get_object_or_404(Certificate.objects.select_related("address__division"), serial=serial)
    # the certificate names its owner: only the house-number role of its jurisdiction (and admins)
    if not visibility.personal_visible(request.user, "addresses", [cert.address.division.code]):
        raise Http404("没有这个门牌证")
    return _pdf(services.certificate_document(cert), f"certificate-{cert.serial}.pdf")


def verify(request, token: str):
    """Public (no login): valid or not, the address, the issue date. Never the owner."""
    v = selectors.certificate_verify(token)
    return render(request, "addresses/verify.html", {"v": v}, status=200 if v.found else 404)


@login_required
def addresses_import(request):
    """Upload → per-row report. Large files (or "后台导入") run as a background job: the page then
    shows its progress (polling /api/address-imports/<id>/) and, when it is done, the same report."""
    report = job = None
    if request.method == "POST" and request.FILES.get("file"):
        upload = request.FILES["file"]
        dry_run = request.POST.get("commit") != "1"
        coordinate_system = request.POST.get("coordinate_system", "wgs84")
        try:
            if import_jobs.import_runs_in_background(
                upload, request.POST.get("background") == "1", user=request.user
            ):
                job = import_jobs.import_job_submit(
                    upload, dry_run=dry_run, coordinate_system=coordinate_system, user=request.user
                )
                return redirect(f"{request.path}?job={job.pk}")
            report = importers.addresses_import_upload(
                upload, dry_run=dry_run, coordinate_system=coordinate_system, user=request.user
            )
        except ValidationError as exc:  # the upload refused by size or content (core.upload_files)
            messages.error(request, "；".join(exc.messages))
    elif request.GET.get("job", "").isdigit():
        job = Job.objects.filter(pk=int(request.GET["job"]), kind=import_jobs.JOB_KIND).first()
        if job is None or (job.created_by_id != request.user.pk and not request.user.is_staff):
            raise Http404("没有这个导入任务 / no such import job")
        if job.status == JobStatus.DONE and job.result:
            report = ImportReport.from_dict(job.result)
    return render(
        request,
        "addresses/import.html",
        {"report": report, "job": job, "systems": crs.COORDINATE_SYSTEMS},
    )
