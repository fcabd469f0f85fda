"""/api/facility-types/, /api/facilities/ and /api/coverage/…: the facility registry (GeoJSON, lon/lat;
import with dry run), coverage runs, site suggestions, scenarios, the what-if, indicators and the
coverage report. Thin: everything goes through facilities.services and coverage.services."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response

from geo_mz.api import imports, params
from geo_mz.api.placenames import _lonlat
from geo_mz.core import crs, import_jobs
from geo_mz.core.csp_policy import nonce_tags
from geo_mz.core.limits import MAX_TEXT_CHARS
from geo_mz.core.permissions import require_role
from geo_mz.core.upload_files import saved_upload
from geo_mz.coverage import reports, whatif
from geo_mz.coverage import services as coverage
from geo_mz.coverage.models import ChangeAction, CoverageRun, Scenario
from geo_mz.facilities import services as facilities
from geo_mz.facilities.models import DemandGroup, Facility, FacilityStatus, FacilityType, Operator


def facility_props(f: Facility) -> dict:
    return {
        "id": f.pk,
        "code": f.code,
        "name": f.name,
        "type": f.type.code,
        "type_name": f.type.name,
        "division_code": f.division.code,
        "division_name": f.division.name,
        "operator": f.operator,
        "status": f.status,
        "status_label": f.get_status_display(),
        "opened_on": f.opened_on,
        "beds": f.beds,
        "nursing_beds": f.nursing_beds,
        "plots_total": f.plots_total,
        "plots_used": f.plots_used,
        "places": f.places,
        "area_m2": f.area_m2,
        "area_mu": f.area_mu,
        "star_rating": f.star_rating,
        "radius_m": f.effective_radius_m,
        "synthetic": f.synthetic,
        "version": f.version,
    }


def facility_feature(f: Facility) -> dict:
    return {
        "type": "Feature",
        "id": f.pk,
        "geometry": {"type": "Point", "coordinates": _lonlat(f.point)},
        "properties": facility_props(f),
    }


def _point(data) -> object:
    try:
        lon, lat = float(data["lon"]), float(data["lat"])
    except (KeyError, TypeError, ValueError) as exc:
        raise serializers.ValidationError(
            {"point": ["请填写经度 lon 和纬度 lat / lon and lat are required"]}
        ) from exc
    system = (data.get("coordinate_system") or "wgs84").lower()
    try:
        lon, lat = crs.to_wgs84(lon, lat, system)
        crs.check_lonlat(lon, lat)
    except ValueError as exc:
        raise serializers.ValidationError({"point": [str(exc)]}) from exc
    from django.contrib.gis.geos import Point

    x, y = crs.lonlat_to_projected(lon, lat, settings.GEO_MZ_SRID)
    return Point(float(x), float(y), srid=settings.GEO_MZ_SRID)


@api_view(["GET"])
@permission_classes([AllowAny])
def facility_types(request):
    return Response(
        [
            {
                "code": t.code,
                "name": t.name,
                "category": t.category,
                "radius_m": t.radius_m,
                "walk_minutes": t.walk_minutes,
                "drive_minutes": t.drive_minutes,
                "demand_group": t.demand_group,
                "capacity_unit": t.capacity_unit,
                "indicator_group": t.indicator_group,
                "norm_text": t.norm_text,
            }
            for t in FacilityType.objects.all()
        ]
    )


class FacilityWriteSerializer(serializers.Serializer):
    type = serializers.SlugField(required=False)
    name = serializers.CharField(max_length=120, required=False)
    lon = serializers.FloatField(required=False)
    lat = serializers.FloatField(required=False)
    coordinate_system = serializers.CharField(required=False, default="wgs84")
    operator = serializers.ChoiceField(choices=Operator.choices, required=False)
    status = serializers.ChoiceField(choices=FacilityStatus.choices, required=False)
    opened_on = serializers.DateField(required=False, allow_null=True)
    closed_on = serializers.DateField(required=False, allow_null=True)
    beds = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    nursing_beds = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    plots_total = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    plots_used = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    places = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    area_m2 = serializers.FloatField(required=False, allow_null=True, min_value=0)
    area_mu = serializers.FloatField(required=False, allow_null=True, min_value=0)
    star_rating = serializers.IntegerField(required=False, allow_null=True)
    radius_m = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    address = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TEXT_CHARS)
    version = serializers.IntegerField(required=False)


class FacilityViewSet(viewsets.ViewSet):
    lookup_value_regex = params.NUMERIC_ID
    permission_classes = [IsAuthenticatedOrReadOnly]

    @extend_schema(
        parameters=[
            OpenApiParameter("type", str),
            OpenApiParameter("status", str),
            params.division_code_param("within"),
        ]
    )
    def list(self, request):
        qs = coverage.facilities_within(
            params.query_division_code(request, "within", settings.GEO_MZ_COUNTY_CODE)
        )
        if request.query_params.get("type"):
            qs = qs.filter(type__code__in=request.query_params["type"].split(","))
        if request.query_params.get("status"):
            qs = qs.filter(status=request.query_params["status"])
        return Response(
            {"type": "FeatureCollection", "features": [facility_feature(f) for f in qs.order_by("code")]}
        )

    def retrieve(self, request, pk=None):
        return Response(
            facility_feature(get_object_or_404(Facility.objects.select_related("type", "division"), pk=pk))
        )

    @extend_schema(request=FacilityWriteSerializer)
    def create(self, request):
        data = FacilityWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        v.pop("version", None)
        v.pop("coordinate_system", None)
        point = _point(request.data)
        v.pop("lon", None), v.pop("lat", None)
        type_code = v.pop("type", None) or ""
        name = v.pop("name", "")
        f = facilities.facility_create(type_code=type_code, name=name, point=point, user=request.user, **v)
        return Response(facility_feature(f), status=status.HTTP_201_CREATED)

    @extend_schema(request=FacilityWriteSerializer)
    def partial_update(self, request, pk=None):
        data = FacilityWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        version = v.pop("version", None)
        v.pop("coordinate_system", None)
        v.pop("type", None)
        if "lon" in v or "lat" in v:
            v["point"] = _point(request.data)
            v.pop("lon", None), v.pop("lat", None)
        f = facilities.facility_update(int(pk), user=request.user, expected_version=version, **v)
        return Response(facility_feature(f))


class ImportSerializer(serializers.Serializer):
    file = serializers.FileField()
    dry_run = serializers.BooleanField(default=True)
    coordinate_system = serializers.ChoiceField(choices=sorted(crs.COORDINATE_SYSTEMS), default="wgs84")
    background = serializers.BooleanField(
        default=False,
        help_text="后台任务导入（大于 GEO_MZ_IMPORT_BACKGROUND_MB 的文件总是后台导入）；202 + 任务，进度见 "
        "/api/import-jobs/<id>/ / run as a background job (always for large files): 202 with the job",
    )


@extend_schema(request={"multipart/form-data": ImportSerializer}, responses={200: dict, 202: dict})
@api_view(["POST"])
@permission_classes([IsAuthenticated])
def facilities_import(request):
    """Import facilities: dry run by default, all or nothing. A large file (or `background`) is
    queued as a job: 202 with the job, whose result is the same report."""
    require_role(request.user, facilities.APP)  # before the upload is read
    data = ImportSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    v = data.validated_data
    upload = v["file"]
    if import_jobs.runs_in_background(upload, v["background"]):
        job = import_jobs.import_job_submit(
            "facilities",
            upload,
            {"dry_run": v["dry_run"], "coordinate_system": v["coordinate_system"]},
            user=request.user,
        )
        return Response(imports.job_accepted(job, request), status=status.HTTP_202_ACCEPTED)
    with saved_upload(upload) as path:
        report = facilities.facilities_import(
            path, dry_run=v["dry_run"], coordinate_system=v["coordinate_system"], user=request.user
        )
    report.source = Path(upload.name or "").name
    return Response(report.as_dict(), status=status.HTTP_200_OK if report.ok else status.HTTP_400_BAD_REQUEST)


@api_view(["GET"])
@permission_classes([AllowAny])
def facilities_template(request):
    response = HttpResponse(facilities.template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="facilities-template.csv"'
    return response


# ---------------------------------------------------------------------------------------------------
# Coverage
# ---------------------------------------------------------------------------------------------------


class RunSerializer(serializers.Serializer):
    types = serializers.ListField(child=serializers.SlugField(), min_length=1)
    mode = serializers.ChoiceField(choices=coverage.MODES, default="straight")
    group = serializers.ChoiceField(choices=DemandGroup.choices, default=DemandGroup.OLDER)
    radius_m = serializers.FloatField(required=False, allow_null=True)
    scenario = serializers.IntegerField(required=False, allow_null=True)
    label = serializers.CharField(required=False, allow_blank=True, default="")


class SuggestSerializer(serializers.Serializer):
    type = serializers.SlugField()
    k = serializers.IntegerField(required=False, default=5)
    minimal = serializers.BooleanField(default=False)
    candidates = serializers.ChoiceField(choices=["villages", "grid", "points"], default="villages")
    points = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2),
        required=False,
    )
    spacing_m = serializers.FloatField(default=2000.0)
    mode = serializers.ChoiceField(choices=coverage.MODES, default="straight")
    group = serializers.ChoiceField(choices=DemandGroup.choices, required=False)
    radius_m = serializers.FloatField(required=False, allow_null=True)
    method = serializers.ChoiceField(choices=["heuristic", "greedy", "exact"], default="heuristic")


def run_body(run: CoverageRun, *, full: bool = True) -> dict:
    body = {
        "id": run.pk,
        "kind": run.kind,
        "kind_label": run.get_kind_display(),
        "label": run.label,
        "parameters": run.parameters,
        "input_versions": run.input_versions,
        "engine_version": run.engine_version,
        "started_at": run.started_at,
        "runtime_ms": round(run.runtime_ms, 1),
        "summary": run.summary,
        "suggestions": run.suggestions,
        "scenario": run.scenario_id,
    }
    if full:
        body["divisions"] = run.divisions
        body["uncovered"] = run.uncovered
    return body


def _scenario(pk) -> Scenario | None:
    return get_object_or_404(Scenario, pk=pk) if pk else None


class CoverageRunViewSet(viewsets.ViewSet):
    lookup_value_regex = params.NUMERIC_ID
    permission_classes = [IsAuthenticatedOrReadOnly]

    def list(self, request):
        return Response([run_body(r, full=False) for r in CoverageRun.objects.all()[:100]])

    def retrieve(self, request, pk=None):
        return Response(run_body(get_object_or_404(CoverageRun, pk=pk)))

    @extend_schema(request=RunSerializer)
    def create(self, request):
        data = RunSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        run = coverage.coverage_run(
            v["types"], mode=v["mode"], group=v["group"], radius_m=v.get("radius_m"),
            scenario=_scenario(v.get("scenario")), label=v["label"], user=request.user,
        )  # fmt: skip
        return Response(run_body(run), status=status.HTTP_201_CREATED)

    @extend_schema(request=SuggestSerializer)
    @action(detail=False, methods=["post"], permission_classes=[IsAuthenticated])
    def suggest(self, request):
        data = SuggestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        run = coverage.suggest_sites(
            v["type"], v["k"], candidates=v["candidates"], points=[tuple(p) for p in v.get("points") or []],
            spacing_m=v["spacing_m"], mode=v["mode"], group=v.get("group"), radius_m=v.get("radius_m"),
            method=v["method"], minimal=v["minimal"], user=request.user,
        )  # fmt: skip
        return Response(run_body(run), status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["get"], url_path="report.pdf")
    def report_pdf(self, request, pk=None):
        run = get_object_or_404(CoverageRun, pk=pk)
        response = HttpResponse(reports.run_report_pdf(run), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="coverage-{run.pk}.pdf"'
        return response

    @action(detail=True, methods=["get"], url_path="report.xlsx")
    def report_xlsx(self, request, pk=None):
        run = get_object_or_404(CoverageRun, pk=pk)
        response = HttpResponse(
            reports.run_report_xlsx(run),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="coverage-{run.pk}.xlsx"'
        return response

    @action(detail=True, methods=["get"], url_path="map.html")
    def map_html(self, request, pk=None):
        """The folium analysis map: `?standalone=1` embeds every asset (opens offline from disk)."""
        run = get_object_or_404(CoverageRun, pk=pk)
        standalone = request.query_params.get("standalone") == "1"
        page = reports.run_map_html(run, standalone=standalone)
        if not standalone:  # shown in the browser: folium's inline blocks get this response's CSP nonce
            page = nonce_tags(page, str(request.csp_nonce))
        response = HttpResponse(page, content_type="text/html; charset=utf-8")
        if standalone:
            response["Content-Disposition"] = f'attachment; filename="coverage-map-{run.pk}.html"'
        return response


@extend_schema(
    parameters=[
        OpenApiParameter("type", str),
        params.float_param("lon", minimum=-180, maximum=180, required=True),
        params.float_param("lat", minimum=-90, maximum=90, required=True),
        params.float_param("radius_m", minimum=0, maximum=coverage.MAX_RADIUS_M, description="metres"),
        OpenApiParameter("group", str),
    ],
    responses={200: dict, 202: dict},  # 202: the worker is preparing its index, retry after Retry-After
)
@api_view(["GET"])
@permission_classes([AllowAny])
def what_if(request):
    p = request.query_params
    lon = params.query_float(request, "lon", min_value=-180, max_value=180)
    lat = params.query_float(request, "lat", min_value=-90, max_value=90)
    if lon is None or lat is None:
        raise params.invalid("lon" if lon is None else "lat", _("请给出经度 lon 和纬度 lat"))
    radius = params.query_float(request, "radius_m", min_value=0, max_value=coverage.MAX_RADIUS_M)
    try:
        answer = whatif.what_if(
            p.get("type", "day_care"), lon, lat, group=p.get("group") or None, radius_m=radius
        )
    except whatif.WhatIfNotReady as exc:
        # this worker is still preparing its index (first call): ask again shortly, never wait on it
        response = Response(
            {
                "status": "preparing",
                "detail": _("正在准备分析索引，请稍候"),
                "retry_after_s": exc.retry_after_s,
            },
            status=status.HTTP_202_ACCEPTED,
        )
        response["Retry-After"] = str(exc.retry_after_s)
        return response
    return Response(answer)


@extend_schema(parameters=[params.division_code_param("within")])
@api_view(["GET"])
@permission_classes([AllowAny])
def indicators(request):
    data = coverage.indicators(params.query_division_code(request, "within"))
    data["indicators"] = [vars(i) for i in data["indicators"]]
    return Response(data)


class ChangeSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=ChangeAction.choices)
    facility = serializers.CharField(required=False, allow_blank=True, help_text="迁址/关停的设施编码")
    type = serializers.SlugField(required=False)
    name = serializers.CharField(required=False, allow_blank=True, default="")
    lon = serializers.FloatField(required=False)
    lat = serializers.FloatField(required=False)
    capacity = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    radius_m = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class ScenarioSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    changes = ChangeSerializer(many=True)


class CompareSerializer(serializers.Serializer):
    types = serializers.ListField(child=serializers.SlugField(), min_length=1)
    mode = serializers.ChoiceField(choices=coverage.MODES, default="straight")
    group = serializers.ChoiceField(choices=DemandGroup.choices, default=DemandGroup.OLDER)
    radius_m = serializers.FloatField(required=False, allow_null=True)


class ScenarioViewSet(viewsets.ViewSet):
    lookup_value_regex = params.NUMERIC_ID
    permission_classes = [IsAuthenticatedOrReadOnly]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def _body(self, s: Scenario) -> dict:
        return {
            "id": s.pk,
            "name": s.name,
            "description": s.description,
            "changes": [
                {
                    "action": c.action,
                    "facility": c.facility_code,
                    "facility_exists": c.facility_id is not None,
                    "type": c.type.code if c.type_id else None,
                    "name": c.name,
                    "point": _lonlat(c.point),
                    "capacity": c.capacity,
                    "radius_m": c.radius_m,
                }
                for c in s.changes.select_related("type")
            ],
        }

    def list(self, request):
        return Response([self._body(s) for s in Scenario.objects.all()[:100]])

    def retrieve(self, request, pk=None):
        return Response(self._body(get_object_or_404(Scenario, pk=pk)))

    @extend_schema(request=ScenarioSerializer)
    def create(self, request):
        data = ScenarioSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        scenario = coverage.scenario_create(v["name"], v["description"], v["changes"], user=request.user)
        return Response(self._body(scenario), status=status.HTTP_201_CREATED)

    @extend_schema(request=CompareSerializer)
    @action(detail=True, methods=["post"])
    def compare(self, request, pk=None):
        data = CompareSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        return Response(
            coverage.scenario_compare(
                get_object_or_404(Scenario, pk=pk),
                v["types"],
                mode=v["mode"],
                group=v["group"],
                radius_m=v.get("radius_m"),
            )
        )
