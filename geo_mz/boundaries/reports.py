"""Documents and exports built from the database: the joint report PDF, the 界桩成果表 and the
findings template (Excel), and the GeoPackage of lines and markers."""

from __future__ import annotations

import tempfile
from pathlib import Path

import shapely
from django.conf import settings

from geo_mz.boundaries import documents
from geo_mz.boundaries import markers as rules
from geo_mz.boundaries.models import (
    Action,
    BoundaryLine,
    Condition,
    Inspection,
    InspectionStatus,
    Marker,
    MarkerKind,
)
from geo_mz.boundaries.selectors import current_lines, current_markers
from geo_mz.core import crs


def condition_definitions() -> tuple[tuple[str, str], ...]:
    return tuple((label, definition) for label, definition in (rules.CONDITIONS[c] for c in Condition.values))


def _coords(marker: Marker) -> dict:
    return rules.display_coordinates(shapely.Point(marker.point.x, marker.point.y), settings.GEO_MZ_SRID)


def marker_row(marker: Marker) -> documents.MarkerRow:
    c = _coords(marker)
    return documents.MarkerRow(
        number=marker.number,
        kind_label=str(MarkerKind(marker.kind).label),
        material=marker.material,
        x_northing=c["x_northing"],
        y_easting=c["y_easting"],
        lon=c["lon"],
        lat=c["lat"],
        elevation_m=marker.elevation_m,
        location=marker.location_text,
        responsible=marker.responsible.name if marker.responsible else "",
        bearings=tuple((b["name"], b["azimuth_deg"], b["distance_m"]) for b in marker.bearings[:3]),
    )


def marker_table(line: BoundaryLine) -> bytes:
    rows = [marker_row(m) for m in current_markers(line).order_by("seq", "letter")]
    return documents.marker_table_xlsx(line.name, rows, title="界桩成果表")


def findings_template(inspection: Inspection) -> bytes:
    numbers = list(
        current_markers(inspection.line).order_by("seq", "letter").values_list("number", flat=True)
    )
    return documents.findings_template_xlsx(
        inspection.line.name, numbers, definitions=condition_definitions()
    )


def _party(insp: Inspection, which: str) -> documents.Party:
    division = insp.line.division_a if which == "a" else insp.line.division_b
    by = getattr(insp, f"confirmed_{which}_by")
    profile = getattr(by, "profile", None) if by else None
    confirmed_by = None
    if by is not None:
        name = by.get_full_name() or by.get_username()
        confirmed_by = f"{name}（{profile.organisation}）" if profile and profile.organisation else name
    participants = getattr(insp, f"participants_{which}")
    return documents.Party(
        division_name=division.name,
        lead=insp.lead_id == division.pk,
        participants=tuple(
            p.strip() for p in participants.replace("，", "\n").replace(",", "\n").splitlines() if p.strip()
        ),
        confirmed_by=confirmed_by,
        confirmed_at=getattr(insp, f"confirmed_{which}_at"),
    )


def _photo_bytes(photo) -> bytes | None:
    try:
        with photo.file.open("rb") as fh:
            return fh.read()
    except (OSError, ValueError):
        return None


def inspection_report(insp: Inspection, *, invariant: bool = False) -> bytes:
    insp = Inspection.objects.select_related(
        "line__division_a",
        "line__division_b",
        "lead",
        "confirmed_a_by__profile",
        "confirmed_b_by__profile",
        "corrects",
    ).get(pk=insp.pk)
    findings = (
        insp.marker_findings.select_related("marker")
        .prefetch_related("photos")
        .order_by("marker__seq", "marker__letter")
    )
    rows = tuple(
        documents.MarkerFindingRow(
            number=f.marker.number,
            condition_label=str(Condition(f.condition).label),
            repainted=f.repainted or f.action == Action.REPAINTED,
            offset_m=f.offset_m,
            action_label=str(Action(f.action).label),
            note=f.note,
            photos=tuple(b for b in (_photo_bytes(p) for p in f.photos.all()) if b),
        )
        for f in findings
    )
    segments = tuple(
        documents.SegmentFindingRow(
            section=s.section,
            terrain_change=s.terrain_change,
            recognisable=s.recognisable,
            construction=s.construction,
            dispute=s.dispute,
            handling=s.handling,
        )
        for s in insp.segment_findings.all()
    )
    line = insp.line
    agreement = " ".join(
        x for x in (line.agreement_no, line.agreement_date and line.agreement_date.isoformat()) if x
    )
    report = documents.InspectionReport(
        line_name=line.name,
        line_code=line.code,
        line_length_km=line.length_km,
        agreement=agreement or "—",
        round_year=insp.round_year,
        kind_label=str(insp.get_kind_display()),
        reason=insp.reason,
        start_date=insp.start_date,
        end_date=insp.end_date,
        parties=(_party(insp, "a"), _party(insp, "b")),
        markers=rows,
        segments=segments,
        conclusion=insp.conclusion,
        record_no=insp.record_no,
        status_label=str(InspectionStatus(insp.status).label),
        condition_definitions=condition_definitions(),
        supersedes=insp.corrects.record_no if insp.corrects else "",
        peace_agreement=insp.peace_agreement_note
        or (Path(insp.peace_agreement.name).name if insp.peace_agreement else ""),
        filed_on=insp.filed_on,
        filed_with=insp.filed_with,
    )
    return documents.inspection_report_pdf(report, invariant=invariant)


def export_gpkg(within_code: str | None = None) -> bytes:
    """Lines and markers as two layers of one GeoPackage, in EPSG:4490 (lon/lat)."""
    import geopandas as gpd
    import pyogrio

    lines = list(current_lines(within_code))
    markers = list(
        current_markers().filter(line__in=[ln.pk for ln in lines]).order_by("line__code", "seq", "letter")
    )

    def geo(g) -> shapely.Geometry:
        return crs.transform_geometry(shapely.from_wkb(bytes(g.wkb)), settings.GEO_MZ_SRID, crs.CGCS2000)

    line_frame = gpd.GeoDataFrame(
        {
            "编号": [ln.code for ln in lines],
            "名称": [ln.name for ln in lines],
            "级别": [str(ln.get_level_display()) for ln in lines],
            "甲方代码": [ln.division_a.code for ln in lines],
            "甲方": [ln.division_a.name for ln in lines],
            "乙方代码": [ln.division_b.code for ln in lines],
            "乙方": [ln.division_b.name for ln in lines],
            "长度_km": [ln.length_km for ln in lines],
            "协议书": [ln.agreement_no for ln in lines],
            "状态": [str(ln.get_status_display()) for ln in lines],
        },
        geometry=[geo(ln.geom) for ln in lines],
        crs=f"EPSG:{crs.CGCS2000}",
    )
    rows = [marker_row(m) for m in markers]
    marker_frame = gpd.GeoDataFrame(
        {
            "编号": [r.number for r in rows],
            "界线": [m.line.code for m in markers],
            "类型": [r.kind_label for r in rows],
            "材质": [r.material for r in rows],
            "X北坐标": [r.x_northing for r in rows],
            "Y东坐标": [r.y_easting for r in rows],
            "高程": [r.elevation_m for r in rows],
            "位置描述": [r.location for r in rows],
            "负责方": [r.responsible for r in rows],
            "最近状况": [str(m.get_last_condition_display()) if m.last_condition else "" for m in markers],
            "最近检查": [m.last_inspected_on.isoformat() if m.last_inspected_on else "" for m in markers],
        },
        geometry=shapely.points([r.lon for r in rows], [r.lat for r in rows]) if rows else [],
        crs=f"EPSG:{crs.CGCS2000}",
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "boundaries.gpkg"
        pyogrio.write_dataframe(line_frame, path, layer="boundary_lines", driver="GPKG")
        pyogrio.write_dataframe(marker_frame, path, layer="boundary_markers", driver="GPKG", append=True)
        return path.read_bytes()
