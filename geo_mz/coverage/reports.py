"""Coverage documents from stored runs: the report (PDF/Excel, with the indicator table and a vector
map) and the folium analysis map (in-app with /static/ assets, or standalone with every asset inlined)."""

from __future__ import annotations

import datetime as dt

import shapely
from django.conf import settings

from geo_mz.core import crs
from geo_mz.core.basemap import basemap_config
from geo_mz.coverage import documents, maps
from geo_mz.coverage import services as coverage
from geo_mz.coverage.models import CoverageRun
from geo_mz.divisions.models import Division, Level
from geo_mz.facilities.models import Facility, FacilityType

PARAM_LABELS = {"types": "设施类型", "type": "设施类型", "mode": "距离方式", "group": "服务对象", "radius_m": "服务半径（米）",
                "k": "新增数量", "candidates": "候选点", "method": "算法", "scenario": "方案"}  # fmt: skip


def _param_text(key: str, value) -> str:
    if key in ("types", "type"):
        codes = value if isinstance(value, list) else [value]
        names = dict(FacilityType.objects.filter(code__in=codes).values_list("code", "name"))
        return "、".join(names.get(c, c) for c in codes)
    if key == "mode":
        return {"straight": "直线距离", "network": "路网距离"}.get(value, str(value))
    return "默认" if value is None else str(value)


def _townships(codes: list[str]) -> dict[str, Division]:
    return {d.code: d for d in Division.objects.filter(code__in=codes, level=Level.TOWNSHIP)}


def _report(run: CoverageRun) -> documents.CoverageReport:
    county = Division.objects.get(code=settings.GEO_MZ_COUNTY_CODE)
    data = coverage.indicators()
    rows = tuple(
        documents.DivisionRow(
            code=d["code"],
            name=d["name"],
            population=d["total_weight"],
            covered=d["covered_weight"],
            share=d["share"],
            uncovered=d["uncovered_weight"],
        )  # fmt: skip
        for d in run.divisions
    )
    townships = _townships([d["code"] for d in run.divisions])
    shares = {d["code"]: d["share"] for d in run.divisions}
    polygons = [
        (shapely.from_wkb(bytes(t.geom.wkb)), shares.get(code), t.name)
        for code, t in townships.items()
        if t.geom
    ]
    points = [(f.point.x, f.point.y, "facility") for f in _facilities(run)]
    figure = documents.MapFigure(polygons=polygons, points=points, title=run.label) if polygons else None
    s = run.summary
    notes = [
        f"需求点来源：门牌地址点 {s.get('demand_source', {}).get('address_points', 0)} 个，村级代表点 {s.get('demand_source', {}).get('village_points', 0)} 个。"
    ]
    if run.suggestions:
        notes.append(
            "选址建议："
            + "；".join(
                f"{x['rank']}. {x['label']}（新增覆盖 {x['added_weight']:.0f}）" for x in run.suggestions
            )
        )
    return documents.CoverageReport(
        title=f"{county.name}民政设施覆盖分析报告",
        county_name=county.name,
        generated_on=dt.date.today(),
        run_label=f"分析 #{run.pk} {run.label}（引擎 {run.engine_version}，{run.started_at:%Y-%m-%d %H:%M}）",
        parameters=tuple(
            (PARAM_LABELS.get(k, k), _param_text(k, v))
            for k, v in run.parameters.items()
            if k in PARAM_LABELS
        ),
        indicators=tuple(
            documents.IndicatorRow(i.key, i.label, i.value, i.unit, i.norm_text, i.meets, i.note)
            for i in data["indicators"]
        ),
        divisions=rows,
        map=figure,
        notes=tuple(notes),
        synthetic=Facility.objects.filter(synthetic=True).exists(),
    )


def _facilities(run: CoverageRun):
    codes = run.parameters.get("types") or [run.parameters.get("type")]
    return Facility.objects.filter(type__code__in=codes, status="operating").select_related("type")


def run_report_pdf(run: CoverageRun) -> bytes:
    return documents.coverage_report_pdf(_report(run))


def run_report_xlsx(run: CoverageRun) -> bytes:
    return documents.coverage_report_xlsx(_report(run))


def _lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = crs.projected_to_lonlat(x, y, settings.GEO_MZ_SRID)
    return float(lon), float(lat)


def run_map_html(run: CoverageRun, *, standalone: bool = False) -> str:
    """The folium map of a run: divisions by coverage rate, uncovered areas, facilities with radius
    rings, suggested sites. No CDN: assets inline (standalone) or from /static/."""
    townships = _townships([d["code"] for d in run.divisions])
    shares = {d["code"]: d for d in run.divisions}
    divisions = []
    for code, t in townships.items():
        if not t.geom:
            continue
        g = crs.transform_geometry(
            shapely.simplify(shapely.from_wkb(bytes(t.geom.wkb)), 20), settings.GEO_MZ_SRID, crs.CGCS2000
        )
        d = shares[code]
        divisions.append({"type": "Feature", "geometry": shapely.geometry.mapping(g),
                          "properties": {"name": t.name, "code": code, "rate": d["share"], "population": d["total_weight"],
                                         "covered": d["covered_weight"]}})  # fmt: skip
    marks = []
    radius_override = run.parameters.get("radius_m")
    for f in _facilities(run):
        lon, lat = _lonlat(f.point.x, f.point.y)
        marks.append(
            maps.FacilityMark(
                lon=lon,
                lat=lat,
                name=f.name,
                type_label=f.type.name,
                radius_m=radius_override or f.effective_radius_m,
            )
        )
    for s in run.suggestions:
        marks.append(maps.FacilityMark(lon=s["lon"], lat=s["lat"], name=f"建议选址 {s['rank']}：{s['label']}", type_label="建议选址",
                                       radius_m=run.parameters.get("radius_m"), covered_population=s["added_weight"], proposed=True))  # fmt: skip
    demand_marks = []
    if run.kind == "coverage":
        # Recompute the per-point flags (runs store aggregates only); cached demand makes it quick.
        p = run.parameters
        result = coverage.coverage_compute(
            p["types"], mode=p["mode"], group=p["group"], radius_m=p.get("radius_m"), scenario=run.scenario
        )
        demand = coverage.demand_points()
        lon, lat = crs.projected_to_lonlat(demand.xy[:, 0], demand.xy[:, 1], settings.GEO_MZ_SRID)
        w = demand.weight(p["group"])
        demand_marks = [
            maps.DemandMark(lon=float(a), lat=float(b), covered=bool(c), weight=float(x))
            for a, b, c, x in zip(lon, lat, result["covered"], w, strict=True)
        ]
    basemap = None
    bm = basemap_config()
    if bm.get("kind") != "none" and not bm.get("missing_key"):
        basemap = {
            "url": bm["url"],
            "attribution": bm.get("attribution", ""),
            **({"subdomains": bm["subdomains"]} if bm.get("subdomains") else {}),
        }
    m = maps.analysis_map(
        facilities=marks,
        demand=demand_marks,
        divisions={"type": "FeatureCollection", "features": divisions} if divisions else None,
        uncovered=run.uncovered,
        title=run.label,
        basemap=basemap,
        asset_mode="inline" if standalone else "url",
        static_url=settings.STATIC_URL if settings.STATIC_URL.startswith("/") else f"/{settings.STATIC_URL}",
    )
    return maps.to_html(m)
