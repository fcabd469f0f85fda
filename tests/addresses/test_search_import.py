"""Address search (geocoding), reverse geocoding, village numbering, import and export on PostGIS."""

from __future__ import annotations

import io

import openpyxl
import pytest

from geo_mz.addresses import importers, selectors, services
from geo_mz.addresses.models import Address
from tests.addresses.conftest import DAY0, offset_point


@pytest.fixture
def renmin_15(db):
    """人民路15号 of the demo county (numbered by the engine when the demo loads; created between
    its odd neighbours if the spacing reserved it)."""
    from geo_mz.placenames.models import NamedFeature

    road = NamedFeature.objects.get(code="R0016")
    found = Address.objects.filter(feature=road, status="active", number=15, suffix="").first()
    if found:
        return found
    import shapely

    from geo_mz.addresses import numbering

    odd = [a for a in Address.objects.filter(feature=road, status="active", suffix="") if a.number % 2 == 1]
    after = min((a for a in odd if a.number > 15), key=lambda a: a.number)
    below = [a.chainage_m for a in odd if a.number < 15]
    chainage = (max(below) + after.chainage_m) / 2 if below else after.chainage_m - 4
    axis = numbering.road_axis(services.road_geometry(road), services.numbering_rules(road))
    p0, p1 = axis.line.interpolate(chainage), axis.line.interpolate(chainage + 1)
    dx, dy = p1.x - p0.x, p1.y - p0.y  # the right-hand normal is (dy, -dx)
    from django.contrib.gis.geos import Point

    mid = Point(p0.x + dy * 12 * after.side, p0.y - dx * 12 * after.side, srid=after.point.srid)
    assert shapely.Point(mid.x, mid.y).distance(axis.line) < 13
    entrance = services.entrance_add(kind="road", point=mid, feature=road)
    services.road_numbering_commit(road.pk, only=[entrance.pk], adjustments={entrance.pk: "15"}, today=DAY0)
    entrance.refresh_from_db()
    return entrance


@pytest.mark.parametrize(
    "query", ["赤壁市赤马港街道人民路十五号", "人民路15号", "人民路１５号", "湖北省赤壁市人民路15号"]
)
def test_both_written_forms_find_renmin_road_15(renmin_15, query):
    parsed, matches = selectors.address_search(query)
    assert parsed.road == "人民路" and parsed.number == 15
    assert matches and matches[0].address.pk == renmin_15.pk, [
        (m.address.full_text, m.score) for m in matches[:3]
    ]


def test_a_wrong_township_lowers_the_score_but_still_finds(renmin_15):
    _, right = selectors.address_search(renmin_15.full_text)
    _, wrong = selectors.address_search("赤壁市新店镇人民路15号")
    assert wrong[0].address.pk == renmin_15.pk and wrong[0].score < right[0].score


def test_compound_and_rural_forms(db):
    room = (
        Address.objects.filter(kind="compound", status="active")
        .exclude(room="")
        .select_related("feature")
        .first()
    )
    assert room is not None, "the demo has compound rooms"
    name = room.label.split(f"{room.building_no}幢")[0]
    _, matches = selectors.address_search(f"{name}{room.building_no}栋{room.unit_no}单元{room.room}")
    assert matches[0].address.pk == room.pk
    rural = Address.objects.filter(kind="rural", status="active").select_related("division").first()
    _, matches = selectors.address_search(f"{rural.division.name}{rural.group}{rural.number}号")
    assert matches[0].address.pk == rural.pk


def test_reverse_geocoding_returns_the_nearest_entrance_and_road(renmin_15):
    lon, lat = services._storage_to_lonlat(renmin_15.point)
    found = selectors.address_reverse(lon, lat)
    assert found[0][0].pk == renmin_15.pk and found[0][1] < 0.5
    road = selectors.road_reverse(lon, lat)
    assert road is not None and road[2] < 130


def test_village_batch_numbering_and_completion_figures(db):
    from geo_mz.divisions.models import Division

    rows, totals = selectors.village_progress()
    pending = [r for r in rows if r.pending]
    assert pending and totals["villages_completed"] >= 1, "the demo has finished and pending villages"
    village = pending[0]
    done = services.village_number(village.code, today=DAY0)
    assert len(done) == village.pending
    numbers: dict[str, list[int]] = {}
    for a in Address.objects.filter(division=Division.objects.get(code=village.code), status="active"):
        numbers.setdefault(a.group, []).append(a.number)
    for group, values in numbers.items():
        assert sorted(values) == list(range(1, len(values) + 1)), group
    rows2, totals2 = selectors.village_progress()
    assert totals2["villages_completed"] == totals["villages_completed"] + 1
    assert totals2["households_numbered"] == totals["households_numbered"] + village.pending


def _csv(tmp_path, lines, encoding="utf-8-sig", name="addr.csv"):
    path = tmp_path / name
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def test_import_reports_every_bad_row_and_writes_nothing(ew_road, entrance, tmp_path):
    a = entrance(ew_road, 10, 12)
    services.road_numbering_commit(ew_road.pk, today=DAY0)
    a.refresh_from_db()
    lon, lat = services._storage_to_lonlat(offset_point(ew_road, 300, 12))
    far_lon, far_lat = services._storage_to_lonlat(offset_point(ew_road, 300, 400))
    header = "类型,道路/小区,门牌号,幢,单元,室,村,组/自然村,经度,纬度,启用日期,批准文号,用途"
    path = _csv(
        tmp_path,
        [
            header,
            f"道路,鹭栖路,三十一号,,,,,,{lon},{lat},2019-05-01,,住宅",  # row 2 ok (Chinese numerals)
            f"道路,鹭栖路,31,,,,,,{lon},{lat},2019-05-01,,住宅",  # row 3 duplicate of row 2
            f"道路,鹭栖路,{a.number},,,,,,{lon},{lat},2019-05-01,,住宅",  # row 4 already active
            f"道路,不存在路,5,,,,,,{lon},{lat},,,",  # row 5 unknown road
            f"道路,鹭栖路,3十3,,,,,,{lon},{lat},,,",  # row 6 mixed numerals
            f"道路,鹭栖路,35,,,,,,{lat},{lon},,,",  # row 7 swapped lon/lat
            f"道路,鹭栖路,37,,,,,,{far_lon},{far_lat},,,",  # row 8 too far from the road
            f"道路,鹭栖路,39,,,,,,{lon},{lat},2019-13-45,,",  # row 9 bad date
        ],
    )
    before = Address.objects.count()
    report = importers.addresses_import(path, dry_run=False)
    assert not report.ok and not report.committed
    errors = {r.row: " ".join(e.message for e in r.errors) for r in report.rows if r.errors}
    assert set(errors) == {3, 4, 5, 6, 7, 8, 9}, errors
    assert (
        "第 2 行" in errors[3]
        and "已是现行门牌" in errors[4]
        and "不存在路" in " ".join(e.value or "" for e in report.rows[3].errors)
    )
    assert "米" in errors[8]
    assert Address.objects.count() == before


def test_gbk_csv_import_commits_and_exports_round_trip(ew_road, tmp_path):
    lon, lat = services._storage_to_lonlat(offset_point(ew_road, 300, 12))
    lon2, lat2 = services._storage_to_lonlat(offset_point(ew_road, 320, -12))
    path = _csv(
        tmp_path,
        [
            "类型,道路/小区,门牌号,经度,纬度,启用日期",
            f"道路,鹭栖路,31,{lon},{lat},2019-05-01",
            f"道路,鹭栖路,32之一,{lon2},{lat2},2019-05-01",
        ],
        encoding="gbk",
    )
    dry = importers.addresses_import(path, dry_run=True)
    assert dry.ok and not dry.committed and not Address.objects.filter(feature=ew_road).exists()
    report = importers.addresses_import(path, dry_run=False)
    assert report.ok and report.committed, report.as_text()
    labels = set(Address.objects.filter(feature=ew_road, status="active").values_list("label", flat=True))
    assert labels == {"鹭栖路31号", "鹭栖路32号之一"}
    book = openpyxl.load_workbook(
        io.BytesIO(importers.addresses_export_xlsx(Address.objects.filter(feature=ew_road)))
    )
    values = [c for row in book.active.iter_rows(values_only=True) for c in row]
    assert any("鹭栖路31号" in str(v) for v in values)
    gpkg = tmp_path / "out.gpkg"
    gpkg.write_bytes(importers.addresses_export_gpkg(Address.objects.filter(feature=ew_road)))
    import pyogrio

    frame = pyogrio.read_dataframe(gpkg)
    assert len(frame) == 2 and frame.crs.to_epsg() == 4490
