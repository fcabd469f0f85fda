"""Per-layer exports at scale: every OGC API collection (api/ogc.py COLLECTIONS) to GeoPackage,
Shapefile (UTF-8 or GBK, with .cpg), GeoJSON, KML, Excel or CSV.

Two ways out, neither of which ever holds a whole layer in memory:

* **Background job** (`POST /api/exports/`): a `core.Job` of kind ``export``. Rows come from a
  server-side cursor in batches of ``BATCH`` and go straight to the writer (core/exporting.py); the
  job's progress is the number of features written. The file is downloaded from
  `/api/exports/<id>/download/` by the user who asked for it.
* **Streamed GeoJSON** (`GET /api/exports/<collection>.geojson`): the same batches written into the
  HTTP response as they are read.

Filters are the OGC ones (``bbox``, ``bbox-crs`` and the collection's queryables), checked by the
same parser, so a link that works on /ogc/…/items works here. Columns are the properties' Chinese
titles (门牌编码, 标准地址…). Coordinates are CGCS2000 lon/lat (EPSG:4490).

Reads use their own PostgreSQL connection (the read replica when one is configured), so progress
updates on Django's connection are visible to pollers while the export's snapshot stays consistent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import psycopg
from django.conf import settings
from django.http import FileResponse, StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from geo_mz.api import ogc
from geo_mz.core import crs, exporting, jobs
from geo_mz.core.db import psycopg_conninfo, read_alias
from geo_mz.core.models import Job
from geo_mz.core.upload_files import protect

BATCH = 50_000
KIND = "export"
FORMATS: dict[str, tuple[str, str]] = {  # format → (file suffix, content type)
    "gpkg": ("gpkg", "application/geopackage+sqlite3"),
    "shp": ("zip", "application/zip"),
    "geojson": ("geojson", "application/geo+json"),
    "kml": ("kml", "application/vnd.google-earth.kml+xml"),
    "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "csv": ("csv", "text/csv; charset=utf-8"),
}
ENCODINGS = {"utf-8": "UTF-8", "utf8": "UTF-8", "gbk": "GBK", "cp936": "GBK", "936": "GBK"}
_KINDS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "date": "date"}
_NAME_PROPS = ("name", "full_text", "label", "number", "code")


def layer_fields(c: ogc.Collection) -> list[exporting.Field]:
    """Export columns: each property under its Chinese title (unique within the collection)."""
    return [exporting.Field(p.title, _KINDS[p.type]) for p in c.props]


def _sql(q: ogc.Query) -> tuple[str, str, list[Any]]:
    c = q.collection
    where, params = q.where_sql(with_after=False)
    cols = ", ".join(f"{p.sql}" for p in c.props)
    geom = f"ST_AsBinary(ST_Transform({c.geom}, {crs.CGCS2000}))"
    select = f"SELECT {cols}, {geom} FROM {c.from_sql} WHERE {where} ORDER BY {c.key}"
    count = f"SELECT count(*) FROM {c.from_sql} WHERE {where}"
    return select, count, params


def layer_batches(q: ogc.Query, *, on_total=None) -> Iterator[exporting.Batch]:
    """The features of a parsed query in batches of BATCH rows, from a server-side cursor."""
    c = q.collection
    fields = layer_fields(c)
    select, count, params = _sql(q)
    with psycopg.connect(**psycopg_conninfo(read_alias())) as conn:
        conn.read_only = True
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # count and rows: one snapshot
        with conn.transaction():
            conn.execute("SET LOCAL jit = off")
            if on_total is not None:
                on_total(conn.execute(count, params).fetchone()[0])
            with conn.cursor(name="geo_mz_export") as cur:
                cur.itersize = BATCH
                cur.execute(select, params)
                while rows := cur.fetchmany(BATCH):
                    cols = list(zip(*rows, strict=True))
                    geometry = cols[-1]  # WKB (bytes) or None; the writer parses it
                    yield exporting.Batch(
                        columns={f.name: list(col) for f, col in zip(fields, cols[:-1], strict=True)},
                        geometry=list(geometry),
                    )


def _parse(collection: str, fmt: str, encoding: str, filters: dict[str, Any], user) -> ogc.Query:
    c = ogc.COLLECTIONS.get(collection)
    if c is None:
        raise serializers.ValidationError(
            {
                "collection": [
                    f"未知图层 {collection} / unknown layer; use one of: {', '.join(ogc.COLLECTIONS)}"
                ]
            }
        )
    if not ogc.can_read(user, collection):
        raise exceptions.NotAuthenticated(
            f"图层 {c.title} 需要登录 / layer {collection} needs a signed-in user"
        )
    if fmt not in FORMATS:
        raise serializers.ValidationError(
            {"format": [f"不支持的格式 {fmt} / unsupported format; use one of: {', '.join(FORMATS)}"]}
        )
    if encoding.lower() not in ENCODINGS:
        raise serializers.ValidationError(
            {"encoding": ["编码须为 UTF-8 或 GBK / encoding must be UTF-8 or GBK"]}
        )
    if encoding.lower() not in ("utf-8", "utf8") and fmt != "shp":
        raise serializers.ValidationError(
            {"encoding": ["只有 Shapefile 可选 GBK 编码 / only Shapefile exports can be GBK"]}
        )
    clean = {k: str(v) for k, v in filters.items() if k not in ("crs", "limit", "offset", "after", "f")}
    return ogc.items_query(c, clean)


def _download_name(collection: str, fmt: str) -> str:
    return f"{collection}-{settings.GEO_MZ_COUNTY_CODE}-{dt.date.today():%Y%m%d}.{FORMATS[fmt][0]}"


@jobs.job_handler(KIND)
def export_job(ctx: jobs.JobContext):
    p = ctx.job.params
    q = _parse(
        p["collection"], p["format"], p.get("encoding", "UTF-8"), p.get("filters", {}), ctx.job.created_by
    )
    c = q.collection
    name = _download_name(c.id, p["format"])
    path = ctx.workdir / f"{c.id}.{FORMATS[p['format']][0]}"
    total: dict[str, int] = {}

    def on_total(n: int) -> None:
        total["n"] = n
        ctx.progress(0, n, f"共 {n:,} 个要素 / {n:,} features")

    props = {pr.name: pr.title for pr in c.props}
    label = next((props[k] for k in _NAME_PROPS if k in props), None)
    written = exporting.layer_write(
        path,
        p["format"],
        layer=c.id,
        fields=layer_fields(c),
        batches=layer_batches(q, on_total=on_total),
        geometry_type=c.geometry_type,
        srid=crs.CGCS2000,
        encoding=ENCODINGS[p.get("encoding", "UTF-8").lower()],
        progress=lambda n: ctx.progress(n),
        name_field=label,
    )
    result = {
        "collection": c.id,
        "title": c.title,
        "format": p["format"],
        "encoding": written.encoding,
        "count": written.count,
        "field_names": written.field_names,
    }
    return result, written.path, name


# ---------------------------------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------------------------------


class ExportRequestSerializer(serializers.Serializer):
    collection = serializers.CharField(help_text="图层 / layer: " + ", ".join(ogc.COLLECTIONS))
    format = serializers.CharField(help_text="gpkg, shp, geojson, kml, xlsx, csv")
    encoding = serializers.CharField(default="UTF-8", help_text="Shapefile: UTF-8 or GBK")
    filters = serializers.DictField(
        child=serializers.CharField(), required=False, default=dict, help_text="bbox, bbox-crs, queryables"
    )


def job_json(job: Job, request) -> dict[str, Any]:
    done = job.status == "done" and bool(job.file)
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "status_display": job.get_status_display(),
        "params": job.params,
        "progress": job.progress,
        "total": job.total,
        "percent": job.percent,
        "message": job.message,
        "error": job.error,
        "result": job.result,
        "file_name": job.file_name,
        "download": request.build_absolute_uri(f"/api/exports/{job.pk}/download/") if done else None,
        "retry": request.build_absolute_uri(f"/api/jobs/{job.pk}/retry/") if job.status == "failed" else None,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


@extend_schema(
    methods=["GET"],
    responses={200: OpenApiResponse({"type": "array", "items": {"type": "object"}})},
    operation_id="exports_list",
    description="the user's export jobs",
)
@extend_schema(
    methods=["POST"], request=ExportRequestSerializer, responses={202: dict}, operation_id="exports_create"
)
@api_view(["GET", "POST"])
@permission_classes([IsAuthenticated])
def exports(request):
    """GET: the signed-in user's export jobs (latest 50). POST: queue an export; 202 with the job."""
    if request.method == "GET":
        qs = Job.objects.filter(kind=KIND, created_by=request.user)[:50]
        return Response([job_json(j, request) for j in qs])
    s = ExportRequestSerializer(data=request.data)
    s.is_valid(raise_exception=True)
    d = s.validated_data
    _parse(d["collection"], d["format"], d["encoding"], d["filters"], request.user)  # 400 now, not in the job
    job = jobs.job_submit(
        KIND,
        {
            "collection": d["collection"],
            "format": d["format"],
            "encoding": d["encoding"],
            "filters": d["filters"],
        },
        user=request.user,
    )
    return Response(job_json(job, request), status=202)


def _own_job(request, pk: int) -> Job:
    job = Job.objects.filter(pk=pk, kind=KIND).first()
    if job is None or (job.created_by_id != request.user.pk and not request.user.is_staff):
        raise exceptions.NotFound("没有这个导出任务 / no such export job")
    return job


@api_view(["GET"])
@permission_classes([IsAuthenticated])
def export_detail(request, pk: int):
    """One export job with its progress (poll until status is done or failed)."""
    return Response(job_json(_own_job(request, pk), request))


@api_view(["GET"])
@permission_classes([IsAuthenticated])
def export_download(request, pk: int):
    job = _own_job(request, pk)
    if job.created_by_id != request.user.pk:  # the file goes to its requester only, staff included
        raise exceptions.NotFound("没有这个导出任务 / no such export job")
    if job.status != "done" or not job.file:
        raise exceptions.NotFound("导出尚未完成 / the export is not finished")
    fmt = job.params.get("format", "gpkg")
    return protect(  # the same headers as /files/ (nosniff, CSP sandbox, no caching)
        FileResponse(
            job.file.open("rb"), as_attachment=True, filename=job.file_name, content_type=FORMATS[fmt][1]
        )
    )


@extend_schema(
    parameters=[OpenApiParameter("bbox", str), OpenApiParameter("bbox-crs", str)],
    responses={(200, "application/geo+json"): dict},
    operation_id="exports_stream_geojson",
)
@api_view(["GET"])
@permission_classes([AllowAny])
def export_geojson(request, collection: str):
    """A whole layer as one GeoJSON FeatureCollection, streamed as it is read (CGCS2000 lon/lat).
    It ends with `numberMatched` and `numberReturned` (counted in the same snapshot): a download cut
    off by a lost connection is not valid JSON, and a complete one has the two equal."""
    q = _parse(collection, "geojson", "UTF-8", request.query_params.dict(), request.user)
    c = q.collection
    counted: list[int] = []
    chunks = exporting.geojson_chunks(
        layer_fields(c),
        layer_batches(q, on_total=counted.append),
        matched=lambda: counted[0] if counted else None,
    )
    response = StreamingHttpResponse(chunks, content_type=FORMATS["geojson"][1])
    response["Content-Disposition"] = f'attachment; filename="{_download_name(c.id, "geojson")}"'
    return response
