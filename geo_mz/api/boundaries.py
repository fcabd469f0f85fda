"""/api/boundary-lines/, /api/boundary-markers/, /api/inspections/ and /api/boundaries/…: boundary lines
(GeoJSON, lon/lat) with derivation from division polygons, markers (界桩) with quality rules, joint
inspections (联检) through both sides' confirmation to the locked record and its PDF report, bulk
entry from Excel/CSV, the schedule dashboard and exports. Thin: everything goes through services."""

from __future__ import annotations

import datetime as dt
import math

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response

from geo_mz.api import params
from geo_mz.api.placenames import _lonlat
from geo_mz.boundaries import importers, reports, selectors, services
from geo_mz.boundaries import markers as rules
from geo_mz.boundaries.models import (
    Action,
    BoundaryLine,
    Condition,
    Inspection,
    InspectionKind,
    LineLevel,
    Marker,
    MarkerKind,
)
from geo_mz.core import crs, visibility
from geo_mz.core.permissions import require_edit
from geo_mz.core.upload_files import photo_map, read_upload, saved_upload

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _lines_lonlat(geom) -> list[list[list[float]]]:
    import shapely

    shape = crs.transform_geometry(shapely.from_wkb(bytes(geom.wkb)), settings.GEO_MZ_SRID, crs.CGCS2000)
    return [[[round(x, 7), round(y, 7)] for x, y in part.coords] for part in shape.geoms]


def line_props(line: BoundaryLine, state: str | None = None) -> dict:
    return {
        "id": line.pk,
        "code": line.code,
        "name": line.name,
        "level": line.level,
        "level_label": line.get_level_display(),
        "section": line.section,
        "division_a": {"code": line.division_a.code, "name": line.division_a.name},
        "division_b": {"code": line.division_b.code, "name": line.division_b.name},
        "length_km": line.length_km,
        "agreement_no": line.agreement_no,
        "agreement_date": line.agreement_date,
        "approving_authority": line.approving_authority,
        "status": line.status,
        "inspection_interval_years": line.inspection_interval_years,
        "inspection_state": state,
        "synthetic": line.synthetic,
        "version": line.updated_at.isoformat(),
    }


def line_feature(line: BoundaryLine, state: str | None = None) -> dict:
    return {
        "type": "Feature",
        "id": line.pk,
        "geometry": {"type": "MultiLineString", "coordinates": _lines_lonlat(line.geom)},
        "properties": line_props(line, state),
    }


def marker_props(m: Marker) -> dict:
    import shapely

    coords = rules.display_coordinates(shapely.Point(m.point.x, m.point.y), settings.GEO_MZ_SRID)
    return {
        "id": m.pk,
        "number": m.number,
        "line": m.line_id,
        "line_name": m.line.name,
        "seq": m.seq,
        "letter": m.letter,
        "kind": m.kind,
        "kind_label": m.get_kind_display(),
        "material": m.material,
        "responsible": m.responsible.code if m.responsible_id else None,
        "elevation_m": m.elevation_m,
        "location_text": m.location_text,
        "bearings": m.bearings,
        "x_northing": coords["x_northing"],
        "y_easting": coords["y_easting"],
        "lon": coords["lon"],
        "lat": coords["lat"],
        "status": m.status,
        "last_condition": m.last_condition or None,
        "last_condition_label": m.get_last_condition_display() if m.last_condition else "未检查",
        "last_inspected_on": m.last_inspected_on,
        "needs_repair": m.needs_repair,
        "version": m.version,
    }


def marker_feature(m: Marker) -> dict:
    return {
        "type": "Feature",
        "id": m.pk,
        "geometry": {"type": "Point", "coordinates": _lonlat(m.point)},
        "properties": marker_props(m),
    }


def _quality(q: rules.QualityFinding) -> dict:
    return {
        "rule": q.rule,
        "severity": q.severity,
        "marker": q.marker_key,
        "message": q.message,
        "value": q.value,
        "tolerance": q.tolerance,
    }


def _scope(request) -> str:
    return params.query_division_code(request, "within", settings.GEO_MZ_COUNTY_CODE)


# ---------------------------------------------------------------------------------------------------
# Lines
# ---------------------------------------------------------------------------------------------------


class LineUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=100)
    agreement_no = serializers.CharField(required=False, allow_blank=True, max_length=100)
    agreement_date = serializers.DateField(required=False, allow_null=True)
    approving_authority = serializers.CharField(required=False, allow_blank=True, max_length=100)
    inspection_interval_years = serializers.IntegerField(required=False, min_value=1, max_value=20)
    version = serializers.CharField(required=False)


class DeriveSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=LineLevel.choices, default=LineLevel.COUNTY)
    tolerance_m = serializers.FloatField(default=services.DEFAULT_TOLERANCE_M)
    commit = serializers.BooleanField(default=False)


class BoundaryLineViewSet(viewsets.ViewSet):
    lookup_value_regex = params.NUMERIC_ID
    permission_classes = [IsAuthenticatedOrReadOnly]

    @extend_schema(
        parameters=[
            OpenApiParameter("level", str, enum=LineLevel.values),
            params.division_code_param("within", "division code (default: the county)"),
        ]
    )
    def list(self, request):
        today = dt.date.today()
        schedules = selectors.line_schedules(today, _scope(request))
        level = params.query_choice(request, "level", LineLevel.values)
        features = [line_feature(s.line, s.state) for s in schedules if not level or s.line.level == level]
        return Response({"type": "FeatureCollection", "features": features})

    def retrieve(self, request, pk=None):
        line = get_object_or_404(BoundaryLine.objects.select_related("division_a", "division_b"), pk=pk)
        schedule = next((s for s in selectors.line_schedules(dt.date.today()) if s.line.pk == line.pk), None)
        feature = line_feature(line, schedule.state if schedule else None)
        feature["properties"]["due_year"] = schedule.due_year if schedule else None
        feature["properties"]["markers"] = [marker_props(m) for m in selectors.current_markers(line)]
        feature["properties"]["quality"] = [_quality(q) for q in services.marker_quality(line)]
        feature["properties"]["inspections"] = [
            _inspection_summary(i) for i in line.inspections.select_related("lead").order_by("-round_year")
        ]
        return Response(feature)

    def partial_update(self, request, pk=None):
        data = LineUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        version = fields.pop("version", None)
        line = services.line_update(int(pk), user=request.user, expected_version=version, **fields)
        return Response(line_feature(line))

    @extend_schema(request=DeriveSerializer)
    @action(detail=False, methods=["post"], permission_classes=[IsAuthenticated])
    def derive(self, request):
        """Derive lines from the division polygons; report the difference (and, with commit, store it)."""
        data = DeriveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        run = services.lines_derive(v["level"], around_code=_scope(request), tolerance_m=v["tolerance_m"])
        body = {
            "level": run.level,
            "tolerance_m": run.tolerance_m,
            "counts": run.counts(),
            "lines": [
                {
                    "code": p.code,
                    "name": p.name,
                    "division_a": p.division_a.code,
                    "division_b": p.division_b.code,
                    "length_km": round(p.length_m / 1000, 3),
                    "pieces": p.pieces,
                    "status": p.status,
                    "hausdorff_m": p.hausdorff_m,
                }
                for p in run.proposals
            ],
            "issues": [
                {
                    "kind": i.kind,
                    "codes": list(i.codes),
                    "area_m2": round(i.area_m2, 1),
                    "location": _lonlat_xy(i.location.x, i.location.y)
                    if not i.location.is_empty and math.isfinite(i.location.x)
                    else None,
                    "message": i.message,
                }
                for i in run.issues
            ],
        }
        if v["commit"]:
            body["stored"] = services.lines_store(run, user=request.user)
        return Response(body)

    @action(detail=True, methods=["get"], url_path="markers.xlsx")
    def marker_table(self, request, pk=None):
        line = get_object_or_404(BoundaryLine, pk=pk)
        response = HttpResponse(reports.marker_table(line), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="markers-{line.code}.xlsx"'
        return response


def _lonlat_xy(x: float, y: float) -> list[float]:
    lon, lat = crs.projected_to_lonlat(x, y, settings.GEO_MZ_SRID)
    return [round(lon, 7), round(lat, 7)]


# ---------------------------------------------------------------------------------------------------
# Markers
# ---------------------------------------------------------------------------------------------------


class BearingSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    azimuth_deg = serializers.FloatField()
    distance_m = serializers.FloatField()


class MarkerCreateSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=MarkerKind.choices, default=MarkerKind.SINGLE)
    seq = serializers.IntegerField(required=False, min_value=1)
    lon = serializers.FloatField(required=False)
    lat = serializers.FloatField(required=False)
    x = serializers.FloatField(required=False, help_text="高斯-克吕格 X（北坐标）")
    y = serializers.FloatField(required=False, help_text="高斯-克吕格 Y（东坐标）")
    material = serializers.CharField(required=False, allow_blank=True, default="")
    responsible = serializers.CharField(required=False, allow_blank=True)
    elevation_m = serializers.FloatField(required=False, allow_null=True)
    location_text = serializers.CharField(required=False, allow_blank=True, default="")
    bearings = BearingSerializer(many=True, required=False)


class MarkerUpdateSerializer(serializers.Serializer):
    material = serializers.CharField(required=False, allow_blank=True)
    elevation_m = serializers.FloatField(required=False, allow_null=True)
    location_text = serializers.CharField(required=False, allow_blank=True)
    responsible = serializers.CharField(required=False, allow_blank=True)
    bearings = BearingSerializer(many=True, required=False)
    version = serializers.IntegerField(required=False)


class MarkerViewSet(viewsets.ViewSet):
    lookup_value_regex = params.NUMERIC_ID
    permission_classes = [IsAuthenticatedOrReadOnly]

    @extend_schema(parameters=[params.int_param("line", minimum=0)])
    def list(self, request):
        qs = selectors.current_markers()
        line = params.query_int(request, "line", min_value=0)
        if line is not None:
            qs = qs.filter(line_id=line)
        else:
            qs = qs.filter(line__in=selectors.current_lines(_scope(request)))
        return Response({"type": "FeatureCollection", "features": [marker_feature(m) for m in qs]})

    def retrieve(self, request, pk=None):
        m = get_object_or_404(Marker.objects.select_related("line", "responsible"), pk=pk)
        feature = marker_feature(m)
        feature["properties"]["findings"] = [
            {
                "inspection": f.inspection.record_no,
                "round_year": f.inspection.round_year,
                "condition": f.condition,
                "condition_label": f.get_condition_display(),
                "offset_m": f.offset_m,
                "action": f.get_action_display(),
                "note": f.note,
            }
            for f in m.findings.select_related("inspection").order_by("-inspection__round_year")
        ]
        return Response(feature)

    @extend_schema(request=MarkerCreateSerializer)
    def create(self, request):
        data = MarkerCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        point = services.marker_point_from_input(
            lon=v.get("lon"), lat=v.get("lat"), x=v.get("x"), y=v.get("y")
        )
        m = services.marker_create(
            v["line"],
            point=point,
            kind=v["kind"],
            seq=v.get("seq"),
            material=v["material"],
            responsible_code=v.get("responsible") or None,
            elevation_m=v.get("elevation_m"),
            location_text=v["location_text"],
            bearings=v.get("bearings"),
            user=request.user,
        )
        return Response(marker_feature(m), status=status.HTTP_201_CREATED)

    @extend_schema(request=MarkerUpdateSerializer)
    def partial_update(self, request, pk=None):
        data = MarkerUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        version = fields.pop("version", None)
        if "responsible" in fields:
            fields["responsible_code"] = fields.pop("responsible")
        m = services.marker_update(int(pk), user=request.user, expected_version=version, **fields)
        return Response(marker_feature(m))

    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def photos(self, request, pk=None):
        """Add photos (and optionally the 点之记 sketch) to a marker's record."""
        marker = get_object_or_404(Marker.objects.select_related("line"), pk=_pk_or_404(pk))
        require_edit(request.user, services.APP, marker.line.side_codes, any_side=True)  # before reading
        m = services.marker_photos_add(
            int(pk),
            photos=_uploads(request.FILES.getlist("photos")),
            sketch=_uploads([request.FILES["sketch"]], "sketch")[0] if "sketch" in request.FILES else None,
            user=request.user,
        )
        body = marker_feature(m)
        body["properties"]["photos"] = [
            reverse("file-download", args=["marker-photo", p.pk]) for p in m.photos.all()
        ]
        return Response(body, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def reset(self, request, pk=None):
        """重新埋设: retire the marker and create its successor at the new position."""
        point = services.marker_point_from_input(
            lon=request.data.get("lon"),
            lat=request.data.get("lat"),
            x=request.data.get("x"),
            y=request.data.get("y"),
        )
        m = services.marker_replace(
            int(pk), point=point, user=request.user, expected_version=params.data_int(request.data, "version")
        )
        return Response(marker_feature(m), status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------------------------------------------
# Inspections
# ---------------------------------------------------------------------------------------------------


def _inspection_summary(i: Inspection) -> dict:
    return {
        "id": i.pk,
        "record_no": i.record_no,
        "line": i.line_id,
        "round_year": i.round_year,
        "kind": i.kind,
        "kind_label": i.get_kind_display(),
        "reason": i.reason,
        "lead": i.lead.code,
        "start_date": i.start_date,
        "end_date": i.end_date,
        "status": i.status,
        "status_label": i.get_status_display(),
        "version": i.version,
        "corrects": i.corrects_id,
    }


def _inspection_people_visible(user, i: Inspection) -> bool:
    """Participants and confirmers: the boundary team of either side, and admins (core/visibility.py)."""
    return visibility.personal_visible(
        user, "boundaries", [i.line.division_a.code, i.line.division_b.code], any_side=True
    )


def _inspection_detail(i: Inspection, user=None) -> dict:
    """The inspection as `user` may see it: participants and confirmers masked for everyone but the
    boundary team of either side and admins."""
    body = _inspection_summary(i)
    body.update(
        {
            "line_name": i.line.name,
            "participants_a": i.participants_a,
            "participants_b": i.participants_b,
            "conclusion": i.conclusion,
            "confirmed_a_by": i.confirmed_a_by.get_username() if i.confirmed_a_by else None,
            "confirmed_a_at": i.confirmed_a_at,
            "confirmed_b_by": i.confirmed_b_by.get_username() if i.confirmed_b_by else None,
            "confirmed_b_at": i.confirmed_b_at,
            "locked_at": i.locked_at,
            "filed_on": i.filed_on,
            "filed_with": i.filed_with,
            "completeness": services.inspection_completeness(i) if not i.locked else [],
            "marker_findings": [
                {
                    "marker": f.marker.number,
                    "marker_id": f.marker_id,
                    "condition": f.condition,
                    "condition_label": f.get_condition_display(),
                    "repainted": f.repainted,
                    "measured": _lonlat(f.measured_point),
                    "offset_m": f.offset_m,
                    "action": f.action,
                    "action_label": f.get_action_display(),
                    "note": f.note,
                    "photos": [
                        reverse("file-download", args=["finding-photo", p.pk]) for p in f.photos.all()
                    ],
                }
                for f in i.marker_findings.select_related("marker").prefetch_related("photos")
            ],
            "segment_findings": [
                {
                    "section": s.section,
                    "terrain_change": s.terrain_change,
                    "recognisable": s.recognisable,
                    "construction": s.construction,
                    "dispute": s.dispute,
                    "handling": s.handling,
                }
                for s in i.segment_findings.all()
            ],
        }
    )
    return visibility.redact(body, _inspection_people_visible(user, i))


class InspectionCreateSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    round_year = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=InspectionKind.choices, default=InspectionKind.REGULAR)
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    lead = serializers.CharField(help_text="牵头方区划代码")
    start_date = serializers.DateField()
    end_date = serializers.DateField(required=False, allow_null=True)
    participants_a = serializers.CharField(required=False, allow_blank=True, default="")
    participants_b = serializers.CharField(required=False, allow_blank=True, default="")


class InspectionUpdateSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True)
    participants_a = serializers.CharField(required=False, allow_blank=True)
    participants_b = serializers.CharField(required=False, allow_blank=True)
    start_date = serializers.DateField(required=False)
    end_date = serializers.DateField(required=False, allow_null=True)
    conclusion = serializers.CharField(required=False, allow_blank=True)
    version = serializers.IntegerField(required=False)


class FindingSerializer(serializers.Serializer):
    marker = serializers.IntegerField()
    condition = serializers.ChoiceField(choices=Condition.choices)
    repainted = serializers.BooleanField(default=False)
    lon = serializers.FloatField(required=False, allow_null=True)
    lat = serializers.FloatField(required=False, allow_null=True)
    x = serializers.FloatField(required=False, allow_null=True)
    y = serializers.FloatField(required=False, allow_null=True)
    action = serializers.ChoiceField(choices=Action.choices, default=Action.NONE)
    bearings_intact = serializers.BooleanField(default=True)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    photos = serializers.ListField(child=serializers.FileField(), required=False, default=list)
    version = serializers.IntegerField(required=False)


class SegmentSerializer(serializers.Serializer):
    section = serializers.CharField(max_length=100)
    terrain_change = serializers.CharField(required=False, allow_blank=True, default="")
    recognisable = serializers.BooleanField(default=True)
    construction = serializers.CharField(required=False, allow_blank=True, default="")
    dispute = serializers.CharField(required=False, allow_blank=True, default="")
    handling = serializers.CharField(required=False, allow_blank=True, default="")
    version = serializers.IntegerField(required=False)


class ConfirmSerializer(serializers.Serializer):
    side = serializers.ChoiceField(choices=["a", "b"], required=False)
    version = serializers.IntegerField(required=False)


class FileSerializer(serializers.Serializer):
    filed_on = serializers.DateField()
    filed_with = serializers.CharField(max_length=100)
    agreement = serializers.FileField(required=False)
    agreement_note = serializers.CharField(required=False, allow_blank=True, default="")


class InspectionImportSerializer(serializers.Serializer):
    file = serializers.FileField()
    photos = serializers.ListField(
        child=serializers.FileField(), required=False, default=list, help_text="照片文件或一个 zip 包"
    )
    dry_run = serializers.BooleanField(default=True)


def _uploads(files, field: str = "photos") -> list[services.PhotoUpload]:
    """Uploaded photos as bytes, each refused over GEO_MZ_UPLOAD_MAX_MB before it is read."""
    return [services.PhotoUpload(f.name, read_upload(f, field=field)) for f in files]


def _pk_or_404(pk) -> int:
    if not str(pk).isdigit() or len(str(pk)) > 18:
        raise exceptions.NotFound()
    return int(pk)


def _inspection_editable(request, pk) -> Inspection:
    """403 unless the user may edit this inspection (role + either side): checked before any
    uploaded file is read, so a viewer's zip is never opened."""
    insp = get_object_or_404(Inspection.objects.select_related("line"), pk=_pk_or_404(pk))
    require_edit(request.user, services.APP, insp.line.side_codes, any_side=True)
    return insp


class InspectionViewSet(viewsets.ViewSet):
    lookup_value_regex = params.NUMERIC_ID
    permission_classes = [IsAuthenticatedOrReadOnly]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def _get(self, pk) -> Inspection:
        return get_object_or_404(
            Inspection.objects.select_related(
                "line__division_a", "line__division_b", "lead", "confirmed_a_by", "confirmed_b_by"
            ),
            pk=pk,
        )

    def list(self, request):
        qs = Inspection.objects.filter(line__in=selectors.current_lines(_scope(request))).select_related(
            "lead"
        )
        line = params.query_int(request, "line", min_value=0)
        if line is not None:
            qs = qs.filter(line_id=line)
        return Response([_inspection_summary(i) for i in qs])

    def retrieve(self, request, pk=None):
        return Response(_inspection_detail(self._get(pk), request.user))

    @extend_schema(request=InspectionCreateSerializer)
    def create(self, request):
        data = InspectionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        insp = services.inspection_create(
            v["line"],
            round_year=v["round_year"],
            kind=v["kind"],
            reason=v["reason"],
            lead_code=v["lead"],
            start_date=v["start_date"],
            end_date=v.get("end_date"),
            participants_a=v["participants_a"],
            participants_b=v["participants_b"],
            user=request.user,
        )
        return Response(_inspection_detail(self._get(insp.pk), request.user), status=status.HTTP_201_CREATED)

    @extend_schema(request=InspectionUpdateSerializer)
    def partial_update(self, request, pk=None):
        data = InspectionUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        version = fields.pop("version", None)
        services.inspection_update(int(pk), user=request.user, expected_version=version, **fields)
        return Response(_inspection_detail(self._get(pk), request.user))

    @extend_schema(request=FindingSerializer)
    @action(detail=True, methods=["post"])
    def findings(self, request, pk=None):
        _inspection_editable(request, pk)  # before the photos are read
        data = FindingSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        measured = None
        if v.get("lon") is not None or v.get("x") is not None:
            measured = services.marker_point_from_input(
                lon=v.get("lon"), lat=v.get("lat"), x=v.get("x"), y=v.get("y")
            )
        finding = services.finding_record(
            int(pk),
            marker_id=v["marker"],
            condition=v["condition"],
            repainted=v["repainted"],
            measured=measured,
            action=v["action"],
            bearings_intact=v["bearings_intact"],
            note=v["note"],
            photos=_uploads(request.FILES.getlist("photos")),
            expected_version=v.get("version"),
            user=request.user,
        )
        body = _inspection_detail(self._get(pk), request.user)
        body["warnings"] = finding.warnings
        body["offset_m"] = finding.offset_m
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=SegmentSerializer)
    @action(detail=True, methods=["post"])
    def segments(self, request, pk=None):
        data = SegmentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        version = v.pop("version", None)
        services.segment_finding_record(int(pk), expected_version=version, user=request.user, **v)
        return Response(_inspection_detail(self._get(pk), request.user), status=status.HTTP_201_CREATED)

    @extend_schema(request=ConfirmSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def confirm(self, request, pk=None):
        data = ConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        services.inspection_confirm(
            int(pk), user=request.user, side=v.get("side"), expected_version=v.get("version")
        )
        return Response(_inspection_detail(self._get(pk), request.user))

    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def withdraw(self, request, pk=None):
        services.inspection_withdraw(
            int(pk), user=request.user, expected_version=params.data_int(request.data, "version")
        )
        return Response(_inspection_detail(self._get(pk), request.user))

    @extend_schema(request=None, responses={201: dict})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def correct(self, request, pk=None):
        new = services.inspection_correct(int(pk), user=request.user)
        return Response(_inspection_detail(self._get(new.pk), request.user), status=status.HTTP_201_CREATED)

    @extend_schema(request=FileSerializer)
    @action(detail=True, methods=["post"], url_path="file", permission_classes=[IsAuthenticated])
    def file_with_authority(self, request, pk=None):
        data = FileSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        upload = v.get("agreement")
        services.inspection_file(
            int(pk),
            filed_on=v["filed_on"],
            filed_with=v["filed_with"],
            agreement=services.PhotoUpload(upload.name, read_upload(upload, field="agreement"))
            if upload
            else None,
            agreement_note=v["agreement_note"],
            user=request.user,
        )
        return Response(_inspection_detail(self._get(pk), request.user))

    @action(detail=True, methods=["get"], url_path="report.pdf")
    def report(self, request, pk=None):
        insp = self._get(pk)
        if not _inspection_people_visible(request.user, insp):
            # the report names the participants and confirmers of both sides
            raise exceptions.NotFound("没有这份联检报告 / no such inspection report")
        response = HttpResponse(reports.inspection_report(insp), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="inspection-{insp.pk}.pdf"'
        return response

    @action(detail=True, methods=["get"], url_path="template.xlsx")
    def template(self, request, pk=None):
        insp = self._get(pk)
        response = HttpResponse(reports.findings_template(insp), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="findings-template-{insp.pk}.xlsx"'
        return response

    @extend_schema(request=InspectionImportSerializer)
    @action(detail=True, methods=["post"], url_path="import-findings", permission_classes=[IsAuthenticated])
    def import_findings(self, request, pk=None):
        _inspection_editable(request, pk)  # before any upload is read (a viewer's zip bomb: 403)
        data = InspectionImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        photos = photo_map(request.FILES.getlist("photos"))
        report = _with_upload(
            v["file"],
            lambda path: importers.findings_import(
                int(pk), path, photos=photos, dry_run=v["dry_run"], user=request.user
            ),
        )
        return Response(
            report.as_dict(), status=status.HTTP_200_OK if report.ok else status.HTTP_400_BAD_REQUEST
        )

    @extend_schema(request=InspectionImportSerializer)
    @action(detail=True, methods=["post"], url_path="import-gnss", permission_classes=[IsAuthenticated])
    def import_gnss(self, request, pk=None):
        _inspection_editable(request, pk)
        data = InspectionImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        report = _with_upload(
            v["file"],
            lambda path: importers.gnss_import(int(pk), path, dry_run=v["dry_run"], user=request.user),
        )
        return Response(
            report.as_dict(), status=status.HTTP_200_OK if report.ok else status.HTTP_400_BAD_REQUEST
        )


def _with_upload(upload, fn):
    with saved_upload(upload) as path:
        report = fn(path)
    report.source = upload.name
    return report


# ---------------------------------------------------------------------------------------------------
# Dashboard and exports
# ---------------------------------------------------------------------------------------------------


@extend_schema(
    parameters=[params.int_param("year", minimum=1900, maximum=2100), params.division_code_param("within")]
)
@api_view(["GET"])
@permission_classes([IsAuthenticatedOrReadOnly])
def schedule(request):
    """Lines due this year and overdue, markers lost or needing repair, and the year's figures."""
    today = dt.date.today()
    year = params.query_int(request, "year", today.year, min_value=1900, max_value=2100)
    within = _scope(request)
    schedules = selectors.line_schedules(today, within)
    attention = selectors.markers_attention(within)
    return Response(
        {
            "today": today,
            "lines": [
                {
                    "id": s.line.pk,
                    "code": s.line.code,
                    "name": s.line.name,
                    "level": s.line.level,
                    "last_regular_year": s.last_regular_year,
                    "due_year": s.due_year,
                    "state": s.state,
                    "state_label": s.state_label,
                }
                for s in schedules
            ],
            "markers_lost": [m.number for m in attention["lost"]],
            "markers_repair": [m.number for m in attention["repair"]],
            "year": year,
            "figures": selectors.annual_figures(year, within),
        }
    )


@api_view(["GET"])
@permission_classes([IsAuthenticatedOrReadOnly])
def export_gpkg(request):
    response = HttpResponse(
        reports.export_gpkg(_scope(request)), content_type="application/geopackage+sqlite3"
    )
    response["Content-Disposition"] = f'attachment; filename="boundaries-{_scope(request)}.gpkg"'
    return response


@api_view(["GET"])
@permission_classes([IsAuthenticatedOrReadOnly])
def quality(request, pk: int):
    line = get_object_or_404(BoundaryLine, pk=pk)
    return Response([_quality(q) for q in services.marker_quality(line)])
