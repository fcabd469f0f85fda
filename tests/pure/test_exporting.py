"""Tests for geo_mz.core.exporting (pure: no Django, no database).

Every format is written from three small batches (Chinese text, nulls, dates, floats, booleans) and
read back with an independent reader -- pyogrio/GDAL, geo_mz.core.geofile, json, csv, openpyxl.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import struct
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from openpyxl import load_workbook

from geo_mz.core import exporting
from geo_mz.core.exporting import (
    FORMATS,
    Batch,
    ExportError,
    Field,
    dbf_field_names,
    geojson_chunks,
    layer_write,
    normalize_encoding,
)
from geo_mz.core.geofile import read_vector, unpack

FIELDS = [
    Field("门牌编码", "str", 18),
    Field("标准地址", "str"),
    Field("门牌号", "int"),
    Field("面积", "float"),
    Field("启用日期", "date"),
    Field("有效", "bool"),
]

# 7 features over 3 batches (3 + 0 + 4 would hide an empty batch; use 3 + 2 + 2).
ROWS = [
    (
        "421281002001000015",
        "赤壁市赤马港街道人民路15号之一",
        15,
        120.5,
        date(2020, 5, 1),
        True,
        (113.90123456, 29.72345671),
    ),
    ("421281002001000017", "赤壁市赤马港街道人民路17号", 17, None, None, False, (113.9013, 29.7235)),
    ("421281101001000003", None, None, 0.25, date(1999, 12, 31), None, (113.8, 29.6)),
    ("421281101001000005", "新店镇石坡村3组5号", 5, -3.5, date(2024, 2, 29), True, None),
    ("421281101001000007", "新店镇石坡村3组7号（东）", 7, 1e6, date(2021, 1, 1), False, (114.0000001, 30.0)),
    ("421281101001000009", "“引号”&<尖括号>", 9, 2.0, date(2021, 1, 2), True, (114.1, 30.1)),
    ("421281101001000011", "", 11, 3.0, date(2021, 1, 3), True, (114.2, 30.2)),
]
SIZES = (3, 2, 2)


def batches(rows=ROWS, sizes=SIZES, *, wkb: bool = False) -> list[Batch]:
    out, at = [], 0
    for size in sizes:
        part = rows[at : at + size]
        at += size
        columns = {f.name: [r[i] for r in part] for i, f in enumerate(FIELDS)}
        geoms = np.array([None if r[6] is None else shapely.Point(*r[6]) for r in part], dtype=object)
        out.append(Batch(columns, shapely.to_wkb(geoms) if wkb else geoms))
    return out


def write(tmp_path: Path, fmt: str, **kwargs) -> exporting.WriteResult:
    options = {"layer": "门牌地址", "fields": FIELDS, "batches": batches(), "geometry_type": "Point"}
    options.update(kwargs)
    return layer_write(tmp_path / f"门牌地址.{fmt}", fmt, **options)


def expected_text(value: str | None) -> str | None:
    return None if value in (None, "") else value  # DBF and GDAL readers give "" back as null


def assert_point(geom, xy) -> None:
    if xy is None:
        assert geom is None or geom.is_empty
    else:
        assert geom.x == pytest.approx(xy[0], abs=1e-7)
        assert geom.y == pytest.approx(xy[1], abs=1e-7)


# -- GeoPackage ---------------------------------------------------------------------------------


def test_given_three_batches_when_gpkg_then_all_features_values_crs_and_spatial_index(tmp_path: Path) -> None:
    seen: list[int] = []
    result = write(tmp_path, "gpkg", progress=seen.append)

    assert result.count == 7 and result.fmt == "gpkg" and result.path == tmp_path / "门牌地址.gpkg"
    assert seen == [3, 5, 7]
    assert result.field_names == {f.name: f.name for f in FIELDS}
    info = pyogrio.read_info(result.path, layer="门牌地址")
    assert info["crs"] == "EPSG:4490" and info["geometry_type"] == "Point" and info["features"] == 7
    frame = pyogrio.read_dataframe(result.path, layer="门牌地址")
    assert list(frame.columns) == [f.name for f in FIELDS] + ["geometry"]
    for row, (_, got) in zip(ROWS, frame.iterrows(), strict=True):
        assert got["门牌编码"] == row[0]
        assert (got["标准地址"] if isinstance(got["标准地址"], str) else None) == row[1]
        assert (None if np.isnan(got["门牌号"]) else got["门牌号"]) == row[2]
        assert (None if np.isnan(got["面积"]) else got["面积"]) == row[3]
        assert (
            None if got["启用日期"] is None or got["启用日期"] != got["启用日期"] else got["启用日期"].date()
        ) == row[4]
        assert_point(got.geometry, row[6])
    with sqlite3.connect(result.path) as db:
        tables = {name for (name,) in db.execute("select name from sqlite_master where type='table'")}
        assert "rtree_门牌地址_geom" in tables
        assert (
            db.execute('select count(*) from "rtree_门牌地址_geom"').fetchone()[0] == 6
        )  # one null geometry
        assert db.execute("select data_type from gpkg_contents").fetchone()[0] == "features"
    assert not [p for p in tmp_path.iterdir() if p.name != "门牌地址.gpkg"]  # no temporary files left


def test_given_wkb_polygons_when_gpkg_multipolygon_then_promoted_and_read_back(tmp_path: Path) -> None:
    square = shapely.Polygon([(113.9, 29.7), (113.91, 29.7), (113.91, 29.71), (113.9, 29.71)])
    multi = shapely.MultiPolygon([square, shapely.affinity.translate(square, 0.1)])
    batch = Batch({"名称": ["甲", "乙"]}, shapely.to_wkb(np.array([square, multi], dtype=object)))

    result = layer_write(
        tmp_path / "村界.gpkg",
        "gpkg",
        layer="村界",
        fields=[Field("名称")],
        batches=[batch],
        geometry_type="MULTIPOLYGON",
    )

    frame = pyogrio.read_dataframe(result.path)
    assert pyogrio.read_info(result.path)["geometry_type"] == "MultiPolygon"
    assert list(frame.geometry.geom_type) == ["MultiPolygon", "MultiPolygon"]
    assert frame.geometry[0].equals(square) and frame.geometry[1].equals(multi)


def test_given_a_field_named_fid_or_geom_when_gpkg_then_kept_as_attributes(tmp_path: Path) -> None:
    fields = [Field("fid", "str"), Field("geom", "int")]
    batch = Batch({"fid": ["a", "b"], "geom": [1, 2]}, shapely.points([[1, 2], [3, 4]]))

    result = layer_write(
        tmp_path / "x.gpkg", "gpkg", layer="x", fields=fields, batches=[batch], geometry_type="Point"
    )

    frame = pyogrio.read_dataframe(result.path, fid_as_index=True)
    assert list(frame["fid"]) == ["a", "b"] and list(frame["geom"]) == [1, 2]


@pytest.mark.parametrize("fmt", ["gpkg", "shp"])
def test_given_no_batches_when_written_then_empty_layer_with_schema_and_crs(tmp_path: Path, fmt: str) -> None:
    result = write(tmp_path, fmt, batches=[])

    assert result.count == 0
    path = unpack(result.path, tmp_path / "unzipped") if fmt == "shp" else result.path
    info = pyogrio.read_info(path)
    assert info["features"] == 0 and info["crs"] == "EPSG:4490" and info["geometry_type"] == "Point"
    assert list(info["fields"]) == list(result.field_names.values())


def test_given_a_zero_row_batch_when_written_then_it_is_skipped(tmp_path: Path) -> None:
    empty = Batch({f.name: [] for f in FIELDS}, [])
    result = write(tmp_path, "gpkg", batches=[empty, *batches(), empty])

    assert result.count == 7 and pyogrio.read_info(result.path)["features"] == 7


# -- Shapefile ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "cpg"), [("UTF-8", "UTF-8"), ("cp936", "GBK"), ("936", "GBK"), ("gbk", "GBK")]
)
def test_given_encoding_when_shp_then_zip_with_cpg_and_chinese_text_intact(
    tmp_path: Path, encoding: str, cpg: str
) -> None:
    result = write(tmp_path, "shp", encoding=encoding)

    assert result.path == tmp_path / "门牌地址.zip" and result.encoding == cpg and result.count == 7
    with zipfile.ZipFile(result.path) as zf:
        names = set(zf.namelist())
        assert names == {f"门牌地址{s}" for s in (".shp", ".shx", ".dbf", ".prj", ".cpg")} | {"字段对照.csv"}
        assert zf.read("门牌地址.cpg").decode("ascii") == cpg
        table = list(csv.reader(io.StringIO(zf.read("字段对照.csv").decode("utf-8-sig"))))
        dbf = zf.read("门牌地址.dbf")
    assert table[1:] == [[f.name, result.field_names[f.name], f.kind] for f in FIELDS]
    codec = "gbk" if cpg == "GBK" else "utf-8"
    assert "赤马港街道人民路15号之一".encode(codec) in dbf

    data = read_vector(unpack(result.path, tmp_path / "in"))  # sniffs the .cpg like an import does
    assert data.encoding == cpg and data.srid == 4490 and len(data.frame) == 7
    frame = data.frame.rename(columns={v: k for k, v in result.field_names.items()})
    for row, (_, got) in zip(ROWS, frame.iterrows(), strict=True):
        assert got["门牌编码"] == row[0]
        assert (got["标准地址"] if isinstance(got["标准地址"], str) else None) == expected_text(row[1])
        assert (None if got["面积"] != got["面积"] else got["面积"]) == row[3]
        assert (None if got["启用日期"] != got["启用日期"] else got["启用日期"].date()) == row[4]
        assert_point(got.geometry, row[6])


def test_given_gbk_when_shp_then_dbf_names_fit_ten_gbk_bytes_and_dates_are_dbf_dates(tmp_path: Path) -> None:
    result = write(tmp_path, "shp", encoding="GBK")

    assert result.field_names["门牌编码"] == "门牌编码"  # 8 bytes in GBK
    assert result.field_names["启用日期"] == "启用日期"
    with zipfile.ZipFile(result.path) as zf:
        dbf = zf.read("门牌地址.dbf")
    descriptors = {}
    for pos in range(32, struct.unpack("<H", dbf[8:10])[0] - 1, 32):
        name = dbf[pos : pos + 11].rstrip(b"\0")
        descriptors[name.decode("gbk")] = (chr(dbf[pos + 11]), dbf[pos + 16])
    assert all(len(n.encode("gbk")) <= 10 for n in descriptors)
    assert descriptors["启用日期"] == ("D", 8)
    assert descriptors["有效"] == ("L", 1)
    longest = max(len((r[1] or "").encode("gbk")) for r in ROWS)
    assert descriptors["标准地址"] == ("C", longest)  # compacted to the widest value
    assert descriptors["门牌编码"] == ("C", 18)


def test_given_utf8_when_shp_then_long_chinese_names_cut_to_three_characters(tmp_path: Path) -> None:
    result = write(tmp_path, "shp")

    assert result.field_names == {
        "门牌编码": "门牌编",
        "标准地址": "标准地",
        "门牌号": "门牌号",
        "面积": "面积",
        "启用日期": "启用日",
        "有效": "有效",
    }


def test_given_names_equal_after_truncation_when_dbf_field_names_then_unique_within_ten_bytes() -> None:
    names = [
        "标准地址甲",
        "标准地址乙",
        "标准地址丙",
        "Name",
        "NAME",
        "a_very_long_name_1",
        "a_very_long_name_2",
    ]

    utf8 = dbf_field_names(names, "UTF-8")
    gbk = dbf_field_names(["标准地址甲乙", "标准地址甲丙", *names], "GBK")

    assert (
        utf8["标准地址甲"] == "标准地" and utf8["标准地址乙"] == "标准_1" and utf8["标准地址丙"] == "标准_2"
    )
    assert utf8["Name"] == "Name" and utf8["NAME"] == "NAME_1"
    assert utf8["a_very_long_name_1"] == "a_very_lon" and utf8["a_very_long_name_2"] == "a_very_l_1"
    assert gbk["标准地址甲乙"] == "标准地址甲" and gbk["标准地址甲丙"] == "标准地址_1"
    assert gbk["标准地址甲"] == "标准地址_2"  # clashes with the first after truncation
    for mapping, codec in ((utf8, "utf-8"), (gbk, "gbk")):
        assert all(len(v.encode(codec)) <= 10 for v in mapping.values())
        assert len({v.upper() for v in mapping.values()}) == len(mapping)


def test_given_names_cut_alike_when_shp_then_both_columns_survive(tmp_path: Path) -> None:
    fields = [Field("标准地址甲"), Field("标准地址乙")]
    batch = Batch({"标准地址甲": ["甲值"], "标准地址乙": ["乙值"]}, shapely.points([[113.9, 29.7]]))

    result = layer_write(
        tmp_path / "x.zip", "shp", layer="x", fields=fields, batches=[batch], geometry_type="Point"
    )

    frame = read_vector(unpack(result.path, tmp_path / "in")).frame
    assert frame[result.field_names["标准地址甲"]][0] == "甲值"
    assert frame[result.field_names["标准地址乙"]][0] == "乙值"


@pytest.mark.parametrize("text", ["𠀀", "😀"])
def test_given_text_outside_gbk_when_shp_gbk_then_error_names_row_and_field(
    tmp_path: Path, text: str
) -> None:
    rows = list(ROWS)
    rows[4] = (rows[4][0], f"新店镇{text}5号", *rows[4][2:])

    with pytest.raises(ExportError) as caught:
        write(tmp_path, "shp", encoding="GBK", batches=batches(rows))

    message = str(caught.value)
    assert "第 5 行 字段 标准地址：无法用 GBK 编码的字符" in message and f"“{text}”" in message
    assert "row 5 field 标准地址: not encodable in GBK" in message
    assert list(tmp_path.iterdir()) == []  # nothing half-written is left


def test_given_text_outside_gbk_when_shp_utf8_then_written(tmp_path: Path) -> None:
    rows = [(*ROWS[0][:1], "新店镇𠀀😀5号", *ROWS[0][2:])]
    result = write(tmp_path, "shp", batches=batches(rows, (1,)))

    assert read_vector(unpack(result.path, tmp_path / "in")).frame["标准地"][0] == "新店镇𠀀😀5号"


def test_given_text_over_254_bytes_when_shp_then_cut_at_a_character_and_warned(tmp_path: Path) -> None:
    rows = [(ROWS[0][0], "长" * 100, *ROWS[0][2:])]  # 300 bytes in UTF-8

    result = write(tmp_path, "shp", batches=batches(rows, (1,)))

    assert read_vector(unpack(result.path, tmp_path / "in")).frame["标准地"][0] == "长" * 84
    assert result.warnings and "标准地址" in result.warnings[0] and "254" in result.warnings[0]


def test_given_more_than_2gb_when_shp_then_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exporting, "SHAPEFILE_MAX_BYTES", 200)

    with pytest.raises(ExportError, match="2 GB"):
        write(tmp_path, "shp")
    assert list(tmp_path.iterdir()) == []


def test_given_mixed_geometry_layer_when_shp_then_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="单一几何类型"):
        write(tmp_path, "shp", geometry_type="Geometry")


# -- GeoJSON ------------------------------------------------------------------------------------


def test_given_three_batches_when_geojson_then_rfc7946_feature_collection(tmp_path: Path) -> None:
    result = write(tmp_path, "geojson")

    doc = json.loads(result.path.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and doc["name"] == "门牌地址" and "crs" not in doc
    assert len(doc["features"]) == result.count == 7
    for row, feature in zip(ROWS, doc["features"], strict=True):
        assert feature["properties"] == {
            "门牌编码": row[0],
            "标准地址": row[1],
            "门牌号": row[2],
            "面积": row[3],
            "启用日期": None if row[4] is None else row[4].isoformat(),
            "有效": row[5],
        }
        if row[6] is None:
            assert feature["geometry"] is None
        else:
            assert feature["geometry"]["type"] == "Point"
            assert feature["geometry"]["coordinates"] == pytest.approx(list(row[6]), abs=1e-7)
    first = doc["features"][0]["geometry"]["coordinates"]
    assert first == [113.9012346, 29.7234567]  # 7 decimals
    assert "人民路" in result.path.read_text(encoding="utf-8")  # not \\u-escaped


def test_given_batches_when_geojson_chunks_then_bytes_that_parse_as_one_document() -> None:
    seen: list[int] = []
    chunks = list(geojson_chunks(FIELDS, batches(), geometry_type="Point", progress=seen.append))

    assert all(isinstance(c, bytes) for c in chunks) and len(chunks) == 5  # head, 3 batches, tail
    doc = json.loads(b"".join(chunks))
    assert [f["properties"]["门牌编码"] for f in doc["features"]] == [r[0] for r in ROWS]
    assert seen == [3, 5, 7]
    assert json.loads(b"".join(geojson_chunks(FIELDS, []))) == {"type": "FeatureCollection", "features": []}


def test_given_matched_when_geojson_chunks_then_the_closing_says_how_many_and_a_cut_stream_is_not_json() -> (
    None
):
    """A streamed download ends with numberMatched/numberReturned; one whose source fails mid-way
    never reaches that closing, so the client can tell it is incomplete."""
    doc = json.loads(b"".join(geojson_chunks(FIELDS, batches(), geometry_type="Point", matched=lambda: 7)))
    assert (doc["numberMatched"], doc["numberReturned"], len(doc["features"])) == (7, 7, 7)

    def failing():
        it = iter(batches())
        yield next(it)
        raise ConnectionError("server closed the connection unexpectedly")

    received = b""
    with pytest.raises(ConnectionError):
        for chunk in geojson_chunks(FIELDS, failing(), geometry_type="Point", matched=lambda: 7):
            received += chunk
    with pytest.raises(json.JSONDecodeError):
        json.loads(received)
    assert b"numberReturned" not in received


def test_given_polygon_with_clockwise_shell_when_geojson_then_counter_clockwise(tmp_path: Path) -> None:
    cw = shapely.Polygon([(0, 0), (0, 1), (1, 1), (1, 0)])
    assert not cw.exterior.is_ccw
    chunks = geojson_chunks([Field("名称")], [Batch({"名称": ["甲"]}, [cw])], geometry_type="Polygon")

    geometry = json.loads(b"".join(chunks))["features"][0]["geometry"]
    assert shapely.geometry.shape(geometry).exterior.is_ccw


def test_given_projected_srid_when_geojson_or_kml_then_refused_before_any_output() -> None:
    with pytest.raises(ExportError, match="EPSG:4547"):
        geojson_chunks(FIELDS, batches(), srid=4547)  # raised on the call, not while iterating
    with pytest.raises(ExportError, match="KML"):
        layer_write(
            Path("/nonexistent/x.kml"),
            "kml",
            layer="x",
            fields=FIELDS,
            batches=[],
            geometry_type="Point",
            srid=4547,
        )


# -- KML ----------------------------------------------------------------------------------------


def test_given_name_field_when_kml_then_placemark_names_attributes_and_coordinates(tmp_path: Path) -> None:
    result = write(tmp_path, "kml", name_field="标准地址")

    text = result.path.read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert "<name>“引号”&amp;&lt;尖括号&gt;</name>" in text
    assert "<coordinates>113.9012346,29.7234567</coordinates>" in text
    frame = pyogrio.read_dataframe(result.path)
    assert len(frame) == result.count == 7
    assert [v if isinstance(v, str) else None for v in frame["Name"]] == [r[1] for r in ROWS]
    assert list(frame["门牌编码"]) == [r[0] for r in ROWS]
    assert frame["启用日期"][0] == "2020-05-01"
    for row, geom in zip(ROWS, frame.geometry, strict=True):
        assert_point(geom, row[6])


def test_given_polygons_with_holes_when_kml_then_rings_and_multigeometry(tmp_path: Path) -> None:
    shell = [(113.0, 29.0), (113.1, 29.0), (113.1, 29.1), (113.0, 29.1)]
    hole = [(113.02, 29.02), (113.02, 29.05), (113.05, 29.05), (113.05, 29.02)]
    polygon = shapely.Polygon(shell, [hole])
    multi = shapely.MultiPolygon([polygon, shapely.affinity.translate(polygon, 0.5)])

    result = layer_write(
        tmp_path / "x.kml",
        "kml",
        layer="村界",
        fields=[Field("名称")],
        batches=[Batch({"名称": ["甲", "乙"]}, [polygon, multi])],
        geometry_type="MultiPolygon",
    )

    text = result.path.read_text(encoding="utf-8")
    assert text.count("<innerBoundaryIs>") == 3 and text.count("<MultiGeometry>") == 2
    frame = pyogrio.read_dataframe(result.path)
    assert frame.geometry[0].normalize().equals(shapely.MultiPolygon([polygon]).normalize())
    assert frame.geometry[1].normalize().equals(multi.normalize())


# -- Excel --------------------------------------------------------------------------------------


def test_given_point_layer_when_xlsx_then_styled_header_values_and_lonlat(tmp_path: Path) -> None:
    result = write(tmp_path, "xlsx")

    wb = load_workbook(result.path)
    assert wb.sheetnames == ["门牌地址", "说明"]
    ws = wb["门牌地址"]
    header = [c.value for c in ws[1]]
    assert header == [f.name for f in FIELDS] + ["经度", "纬度"]
    assert ws["A1"].font.b and ws["A1"].fill.fgColor.rgb.endswith("DDE4EE")
    assert ws.freeze_panes == "A2"
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == result.count == 7
    for row, got in zip(ROWS, rows, strict=True):
        assert got[0] == row[0] and got[1] == expected_text(row[1]) and got[2] == row[2] and got[3] == row[3]
        assert (got[4].date() if got[4] else None) == row[4] and got[5] == row[5]
        if row[6] is None:
            assert got[6] is None and got[7] is None
        else:
            assert got[6] == pytest.approx(row[6][0], abs=1e-7) and got[7] == pytest.approx(
                row[6][1], abs=1e-7
            )
    assert ws.cell(row=2, column=7).number_format == "0.0000000"
    assert ws.cell(row=2, column=5).number_format == "yyyy-mm-dd"
    notes = dict(wb["说明"].iter_rows(min_row=2, values_only=True))
    assert notes["要素数"] == 7 and "EPSG:4490" in notes["坐标系"]


def test_given_more_rows_than_a_sheet_holds_when_xlsx_then_continues_on_numbered_sheets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exporting, "XLSX_MAX_ROWS", 4)  # header + 3 rows per sheet

    result = write(tmp_path, "xlsx")

    wb = load_workbook(result.path)
    assert wb.sheetnames == ["门牌地址", "门牌地址 (2)", "门牌地址 (3)", "说明"]
    codes = []
    for name in wb.sheetnames[:3]:
        ws = wb[name]
        assert [c.value for c in ws[1]][:2] == ["门牌编码", "标准地址"] and ws.freeze_panes == "A2"
        codes += [r[0] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert codes == [r[0] for r in ROWS]
    assert [wb[n].max_row for n in wb.sheetnames[:3]] == [4, 4, 2]


def test_given_polygons_when_xlsx_then_wkt_column_cut_at_the_cell_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exporting, "XLSX_MAX_CELL_CHARS", 60)
    small = shapely.box(113.0, 29.0, 113.1, 29.1)
    big = shapely.Point(113.5, 29.5).buffer(0.1)
    formula = '=HYPERLINK("http://x")'

    result = layer_write(
        tmp_path / "x.xlsx",
        "xlsx",
        layer="村界",
        fields=[Field("名称")],
        batches=[Batch({"名称": ["甲", formula]}, [small, big])],
        geometry_type="Polygon",
    )

    ws = load_workbook(result.path)["村界"]
    assert [c.value for c in ws[1]] == ["名称", "几何(WKT)"]
    assert shapely.from_wkt(ws["B2"].value).equals(small)
    assert len(ws["B3"].value) == 60 and ws["B3"].value.endswith(exporting.WKT_TRUNCATED)
    assert ws["A3"].value == "'" + formula and ws["A3"].data_type == "s"  # quoted text, not a formula
    assert result.warnings and "1 个几何" in result.warnings[0]


# -- CSV ----------------------------------------------------------------------------------------


def test_given_point_layer_when_csv_then_utf8_bom_and_lonlat_columns(tmp_path: Path) -> None:
    result = write(tmp_path, "csv")

    raw = result.path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [f.name for f in FIELDS] + ["经度", "纬度"]
    assert len(rows) - 1 == result.count == 7
    assert rows[1] == [
        "421281002001000015",
        "赤壁市赤马港街道人民路15号之一",
        "15",
        "120.5",
        "2020-05-01",
        "true",
        "113.9012346",
        "29.7234567",
    ]
    assert rows[4][6:] == ["", ""]  # no geometry
    assert rows[3][1:3] == ["", ""]  # nulls


def test_given_formula_like_text_when_csv_then_quoted_but_numbers_kept(tmp_path: Path) -> None:
    # OWASP CSV injection: every text starting with = + - @ tab CR is quoted, even "-5" typed as text
    values = ["=1+1", "@SUM(A1)", "-cmd|' /C calc'!A0", "+86 138 0000 0000", "-5", "-", "\t=1", "甲"]
    numbers = [-1.5] * len(values)
    batch = Batch({"备注": values, "高程": numbers}, shapely.points(np.zeros((len(values), 2))))

    result = layer_write(
        tmp_path / "x.csv",
        "csv",
        layer="x",
        fields=[Field("备注"), Field("高程", "float")],
        batches=[batch],
        geometry_type="Point",
    )

    rows = list(csv.reader(io.StringIO(result.path.read_text(encoding="utf-8-sig"))))[1:]
    assert [r[0] for r in rows] == [
        "'=1+1",
        "'@SUM(A1)",
        "'-cmd|' /C calc'!A0",
        "'+86 138 0000 0000",
        "'-5",
        "'-",
        "'\t=1",
        "甲",
    ]
    assert {r[1] for r in rows} == {"-1.5"}  # a numeric column stays a number


def test_given_gbk_when_csv_then_gbk_bytes_without_bom_and_unencodable_refused(tmp_path: Path) -> None:
    result = write(tmp_path, "csv", encoding="GBK")
    raw = result.path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and "人民路".encode("gbk") in raw

    rows = [(ROWS[0][0], "😀", *ROWS[0][2:])]
    with pytest.raises(ExportError, match="第 1 行 字段 标准地址"):
        write(tmp_path, "csv", encoding="GBK", batches=batches(rows, (1,)))


# -- Argument and data errors -------------------------------------------------------------------


def test_given_unknown_format_or_encoding_when_layer_write_then_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown format"):
        write(tmp_path, "dxf")
    with pytest.raises(ValueError, match="always UTF-8"):
        write(tmp_path, "gpkg", encoding="GBK")
    with pytest.raises(ValueError, match="unsupported encoding"):
        write(tmp_path, "shp", encoding="latin-1")
    with pytest.raises(ValueError, match="name_field"):
        write(tmp_path, "kml", name_field="名称")
    with pytest.raises(ValueError, match="unknown geometry type"):
        write(tmp_path, "gpkg", geometry_type="Circle")
    with pytest.raises(ValueError, match="unknown field kind"):
        Field("x", "datetime")
    assert normalize_encoding("UTF8") == "UTF-8" and normalize_encoding("CP936") == "GBK"
    assert {"gpkg", "shp", "geojson", "kml", "xlsx", "csv"} == FORMATS


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_given_bad_batches_when_written_then_value_errors_name_the_problem(tmp_path: Path, fmt: str) -> None:
    good = batches()
    missing = Batch({k: v for k, v in good[1].columns.items() if k != "面积"}, good[1].geometry)
    extra = Batch({**good[1].columns, "多余": [1, 2]}, good[1].geometry)
    short = Batch({**good[1].columns, "门牌号": [1]}, good[1].geometry)
    polygon = Batch(good[1].columns, [shapely.Point(113.9, 29.7), shapely.box(0, 0, 1, 1)])

    for bad, pattern in (
        (missing, "第 2 批缺少列 面积"),
        (extra, "第 2 批有多余的列 多余"),
        (short, "列 门牌号 有 1 个值，几何有 2 个"),
        (polygon, "第 5 行：几何类型 Polygon 与图层类型 Point 不符"),
    ):
        with pytest.raises(ValueError, match=pattern):
            write(tmp_path, fmt, batches=[good[0], bad, good[2]])
    assert list(tmp_path.iterdir()) == []


def test_given_values_of_other_types_when_written_then_coerced_or_refused_by_row(tmp_path: Path) -> None:
    fields = [Field("编号", "int"), Field("日期", "date"), Field("文本", "str"), Field("数值", "float")]
    ok = Batch(
        {
            "编号": np.array([1.0, np.nan]),
            "日期": ["2020-05-01", np.datetime64("2021-02-03")],
            "文本": [12, None],
            "数值": ["1.5", None],
        },
        shapely.points([[1, 2], [3, 4]]),
    )
    result = layer_write(
        tmp_path / "x.geojson", "geojson", layer="x", fields=fields, batches=[ok], geometry_type="Point"
    )
    props = [f["properties"] for f in json.loads(result.path.read_text())["features"]]
    assert props == [
        {"编号": 1, "日期": "2020-05-01", "文本": "12", "数值": 1.5},
        {"编号": None, "日期": "2021-02-03", "文本": None, "数值": None},
    ]

    bad = Batch({**ok.columns, "编号": [1, 2.5]}, ok.geometry)
    with pytest.raises(ExportError, match="第 2 行 字段 编号：无法转换为整数"):
        layer_write(
            tmp_path / "y.geojson", "geojson", layer="x", fields=fields, batches=[bad], geometry_type="Point"
        )


def test_given_progress_that_raises_when_written_then_aborted_without_output(tmp_path: Path) -> None:
    class Cancelled(Exception):
        pass

    def progress(count: int) -> None:
        if count >= 5:
            raise Cancelled

    for fmt in sorted(FORMATS):
        with pytest.raises(Cancelled):
            write(tmp_path, fmt, progress=progress)
    assert list(tmp_path.iterdir()) == []


def test_given_3d_and_empty_geometries_when_written_then_2d_and_null(tmp_path: Path) -> None:
    batch = Batch({"名称": ["甲", "乙"]}, [shapely.Point(113.9, 29.7, 35.0), shapely.Point()])

    result = layer_write(
        tmp_path / "x.gpkg", "gpkg", layer="x", fields=[Field("名称")], batches=[batch], geometry_type="Point"
    )

    frame = pyogrio.read_dataframe(result.path)
    assert not frame.geometry[0].has_z and frame.geometry[1] is None
