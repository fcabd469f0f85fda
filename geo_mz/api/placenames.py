"""/api/placenames/ and /api/naming-cases/: roads and names (GeoJSON, EPSG:4326), search, live rule
checks, romanisation, unnamed segments, signs and their report, exports, imports, and naming cases
through their state machine. Thin: everything goes through placenames services and selectors."""

from __future__ import annotations

import datetime as dt
import json

from django.conf import settings
from django.contrib.gis.db.models.functions import AsGeoJSON, Transform
from django.contrib.gis.geos import GEOSGeometry
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action, api_view, parser_classes, permission_classes
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response

from geo_mz.api import params
from geo_mz.api.params import query_division_code
from geo_mz.api.personal import scoped
from geo_mz.api.text_params import text_param
from geo_mz.core import crs
from geo_mz.core.limits import (
    MAX_GENERIC_CHARS,
    MAX_NAME_CHARS,
    MAX_READING_CHARS,
    MAX_SPECIFIC_CHARS,
)
from geo_mz.core.models import LifecycleStatus
from geo_mz.placenames import documents, importers, romanize, selectors, services, workflow
from geo_mz.placenames.models import CaseKind, NamedFeature, NamingCase, PlaceName, RoadSegment, RoadSign

GEOJSON_PRECISION = 7


def _feature_collection(rows, properties) -> dict:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": key,
                "geometry": json.loads(geometry) if geometry else None,
                "properties": props,
            }
            for key, geometry, props in ((r.code, r.geojson, properties(r)) for r in rows)
        ],
    }


def _geom_from_request(data: dict, field_name: str = "geometry") -> GEOSGeometry | None:
    """A GeoJSON geometry (lon/lat, EPSG:4326/4490) or lon+lat fields, with the GCJ-02/BD-09 option."""
    system = (data.get("coordinate_system") or "wgs84").lower()
    if system not in crs.COORDINATE_SYSTEMS:
        raise serializers.ValidationError({"coordinate_system": [f"未知坐标系 {system}"]})
    raw = data.get(field_name)
    if raw in (None, "") and data.get("lon") not in (None, "") and data.get("lat") not in (None, ""):
        raw = {"type": "Point", "coordinates": [float(data["lon"]), float(data["lat"])]}
    if raw in (None, ""):
        return None
    try:
        import shapely

        shape = shapely.geometry.shape(raw if isinstance(raw, dict) else json.loads(raw))
        minx, miny, maxx, maxy = shape.bounds
        crs.check_lonlat(minx, miny)
        crs.check_lonlat(maxx, maxy)
        shape = crs.geometry_to_wgs84(shape, system)
        projected = crs.transform_geometry(shape, crs.WGS84, settings.GEO_MZ_SRID)
    except crs.CoordinateError as exc:
        raise serializers.ValidationError({field_name: [str(exc)]}) from exc
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise serializers.ValidationError(
            {field_name: [f"无效的 GeoJSON 几何 / invalid GeoJSON geometry: {exc}"]}
        ) from exc
    return GEOSGeometry(memoryview(shapely.to_wkb(projected)), srid=settings.GEO_MZ_SRID)


def _lonlat(point) -> list[float] | None:
    if point is None:
        return None
    lon, lat = crs.projected_to_lonlat(point.x, point.y, settings.GEO_MZ_SRID)
    return [round(lon, GEOJSON_PRECISION), round(lat, GEOJSON_PRECISION)]


# ---------------------------------------------------------------------------------------------------
# Roads and named features
# ---------------------------------------------------------------------------------------------------


class NamedFeatureViewSet(viewsets.ReadOnlyModelViewSet):
    """Named features (roads, streets, alleys, bridges …) as GeoJSON in EPSG:4326 with the current name."""

    lookup_field = "code"
    lookup_value_regex = r"[A-Za-z0-9_-]+"
    filter_backends: list = []
    pagination_class = None

    def get_queryset(self):
        qs = NamedFeature.objects.select_related("kind", "division").prefetch_related("names")
        params = self.request.query_params
        if params.get("status"):
            if params["status"] not in LifecycleStatus.values:
                raise serializers.ValidationError(
                    {"status": [f"可选 / valid: {', '.join(LifecycleStatus.values)}"]}
                )
            qs = qs.filter(status=params["status"])
        if params.get("kind"):
            qs = qs.filter(kind__code=params["kind"])
        if params.get("roads") in ("1", "true"):
            qs = qs.filter(kind__is_road=True)
        within = query_division_code(self.request, "within")
        if within:
            qs = qs.within_code(within)
        return qs.annotate(geojson=AsGeoJSON(Transform("geom", 4326), precision=GEOJSON_PRECISION))

    @staticmethod
    def _props(feature: NamedFeature) -> dict:
        current = next((n for n in feature.names.all() if n.status == LifecycleStatus.ACTIVE), None)
        pending = next((n for n in feature.names.all() if n.status == LifecycleStatus.APPROVED), None)
        shown = current or pending
        return {
            "code": feature.code,
            "name": shown.name if shown else "",
            "romanization": shown.romanization if shown else "",
            "kind": feature.kind.code,
            "kind_label": feature.kind.name,
            "status": feature.status,
            "status_label": feature.get_status_display(),
            "road_class": feature.road_class,
            "width_m": feature.width_m,
            "length_m": feature.length_m,
            "division_code": feature.division.code,
            "division_name": feature.division.name,
            "start_desc": feature.start_desc,
            "end_desc": feature.end_desc,
            "synthetic": feature.synthetic,
        }

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=LifecycleStatus.values),
            OpenApiParameter("kind", str),
            OpenApiParameter("roads", str, description="1: roads, streets and alleys only"),
            params.division_code_param("within", "division code"),
        ],
        responses={200: dict},
    )
    def list(self, request):
        return Response(_feature_collection(self.get_queryset(), self._props))

    @extend_schema(responses={200: dict})
    def retrieve(self, request, code=None):
        feature = get_object_or_404(self.get_queryset(), code=code)
        body = _feature_collection([feature], self._props)["features"][0]
        body["properties"]["history"] = selectors.feature_history(feature)
        body["properties"]["divisions"] = [{"code": d.code, "name": d.name} for d in feature.divisions.all()]
        body["properties"]["signs"] = [
            {
                "code": s.code,
                "sign_type": s.sign_type,
                "text": s.text,
                "installed_on": s.installed_on,
                "condition": s.condition,
                "lonlat": _lonlat(s.point),
                "matches_name": s.text == body["properties"]["name"],
            }
            for s in feature.signs.order_by("code")
        ]
        body["properties"]["heritage"] = [
            {
                "level": h.get_level_display(),
                "protection_measures": h.protection_measures,
                "measures_on_file": h.measures_on_file,
            }
            for h in feature.heritage.all()
        ]
        return Response(body)


@extend_schema(
    parameters=[
        params.str_param(
            "q",
            max_length=MAX_NAME_CHARS,
            required=True,
            description="汉字、全拼或首字母，如 中山 / zhongshan / zsl",
        ),
        params.division_code_param("within"),
        params.bool_param("retired", "include retired names (曾用名)"),
    ],
    responses={200: dict},
)
@api_view(["GET"])
@permission_classes([AllowAny])
def placename_search(request):
    """Search names by characters, pinyin or initials (one- and two-character queries included)."""
    rows = selectors.placename_search(
        text_param(request, "q", MAX_NAME_CHARS),
        within_code=params.query_division_code(request, "within"),
        include_retired=params.query_bool(request, "retired"),
    )
    return Response(
        {
            "query": request.query_params.get("q", ""),
            "results": [
                {
                    "name": r.name,
                    "romanization": r.romanization,
                    "status": r.status,
                    "status_label": r.get_status_display(),
                    "feature_code": r.feature.code,
                    "kind_label": r.feature.kind.name,
                    "division_name": r.feature.division.name,
                    "lonlat": _lonlat(r.feature.point),
                    "valid_from": r.valid_from,
                    "valid_to": r.valid_to,
                }
                for r in rows
            ],
        }
    )


class CheckSerializer(serializers.Serializer):
    name = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=MAX_NAME_CHARS)
    division_code = serializers.CharField()
    kind = serializers.CharField(default="road")
    specific = serializers.CharField(required=False, allow_blank=True, max_length=MAX_SPECIFIC_CHARS)
    generic = serializers.CharField(required=False, allow_blank=True, max_length=MAX_GENERIC_CHARS)
    reading = serializers.CharField(required=False, allow_blank=True, max_length=MAX_READING_CHARS)
    road_class = serializers.CharField(required=False, allow_blank=True)
    width_m = serializers.FloatField(required=False, allow_null=True, min_value=0.1)
    length_m = serializers.FloatField(required=False, allow_null=True, min_value=0)
    lon = serializers.FloatField(required=False, allow_null=True)
    lat = serializers.FloatField(required=False, allow_null=True)
    geometry = serializers.JSONField(required=False, allow_null=True)
    coordinate_system = serializers.CharField(required=False, default="wgs84")
    replaces = serializers.CharField(required=False, allow_blank=True, help_text="feature code being renamed")


@extend_schema(request=CheckSerializer, responses={200: dict})
@api_view(["POST"])
@permission_classes([AllowAny])
@parser_classes([JSONParser, FormParser])
def placename_check(request):
    """Rule findings for a proposed name (live, nothing is written): severity, rule id, message and
    the conflicting names with lon/lat. Also returns the romanisation."""
    s = CheckSerializer(data=request.data)
    s.is_valid(raise_exception=True)
    data = s.validated_data
    geom = _geom_from_request(dict(request.data))
    point = services._representative_point(geom) if geom is not None else None
    length_m = data.get("length_m") or (geom.length if geom is not None and geom.dims == 1 else None)
    replaces = None
    if data.get("replaces"):
        feature = NamedFeature.objects.filter(code=data["replaces"]).first()
        if feature is None:
            raise serializers.ValidationError({"replaces": ["地名实体不存在 / unknown feature"]})
        replaces = feature.current_name
    proposal = services.proposal_build(
        name=data["name"],
        division_code=data["division_code"],
        kind=data["kind"],
        specific=data.get("specific") or None,
        generic=data.get("generic"),
        point=point,
        road_class=data.get("road_class", ""),
        width_m=data.get("width_m"),
        length_m=length_m,
        reading=data.get("reading", ""),
        replaces=replaces,
        exclude_ids=[replaces.pk] if replaces else [],
    )
    findings = services.placename_check(proposal)
    roman = ""
    try:
        roman = services.name_parts(data["name"], reading=data.get("reading", "")).romanization
    except Exception:  # noqa: BLE001 - the findings already explain an unusable name
        roman = ""
    return Response(
        {
            "name": data["name"],
            "romanization": roman,
            "ok": not any(f.severity == "error" for f in findings),
            "findings": [f.as_dict() for f in findings],
        }
    )


@extend_schema(
    parameters=[
        params.str_param("name", max_length=MAX_NAME_CHARS, required=True),
        params.str_param(
            "reading",
            max_length=MAX_READING_CHARS,
            description="space-separated toneless syllables, one per character",
        ),
        OpenApiParameter("kind", str),
    ],
    responses={200: dict},
)
@api_view(["GET"])
@permission_classes([AllowAny])
def placename_romanize(request):
    """Standard romanisation (GB/T 16159, place-name rules) of a name."""
    name = text_param(request, "name", MAX_NAME_CHARS)
    reading = text_param(request, "reading", MAX_READING_CHARS)
    try:
        specific, generic = romanize.split_name(name) if name.strip() else ("", "")
        result = romanize.romanize(
            name,
            kind=request.query_params.get("kind", "road"),
            override=reading or None,
        )
    except ValueError as exc:
        raise serializers.ValidationError({"name": [str(exc)]}) from exc
    return Response({"name": name, "specific": specific, "generic": generic, "romanization": result})


@extend_schema(
    parameters=[
        params.division_code_param("within", "division code (default: the county)"),
        params.float_param("min_length", minimum=0, description="metres (default 0)"),
        OpenApiParameter("road_class", str),
    ],
    responses={200: dict},
)
@api_view(["GET"])
@permission_classes([AllowAny])
def unnamed_segments(request):
    """Unnamed road segments (GeoJSON, EPSG:4326) in work order, not yet claimed by an open case."""
    within = params.query_division_code(request, "within", settings.GEO_MZ_COUNTY_CODE)
    min_length = params.query_float(request, "min_length", 0.0, min_value=0)
    segments = selectors.unnamed_segments(
        within, min_length_m=min_length, road_class=request.query_params.get("road_class")
    )
    ids = [s.pk for s in segments]
    geojson = dict(
        RoadSegment.objects.filter(pk__in=ids)
        .annotate(geojson=AsGeoJSON(Transform("geom", 4326), precision=GEOJSON_PRECISION))
        .values_list("pk", "geojson")
    )
    return Response(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "id": s.code,
                    "geometry": json.loads(geojson[s.pk]),
                    "properties": {
                        "code": s.code,
                        "order": i,
                        "road_class": s.road_class,
                        "width_m": s.width_m,
                        "length_m": s.length_m,
                        "division_code": s.division.code,
                        "division_name": s.division.name,
                    },
                }
                for i, s in enumerate(segments, start=1)
            ],
        }
    )


@extend_schema(responses={200: dict})
@api_view(["GET"])
@permission_classes([AllowAny])
def signs(request):
    """Road and alley signs (GeoJSON, EPSG:4326); `matches_name` compares the printed text with the name."""
    qs = RoadSign.objects.select_related("feature").annotate(
        geojson=AsGeoJSON(Transform("point", 4326), precision=GEOJSON_PRECISION)
    )
    current = {
        n.feature_id: n.name
        for n in PlaceName.objects.filter(status=LifecycleStatus.ACTIVE, feature__signs__isnull=False)
    }
    return Response(
        _feature_collection(
            qs,
            lambda s: {
                "code": s.code,
                "sign_type": s.sign_type,
                "text": s.text,
                "road_code": s.feature.code if s.feature else "",
                "current_name": current.get(s.feature_id, ""),
                "matches_name": current.get(s.feature_id) == s.text,
                "condition": s.condition,
                "installed_on": s.installed_on,
            },
        )
    )


@extend_schema(
    parameters=[
        params.division_code_param("within"),
        params.float_param("radius", minimum=0, maximum=1000, description="metres (default 30)"),
    ],
    responses={200: dict},
)
@api_view(["GET"])
@permission_classes([AllowAny])
def sign_report(request):
    """Roads lacking a sign at an end, and signs whose text no longer matches the current name."""
    radius = params.query_float(request, "radius", 30.0, min_value=0, max_value=1000)
    issues = selectors.sign_report(params.query_division_code(request, "within"), end_radius_m=radius)
    return Response(
        {
            "radius_m": radius,
            "counts": {
                k: sum(1 for i in issues if i.kind == k) for k in ("missing_end", "outdated_text", "orphan")
            },
            "issues": [i.__dict__ for i in issues],
        }
    )


@extend_schema(
    parameters=[
        OpenApiParameter("encoding", str, enum=["utf-8", "gbk"], description="CSV only"),
        params.division_code_param("within"),
        OpenApiParameter("kind", str),
    ],
    responses={(200, "application/octet-stream"): bytes},
)
@api_view(["GET"])
@permission_classes([AllowAny])
def gazetteer(request, fmt: str):
    """标准地名录 (Excel or PDF) or the national place-name database CSV (UTF-8 with BOM, or GBK)."""
    if fmt == "csv" and request.query_params.get("encoding", "").lower() == "gbk":
        fmt = "csv-gbk"
    entries = selectors.gazetteer_entries(
        params.query_division_code(request, "within"), request.query_params.get("kind") or None
    )
    stamp = dt.date.today().isoformat()
    if fmt == "xlsx":
        body, ctype, name = (
            documents.gazetteer_xlsx(entries),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            f"gazetteer-{stamp}.xlsx",
        )
    elif fmt == "pdf":
        body, ctype, name = (
            documents.gazetteer_pdf(entries, subtitle=f"截至 {stamp}"),
            "application/pdf",
            f"gazetteer-{stamp}.pdf",
        )
    elif fmt in ("csv", "csv-gbk"):
        try:
            body = documents.national_csv(entries, encoding="gbk" if fmt == "csv-gbk" else "utf-8-sig")
        except ValueError as exc:
            raise serializers.ValidationError({"format": [str(exc)]}) from exc
        ctype, name = (
            f"text/csv; charset={'gbk' if fmt == 'csv-gbk' else 'utf-8'}",
            f"placenames-national-{stamp}.csv",
        )
    else:
        raise serializers.ValidationError({"format": ["可选 / valid: xlsx, pdf, csv"]})
    response = HttpResponse(body, content_type=ctype)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class NamesImportSerializer(serializers.Serializer):
    file = serializers.FileField()
    dry_run = serializers.BooleanField(default=True)
    coordinate_system = serializers.ChoiceField(
        choices=["wgs84", "cgcs2000", "gcj02", "bd09"], default="wgs84"
    )


@extend_schema(request={"multipart/form-data": NamesImportSerializer}, responses={200: dict, 400: dict})
@api_view(["POST"])
@permission_classes([IsAuthenticated])
@parser_classes([MultiPartParser, FormParser])
def names_import(request):
    """Import existing names from Excel/CSV. Dry run by default; a real run is all-or-nothing."""
    s = NamesImportSerializer(data=request.data)
    s.is_valid(raise_exception=True)
    report = importers.placenames_import_upload(
        s.validated_data["file"],
        dry_run=s.validated_data["dry_run"],
        coordinate_system=s.validated_data["coordinate_system"],
        user=request.user,
    )
    return Response(report.as_dict(), status=status.HTTP_200_OK if report.ok else status.HTTP_400_BAD_REQUEST)


@extend_schema(responses={(200, "text/csv"): bytes})
@api_view(["GET"])
@permission_classes([AllowAny])
def names_import_template(request):
    response = HttpResponse(importers.table_template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="placenames-template.csv"'
    return response


# ---------------------------------------------------------------------------------------------------
# Naming cases
# ---------------------------------------------------------------------------------------------------


class CaseItemSerializer(serializers.Serializer):
    position = serializers.IntegerField(read_only=True)
    name = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=MAX_NAME_CHARS
    )
    kind = serializers.CharField(default="road")
    specific = serializers.CharField(required=False, allow_blank=True, max_length=MAX_SPECIFIC_CHARS)
    generic = serializers.CharField(required=False, allow_blank=True, max_length=MAX_GENERIC_CHARS)
    reading = serializers.CharField(required=False, allow_blank=True, max_length=MAX_READING_CHARS)
    romanization = serializers.CharField(read_only=True)
    feature_code = serializers.CharField(required=False, allow_blank=True)
    segment_codes = serializers.ListField(child=serializers.CharField(), required=False)
    geometry = serializers.JSONField(required=False, allow_null=True, help_text="GeoJSON geometry, EPSG:4326")
    road_class = serializers.CharField(required=False, allow_blank=True)
    width_m = serializers.FloatField(required=False, allow_null=True, min_value=0.1)
    start_desc = serializers.CharField(required=False, allow_blank=True)
    end_desc = serializers.CharField(required=False, allow_blank=True)
    meaning = serializers.CharField(required=False, allow_blank=True)
    findings = serializers.JSONField(read_only=True)


class CaseCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=CaseKind.choices)
    division_code = serializers.CharField()
    title = serializers.CharField()
    applicant = serializers.CharField()
    reason = serializers.CharField(required=False, allow_blank=True)
    coordinate_system = serializers.CharField(required=False, default="wgs84")
    items = CaseItemSerializer(many=True)


class TransitionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=list(workflow.TRANSITIONS))
    expected_version = serializers.IntegerField(required=False)
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    notice_start = serializers.DateField(required=False)
    notice_days = serializers.IntegerField(required=False, min_value=1, max_value=60)
    decision_number = serializers.CharField(required=False)
    decided_on = serializers.DateField(required=False)
    approving_body = serializers.CharField(required=False)
    filed_on = serializers.DateField(required=False)
    filed_with = serializers.CharField(required=False)
    announced_on = serializers.DateField(required=False)
    announcement_number = serializers.CharField(required=False)


class CommentSerializer(serializers.Serializer):
    content = serializers.CharField()
    received_on = serializers.DateField()
    commenter = serializers.CharField(required=False, allow_blank=True, default="")
    response = serializers.CharField(required=False, allow_blank=True, default="")


class AlleyBatchSerializer(serializers.Serializer):
    division_code = serializers.CharField()
    min_length_m = serializers.FloatField(default=50.0, min_value=0)
    applicant = serializers.CharField(required=False, allow_blank=True, default="")


def case_payload(case: NamingCase, user=None) -> dict:
    """The case as `user` may see it: applicant, commenters and officers only for place-name officers
    of the case's jurisdiction (and admins); masked or blank for everyone else (core/visibility.py)."""
    body = {
        "id": case.pk,
        "number": case.number,
        "kind": case.kind,
        "kind_label": case.get_kind_display(),
        "state": case.state,
        "state_label": case.get_state_display(),
        "version": case.version,
        "title": case.title,
        "division_code": case.division.code,
        "division_name": case.division.name,
        "applicant": case.applicant,
        "reason": case.reason,
        "due_on": case.due_on,
        "overdue_days": workflow.overdue_days(case.due_on, dt.date.today())
        if case.state in workflow.OPEN_STATES
        else 0,
        "notice_start": case.notice_start,
        "notice_end": case.notice_end,
        "approved_on": case.approved_on,
        "decision": str(case.decision) if case.decision else "",
        "filing_due_on": case.filing_due_on,
        "announcement_due_on": case.announcement_due_on,
        "filed_on": case.filed_on,
        "announced_on": case.announced_on,
        "announcement_number": case.announcement_number,
        "next_actions": [
            {"action": a, "label": workflow.ACTION_LABELS[a]} for a in workflow.allowed_actions(case.state)
        ],
        "items": [
            {
                "position": i.position,
                "name": i.name,
                "specific": i.specific,
                "generic": i.generic,
                "romanization": i.romanization,
                "kind": i.kind.code,
                "feature_code": i.feature.code if i.feature else "",
                "segment_codes": [s.code for s in i.segments.all()],
                "road_class": i.road_class,
                "width_m": i.width_m,
                "findings": i.findings,
                "result_name_id": i.result_name_id,
            }
            for i in case.items.select_related("kind", "feature").prefetch_related("segments")
        ],
        "events": [
            {
                "action": e.action,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "actor": str(e.actor or ""),
                "at": e.at,
                "comment": e.comment,
            }
            for e in case.events.select_related("actor")
        ],
        "comments": [
            {
                "id": c.pk,
                "received_on": c.received_on,
                "commenter": c.commenter,
                "content": c.content,
                "response": c.response,
            }
            for c in case.comments.all()
        ],
        "attachments": [
            {
                "id": a.pk,
                "kind": a.kind,
                "kind_label": a.get_kind_display(),
                "title": a.title,
                "url": reverse("file-download", args=["attachment", a.pk]),
            }
            for a in case.attachments.all()
        ],
    }
    return scoped(body, user, "placenames", [case.division.code])


class NamingCaseViewSet(viewsets.ViewSet):
    """Naming cases: 申报 → 审核 → 公示 → 报批 → 批准 → 备案 → 公告 (or 不予批准 / 撤回)."""

    lookup_value_regex = params.NUMERIC_ID

    permission_classes = [IsAuthenticatedOrReadOnly]

    def _case(self, pk) -> NamingCase:
        return get_object_or_404(NamingCase.objects.select_related("division", "decision"), pk=pk)

    @extend_schema(responses={200: dict})
    def list(self, request):
        """The work queue of the signed-in officer (open cases in their jurisdiction, overdue first)."""
        if not request.user.is_authenticated:
            return Response({"results": []})
        entries = selectors.case_queue(
            request.user, include_closed=request.query_params.get("closed") in ("1", "true")
        )
        return Response(
            {
                "results": [
                    {
                        "id": e.case.pk,
                        "number": e.case.number,
                        "title": e.case.title,
                        "kind_label": e.case.get_kind_display(),
                        "state": e.case.state,
                        "state_label": e.case.get_state_display(),
                        "division_name": e.case.division.name,
                        "due_on": e.due_on,
                        "overdue_days": e.overdue_days,
                        "version": e.case.version,
                        "next_actions": e.next_actions,
                    }
                    for e in entries
                ]
            }
        )

    @extend_schema(responses={200: dict})
    def retrieve(self, request, pk=None):
        return Response(case_payload(self._case(pk), request.user))

    @extend_schema(request=CaseCreateSerializer, responses={201: dict, 400: dict})
    def create(self, request):
        s = CaseCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = s.validated_data
        items = []
        for position, (raw, item) in enumerate(
            zip(request.data.get("items", []), data["items"], strict=True), start=1
        ):
            geom = (
                _geom_from_request({**raw, "coordinate_system": data.get("coordinate_system")})
                if raw.get("geometry")
                else None
            )
            if geom is not None:
                item["geom"] = geom
            item.pop("geometry", None)
            item["position"] = position
            items.append(services.ItemInput.from_mapping(item))
        case = services.naming_case_create(
            kind=data["kind"],
            division_code=data["division_code"],
            title=data["title"],
            applicant=data["applicant"],
            reason=data.get("reason", ""),
            items=items,
            user=request.user,
        )
        return Response(case_payload(case, request.user), status=status.HTTP_201_CREATED)

    @extend_schema(request=TransitionSerializer, responses={200: dict, 400: dict, 409: dict})
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        """Move the case one step. 409 when the case is in another state or changed since
        `expected_version`."""
        s = TransitionSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        action_name = data.pop("action")
        expected = data.pop("expected_version", None)
        comment = data.pop("comment", "")
        case = services.naming_case_transition(
            int(pk), action_name, user=request.user, expected_version=expected, comment=comment, payload=data
        )
        return Response(case_payload(case, request.user))

    @extend_schema(request=CaseItemSerializer, responses={200: dict})
    @action(detail=True, methods=["patch"], url_path=r"items/(?P<position>\d+)")
    def item(self, request, pk=None, position=None):
        """Change a proposed name while the case is in 申报 or 审核; findings are recomputed."""
        services.naming_case_item_update(self._case(pk), int(position), request.data, user=request.user)
        return Response(case_payload(self._case(pk), request.user))

    @extend_schema(request=CommentSerializer, responses={201: dict})
    @action(detail=True, methods=["post"])
    def comments(self, request, pk=None):
        s = CommentSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.naming_case_comment_add(self._case(pk), user=request.user, **s.validated_data)
        return Response(case_payload(self._case(pk), request.user), status=status.HTTP_201_CREATED)

    @extend_schema(request={"multipart/form-data": dict}, responses={201: dict})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def attachments(self, request, pk=None):
        upload = request.FILES.get("file")
        if upload is None:
            raise serializers.ValidationError({"file": ["请选择文件 / a file is required"]})
        services.naming_case_attachment_add(
            self._case(pk),
            kind=request.data.get("kind", ""),
            title=request.data.get("title", ""),
            file=upload,
            user=request.user,
        )
        return Response(case_payload(self._case(pk), request.user), status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "application/pdf"): bytes})
    @action(detail=True, methods=["get"], url_path="announcement.pdf", permission_classes=[AllowAny])
    def announcement(self, request, pk=None):
        """The announcement (公告) PDF of an approved case."""
        case = self._case(pk)
        body = documents.announcement_pdf(selectors.case_announcement(case))
        response = HttpResponse(body, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="announcement-{case.number}.pdf"'
        return response

    @extend_schema(request=AlleyBatchSerializer, responses={201: dict})
    @action(detail=False, methods=["post"], url_path="alley-batch")
    def alley_batch(self, request):
        """Open a batch-naming case for the unnamed alleys of a division, in suggested work order."""
        s = AlleyBatchSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        case = services.alley_batch_case_open(user=request.user, **s.validated_data)
        return Response(case_payload(case, request.user), status=status.HTTP_201_CREATED)
