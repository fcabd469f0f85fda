"""Bulk entry from the Excel template and GNSS CSV (dry run, per-row report, all-or-nothing) and the
exports (界桩成果表, GeoPackage)."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.conf import settings

from geo_mz.boundaries import importers, reports
from geo_mz.boundaries.models import MarkerFinding
from geo_mz.core import crs
from tests.boundaries.conftest import png_bytes

pytestmark = pytest.mark.django_db


def _fill_template(inspection, rows: dict[str, tuple], tmp_path):
    wb = openpyxl.load_workbook(io.BytesIO(reports.findings_template(inspection)))
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(header)}
    for r in range(2, ws.max_row + 1):
        number = ws.cell(r, col["界桩编号"]).value
        condition, repainted, photo = rows.get(number, ("完好", "是", ""))
        ws.cell(r, col["状况"]).value = condition
        ws.cell(r, col["描红"]).value = repainted
        if photo:
            ws.cell(r, col.get("照片文件", len(header) + 1)).value = photo
    if "照片文件" not in col:
        ws.cell(1, len(header) + 1).value = "照片文件"
    path = tmp_path / "findings.xlsx"
    wb.save(path)
    return path


def test_findings_template_import_dry_run_then_commit(open_inspection, side_users, tmp_path):
    markers = list(open_inspection.line.markers.order_by("seq", "letter"))
    lost = markers[1].number
    path = _fill_template(open_inspection, {lost: ("丢失", "否", "lost.png")}, tmp_path)

    dry = importers.findings_import(
        open_inspection.pk, path, photos={"lost.png": png_bytes()}, user=side_users[0]
    )
    assert dry.ok, dry.as_text() if hasattr(dry, "as_text") else dry.as_dict()
    assert not dry.committed and not MarkerFinding.objects.filter(inspection=open_inspection).exists()

    real = importers.findings_import(
        open_inspection.pk, path, photos={"lost.png": png_bytes()}, dry_run=False, user=side_users[0]
    )
    assert real.committed and real.counts()["create"] == len(markers)
    f = MarkerFinding.objects.get(inspection=open_inspection, marker__number=lost)
    assert f.condition == "lost" and f.photos.count() == 1


def test_findings_import_reports_each_bad_row_and_writes_nothing(open_inspection, side_users, tmp_path):
    markers = list(open_inspection.line.markers.order_by("seq", "letter"))
    path = _fill_template(
        open_inspection,
        {
            markers[0].number: ("破了", "是", ""),
            markers[1].number: ("损坏", "是", ""),
            markers[2].number: ("完好", "也许", ""),
        },
        tmp_path,
    )
    report = importers.findings_import(open_inspection.pk, path, photos={}, dry_run=False, user=side_users[0])
    assert not report.ok and not report.committed
    errors = {r.row: {e.field for e in r.errors} for r in report.error_rows}
    assert errors[2] == {"condition"}
    assert errors[3] == {"photos"}
    assert errors[4] == {"repainted"}
    assert not MarkerFinding.objects.filter(inspection=open_inspection).exists()


def test_gnss_csv_updates_offsets(open_inspection, side_users, tmp_path):
    from tests.boundaries.conftest import record_all

    record_all(open_inspection, side_users[0])
    markers = list(open_inspection.line.markers.order_by("seq", "letter"))
    lines = ["界桩编号,经度,纬度"]
    for m in markers[:2]:
        lon, lat = crs.projected_to_lonlat(m.point.x, m.point.y + 3.0, settings.GEO_MZ_SRID)
        lines.append(f"{m.number},{lon:.8f},{lat:.8f}")
    lines.append(f"{markers[2].number},{29.7},{113.9}")  # swapped
    lines.append("NO-SUCH,113.9,29.7")
    path = tmp_path / "gnss.csv"
    path.write_text("\n".join(lines), encoding="gb18030")
    report = importers.gnss_import(open_inspection.pk, path, dry_run=False, user=side_users[0])
    assert not report.committed
    bad = {r.row: r.errors[0].message for r in report.error_rows}
    assert set(bad) == {4, 5}
    assert "NO-SUCH" in bad[5] or "没有界桩" in bad[5]
    assert MarkerFinding.objects.filter(inspection=open_inspection, measured_point__isnull=False).count() == 0

    path.write_text("\n".join(lines[:3]), encoding="utf-8")
    report = importers.gnss_import(open_inspection.pk, path, dry_run=False, user=side_users[0])
    assert report.committed
    offsets = sorted(
        MarkerFinding.objects.filter(inspection=open_inspection, measured_point__isnull=False).values_list(
            "offset_m", flat=True
        )
    )
    assert offsets == [pytest.approx(3.0, abs=0.01)] * 2


def test_marker_table_and_geopackage(honghu_line, tmp_path):
    wb = openpyxl.load_workbook(io.BytesIO(reports.marker_table(honghu_line)))
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[0] == "界桩编号"
    numbers = [ws.cell(r, 1).value for r in range(2, ws.max_row + 1)]
    assert numbers == list(honghu_line.markers.order_by("seq", "letter").values_list("number", flat=True))

    import pyogrio

    path = tmp_path / "b.gpkg"
    path.write_bytes(reports.export_gpkg("421281"))
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert layers == {"boundary_lines", "boundary_markers"}
    lines = pyogrio.read_dataframe(path, layer="boundary_lines")
    assert "洪湖赤壁线" in set(lines["名称"]) and lines.crs.to_epsg() == 4490
    markers = pyogrio.read_dataframe(path, layer="boundary_markers")
    m = honghu_line.markers.order_by("seq", "letter").first()
    row = markers[markers["编号"] == m.number].iloc[0]
    lon, lat = crs.projected_to_lonlat(m.point.x, m.point.y, settings.GEO_MZ_SRID)
    assert abs(row.geometry.x - lon) < 1e-7 and abs(row.geometry.y - lat) < 1e-7
