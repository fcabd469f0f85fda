"""/api/divisions/: GeoJSON in lon/lat (EPSG:4326), filter by level, parent code, bbox."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework_gis.fields import GeometrySerializerMethodField
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from geo_mz.api import imports, params
from geo_mz.core import import_jobs
from geo_mz.core.permissions import require_role
from geo_mz.divisions import selectors, services
from geo_mz.divisions.models import Division, Level


class DivisionSerializer(GeoFeatureModelSerializer):
    parent_code = serializers.CharField(allow_null=True, read_only=True)
    level_label = serializers.CharField(source="get_level_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    area_km2 = serializers.SerializerMethodField()
    geometry = GeometrySerializerMethodField()
    label_point = serializers.SerializerMethodField()
    children_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Division
        geo_field = "geometry"
        id_field = "code"
        fields = [
            "code",
            "name",
            "short_name",
            "statistical_name",
            "level",
            "level_label",
            "parent_code",
            "status",
            "status_label",
            "area_km2",
            "population",
            "population_source",
            "population_year",
            "population_60_plus",
            "population_60_plus_source",
            "population_60_plus_year",
            "households",
            "households_source",
            "households_year",
            "synthetic",
            "geometry_source",
            "children_count",
            "label_point",
        ]

    def get_geometry(self, obj):
        return obj.geom_lonlat or obj.point_lonlat

    def get_area_km2(self, obj) -> float | None:
        area = getattr(obj, "area_m2", None)
        return round(area.sq_m / 1e6, 4) if area is not None else None

    def get_label_point(self, obj) -> list[float] | None:
        point = obj.point_lonlat
        return [round(point.x, 7), round(point.y, 7)] if point else None


def _bbox_param(value: str | None) -> tuple[float, float, float, float] | None:
    if not value:
        return None
    parts = value.split(",")
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError as exc:
        raise serializers.ValidationError(
            {"bbox": [_("bbox 须为 minlon,minlat,maxlon,maxlat 四个数字 / bbox must be 4 numbers")]}
        ) from exc
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise serializers.ValidationError(
            {"bbox": [_("bbox 范围无效（经度在前，纬度在后）/ invalid bbox (lon first, then lat)")]}
        )
    return minx, miny, maxx, maxy


class ImportSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["geometries", "codes", "figures"])
    file = serializers.FileField()
    dry_run = serializers.BooleanField(default=True)
    code_field = serializers.CharField(default="code")
    name_field = serializers.CharField(default="name")
    srid = serializers.IntegerField(required=False)
    encoding = serializers.CharField(required=False)
    coordinate_system = serializers.ChoiceField(
        choices=["wgs84", "cgcs2000", "gcj02", "bd09"], default="wgs84"
    )
    source = serializers.CharField(required=False)
    year = serializers.IntegerField(required=False, min_value=1950, max_value=2100)
    background = serializers.BooleanField(
        default=False,
        help_text="后台任务导入（大文件总是后台导入）；202 + 任务，进度见 /api/import-jobs/<id>/ / "
        "run as a background job (always for large files): 202 with the job",
    )


@extend_schema(
    parameters=[
        OpenApiParameter("level", str, enum=[c for c, _ in Level.choices]),
        params.division_code_param("parent", "parent division code"),
        params.division_code_param("within", "a division code: that division and its descendants"),
        OpenApiParameter("bbox", str, description="minlon,minlat,maxlon,maxlat (EPSG:4326)"),
    ]
)
class DivisionViewSet(viewsets.ReadOnlyModelViewSet):
    """行政区划 GeoJSON (EPSG:4326). Geometry is the polygon when known, else the representative point."""

    serializer_class = DivisionSerializer
    lookup_field = "code"
    lookup_value_regex = r"\d{6}|\d{9}|\d{12}"
    filter_backends: list = []

    def get_queryset(self):
        query = self.request.query_params
        level = query.get("level")
        if level and level not in Level.values:
            raise serializers.ValidationError(
                {"level": [f"未知级别 {level}，可选 / valid: {', '.join(Level.values)}"]}
            )
        return selectors.division_list(
            level=level,
            parent_code=params.query_division_code(self.request, "parent"),
            within_code=params.query_division_code(self.request, "within"),
            bbox_lonlat=_bbox_param(query.get("bbox")),
        )

    @extend_schema(
        parameters=[
            params.float_param("tolerance", minimum=0, maximum=1000, description="metres (default 1)"),
            params.float_param("min_area", minimum=0, description="m² (default 10 × tolerance²)"),
        ],
        responses={200: dict},
    )
    @action(detail=True, methods=["get"])
    def topology(self, request, code=None):
        """Gaps and overlaps between this division's children and children outside it (m², lon/lat)."""
        tolerance = params.query_float(request, "tolerance", 1.0, min_value=0, max_value=1000)
        min_area = params.query_float(request, "min_area", min_value=0)
        division = self.get_object()
        issues = selectors.division_topology_check(division.code, tolerance_m=tolerance, min_area_m2=min_area)
        return Response({"code": division.code, "tolerance_m": tolerance, "issues": issues})

    @extend_schema(
        request={"multipart/form-data": ImportSerializer}, responses={200: dict, 202: dict, 400: dict}
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, FormParser],
        permission_classes=[IsAuthenticated],
    )
    def import_file(self, request):
        """Import geometries, codes or figures. Dry run by default; returns the per-row report.
        A real run commits all rows or none (400 when any row fails). A file larger than
        GEO_MZ_IMPORT_BACKGROUND_MB (or `background`) is queued: 202 with the job."""
        require_role(request.user, "divisions")  # before the upload is read
        serializer = ImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        v = serializer.validated_data
        if import_jobs.runs_in_background(v["file"], v["background"]):
            params = {k: val for k, val in v.items() if k not in ("file", "background")}
            job = import_jobs.import_job_submit("divisions", v["file"], params, user=request.user)
            return Response(imports.job_accepted(job, request), status=status.HTTP_202_ACCEPTED)
        report = services.divisions_import_upload(v, request.user)
        body = report.as_dict()
        return Response(body, status=status.HTTP_200_OK if report.ok else status.HTTP_400_BAD_REQUEST)
