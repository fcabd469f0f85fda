"""Search (characters, pinyin, initials, homophones), unnamed alleys, the sign report and the
all-or-nothing name import, on real PostGIS."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from geo_mz.core import roles
from geo_mz.placenames import importers, selectors, services
from geo_mz.placenames.models import NamedFeature, PlaceName, RoadSign

pytestmark = pytest.mark.django_db


@pytest.fixture
def roads(make_road):
    return {
        name: make_road(name, ((113.90 + i * 0.01, 29.72), (113.905 + i * 0.01, 29.72)))
        for i, name in enumerate(["中山路", "中华巷", "山前街", "钟楼巷"])
    }


def _names(rows):
    return [r.name for r in rows]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("中山路", "中山路"),
        ("中", "中山路"),  # one character: any 专名 containing it
        ("中山", "中山路"),  # two characters: bigram token
        ("zsl", "中山路"),  # initials
        ("ZSL", "中山路"),
        ("zhongshan", "中山路"),  # full pinyin prefix
        ("zhong shan", "中山路"),
        ("钟山", "中山路"),  # homophone of the query
        ("zhongshn", "中山路"),  # fuzzy pinyin (typo)
    ],
)
def test_search_finds_by_characters_pinyin_initials_and_sound(roads, query, expected):
    assert expected in _names(selectors.placename_search(query))


def test_search_ranks_exact_and_direct_hits_first(roads):
    rows = selectors.placename_search("中山路")
    assert rows[0].name == "中山路"
    assert _names(selectors.placename_search("钟"))[0] == "钟楼巷"  # direct hit before homophones
    assert selectors.placename_search("  ") == [] and selectors.placename_search("中a1") == []


def test_retired_names_are_searchable_on_request(make_user, make_road):
    road = make_road("旧街")
    name = road.current_name
    name.status, name.valid_to = "retired", dt.date(2020, 1, 1)
    name.save()
    assert "旧街" not in _names(selectors.placename_search("旧街"))
    assert "旧街" in _names(selectors.placename_search("旧街", include_retired=True))


def test_unnamed_alley_batch_case_in_work_order(make_user):
    from geo_mz.placenames.models import RoadSegment

    officer = make_user(roles.PLACENAME_OFFICER)
    unnamed = selectors.unnamed_segments("421281", min_length_m=60, road_class="巷道")
    assert len(unnamed) == 38  # the demo county's unnamed alleys (72–274 m each)
    assert all(s.feature_id is None and s.length_m >= 60 for s in unnamed)
    case = services.alley_batch_case_open(division_code="421281", min_length_m=60, user=officer)
    assert case.kind == "alley_batch" and case.items.count() == len(unnamed)
    # the segments are claimed: a second batch finds nothing left to name
    with pytest.raises(ValidationError):
        services.alley_batch_case_open(division_code="421281", min_length_m=60, user=officer)
    # naming one alley and approving it assigns the segment to the new alley
    first = case.items.get(position=1)
    services.naming_case_item_update(case, 1, {"name": "测试巷"}, user=officer)
    assert case.items.get(position=1).romanization == "Ceshi Xiang"
    segment = first.segments.get()
    assert RoadSegment.objects.get(pk=segment.pk).feature_id is None


def test_sign_report_finds_outdated_text_and_missing_end_signs(make_road):
    from django.contrib.gis.geos import Point

    road = make_road("测牌路", ((113.95, 29.70), (113.96, 29.70)))
    start = road.geom.merged if road.geom.geom_type == "MultiLineString" else road.geom
    x, y = start[0][0] if start.geom_type == "MultiLineString" else start[0]
    RoadSign.objects.create(
        code="TS1",
        sign_type="路牌",
        feature=road,
        text="旧测牌路",
        point=Point(x + 2, y, srid=road.geom.srid),
    )
    issues = selectors.sign_report("421281")
    mine = [i for i in issues if i.feature_code == road.code]
    kinds = sorted(i.kind for i in mine)
    assert kinds == ["missing_end", "outdated_text"]  # the far end has no sign; the near one is outdated


def test_name_import_is_all_or_nothing_with_a_row_report(tmp_path, make_road):
    make_road("温泉桥", kind="bridge")
    path = tmp_path / "names.csv"
    # point features (bridges): a road row needs a line, which a lon/lat table cannot give (issue 14)
    path.write_text(
        "标准名称,类别,所属行政区划代码,经度,纬度,批准文号,批准日期,批准机关\n"
        "鹭栖桥,桥梁,421281002,113.91,29.73,赤政函〔2001〕3号,2001-03-05,赤壁市人民政府\n"
        "温泉桥,桥梁,421281002,113.92,29.73,,,\n"  # duplicate of an existing bridge
        "ＡＢ桥,桥梁,421281002,113.92,29.73,,,\n"  # full-width Latin
        "绿水桥,桥梁,421281002,29.73,113.92,,,\n"  # swapped lat/lon
        "翠柳桥,桥梁,421281002,113.93,29.73,,2001-13-40,\n",  # bad date
        encoding="utf-8",
    )
    before = (NamedFeature.objects.count(), PlaceName.objects.count())
    report = importers.placenames_import_table(path, dry_run=False)
    assert not report.ok and not report.committed
    by_row = {r.row: r for r in report.rows}
    assert by_row[2].errors == []
    assert any("温泉桥" in e.message for e in by_row[3].errors)
    assert by_row[4].errors and by_row[5].errors and by_row[6].errors
    assert by_row[6].errors[0].field == "批准日期"
    assert (NamedFeature.objects.count(), PlaceName.objects.count()) == before

    # a clean file commits every row
    path.write_text(
        "标准名称,类别,所属行政区划代码,经度,纬度,批准文号,批准日期,批准机关\n"
        "鹭栖桥,桥梁,421281002,113.91,29.73,赤政函〔2001〕3号,2001-03-05,赤壁市人民政府\n",
        encoding="utf-8",
    )
    report = importers.placenames_import_table(path, dry_run=False)
    assert report.ok and report.committed, report.as_text()
    record = PlaceName.objects.get(name="鹭栖桥")
    assert (
        record.status == "active"
        and record.decision.number == "赤政函〔2001〕3号"
        and record.romanization == "Luqi Qiao"
    )


def test_gbk_csv_and_xlsx_are_read(tmp_path):
    import openpyxl

    csv_path = tmp_path / "gbk.csv"
    csv_path.write_bytes(
        "标准名称,类别,所属行政区划代码,经度,纬度\n北苑桥,桥梁,421281002,113.91,29.74\n".encode("gbk")
    )
    report = importers.placenames_import_table(csv_path, dry_run=True)
    assert report.ok and not report.committed, report.as_text()
    book = openpyxl.Workbook()
    book.active.append(["标准名称", "类别", "所属行政区划代码", "经度", "纬度"])
    book.active.append(["南苑桥", "桥梁", "421281002", "abc", 29.74])
    xlsx = tmp_path / "names.xlsx"
    book.save(xlsx)
    report = importers.placenames_import_table(xlsx, dry_run=True)
    assert report.rows[0].row == 2 and report.rows[0].errors[0].field == "经度/纬度"


def test_a_name_of_the_maximum_length_is_registered_and_found(make_road, client):
    """A name with the longest 专名 (core.limits.MAX_SPECIFIC_CHARS) saves: search keys and pinyin
    longer than their columns used to raise a database error (500) for names of about 25 characters."""
    from geo_mz.core.limits import MAX_SPECIFIC_CHARS

    name = "双" * 20 + "庄" * (MAX_SPECIFIC_CHARS - 20) + "路"
    road = make_road(name)
    record = road.current_name
    assert record.name == name and record.pinyin.startswith("shuang")
    results = client.get("/api/placenames/search/", {"q": name[:10]}).json()["results"]
    assert any(r["feature_code"] == road.code for r in results)
