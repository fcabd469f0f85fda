"""Tests for geo_mz.coverage.maps (pure: no Django): folium analysis maps with local assets only.

The rule under test: the page never loads anything from another host (no CDN) -- Leaflet is
embedded (``inline``) or linked from the project's static files (``url``); only an explicitly
configured basemap's tile URL may point elsewhere.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import folium
import pytest
from shapely.geometry import Point, box, mapping

from geo_mz.coverage.documents import RATE_CLASSES
from geo_mz.coverage.maps import (
    STATIC_PREFIX,
    VENDOR_DIR,
    DemandMark,
    ExternalAssetError,
    FacilityMark,
    OfflineAssets,
    analysis_map,
    external_urls,
    to_html,
)

CDN = re.compile(r"cdn[a-z]*\.|jsdelivr|unpkg|cdnjs|code\.jquery\.com|bootstrapcdn|fontawesome", re.I)
URL = re.compile(r"https?://", re.I)

DIVISIONS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "id": "421281002",
            "properties": {
                "name": "赤马港街道",
                "code": "421281002",
                "rate": 0.93,
                "population": 52000,
                "covered": 48360,
            },
            "geometry": mapping(box(113.85, 29.70, 113.92, 29.76)),
        },
        {
            "type": "Feature",
            "properties": {"name": "车埠镇", "code": "421281100", "rate": 0.42},
            "geometry": mapping(box(113.85, 29.64, 113.92, 29.70)),
        },
        {
            "type": "Feature",
            "properties": {"name": "官塘驿镇", "rate": None},
            "geometry": mapping(box(113.92, 29.64, 113.99, 29.76)),
        },
    ],
}
FACILITIES = [
    FacilityMark(113.88, 29.73, "赤马港日间照料中心", "社区日间照料中心", 1000, 12345, 120),
    FacilityMark(113.95, 29.72, "官塘驿镇养老院", "养老机构", 3000),
    FacilityMark(113.89, 29.67, "建议新址 1", "社区日间照料中心", 1000, 800, 8, proposed=True),
]
DEMAND = [
    DemandMark(113.86 + 0.01 * i, 29.65 + 0.01 * j, (i + j) % 3 != 0, 100 + i, f"{i}组")
    for i in range(12)
    for j in range(10)
]
SERVICE_AREAS = [
    {
        "type": "Feature",
        "properties": {"name": "赤马港日间照料中心服务区"},
        "geometry": mapping(Point(113.88, 29.73).buffer(0.008)),
    }
]
UNCOVERED = Point(113.96, 29.66).buffer(0.02)


def _map(**kw) -> folium.Map:
    return analysis_map(
        facilities=FACILITIES,
        demand=DEMAND,
        divisions=DIVISIONS,
        uncovered=UNCOVERED,
        service_areas=SERVICE_AREAS,
        title="赤壁市社区日间照料中心覆盖分析",
        **kw,
    )


@pytest.fixture(scope="module")
def inline_page() -> str:
    return to_html(_map())


@pytest.fixture(scope="module")
def url_page() -> str:
    return to_html(_map(asset_mode="url"))


def _has(page: str, text: str) -> bool:
    """Text as written, or as folium / Jinja's JSON escapes it (``\\uXXXX``, ``\\u003c``)."""
    escaped = json.dumps(text)[1:-1].replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text in page or escaped in page


def _without_vendored(page: str) -> str:
    assets = OfflineAssets()
    for asset in assets.assets:
        page = page.replace(assets.inline(asset), "")
    return page


# --------------------------------------------------------------------------- no network


def test_inline_page_embeds_leaflet_and_loads_nothing_remote(inline_page: str) -> None:
    assert "Leaflet 1.9.3" in inline_page  # the vendored source's banner
    assert (VENDOR_DIR / "leaflet.js").read_text(encoding="utf-8") in inline_page
    assert ".leaflet-container" in inline_page  # the CSS
    assert "<script src=" not in inline_page and 'rel="stylesheet"' not in inline_page
    assert "vendor/folium" not in inline_page
    assert external_urls(inline_page) == []
    assert not CDN.search(inline_page)
    # the CSS images are data: URIs, so the file works from disk
    assert "url(images/" not in inline_page and 'url("data:image/png;base64,' in inline_page
    # apart from Leaflet's own source (licence banner, SVG namespace), no URL at all
    assert not URL.search(_without_vendored(inline_page))
    assert inline_page.count("Leaflet 1.9.3") == 1


def test_inline_charset_comes_before_the_embedded_assets(inline_page: str) -> None:
    head = inline_page[: inline_page.index("</head>")]
    assert head.index("charset=UTF-8") < head.index("<style>") < head.index("Leaflet 1.9.3")
    assert head.index("charset=UTF-8") < 1024


def test_url_page_references_local_static_files_only(url_page: str) -> None:
    assert '<script src="/static/vendor/folium/leaflet.js"></script>' in url_page
    assert 'href="/static/vendor/folium/leaflet.css"' in url_page
    assert "Leaflet 1.9.3" not in url_page
    assert not URL.search(url_page)
    assert not CDN.search(url_page)
    assert external_urls(url_page) == []


def test_url_mode_with_custom_prefix_and_hashed_names() -> None:
    page = to_html(_map(asset_mode="url", static_url="/county/static"))
    assert 'src="/county/static/vendor/folium/leaflet.js"' in page

    def hashed(path: str) -> str:  # like django.templatetags.static.static with manifest storage
        stem, ext = path.rsplit(".", 1)
        return f"/static/{stem}.0123abcd.{ext}"

    page = to_html(_map(asset_mode="url", static_url=hashed))
    assert 'src="/static/vendor/folium/leaflet.0123abcd.js"' in page
    assert 'href="/static/vendor/folium/leaflet.0123abcd.css"' in page


def test_switching_modes_leaves_no_stale_links() -> None:
    m = _map(asset_mode="url")
    assert "src=" in to_html(m)
    page = to_html(m, asset_mode="inline")
    assert "<script src=" not in page and "vendor/folium" not in page
    assert page.count("Leaflet 1.9.3") == 1
    again = to_html(m, asset_mode="url")
    assert "Leaflet 1.9.3" not in again and again.count("vendor/folium/leaflet.js") == 1


def test_folium_save_is_offline_too(tmp_path: Path) -> None:
    m = _map()
    m.save(str(tmp_path / "map.html"))
    page = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert external_urls(page) == [] and not CDN.search(page)


def test_plain_folium_map_is_made_offline_by_to_html() -> None:
    m = folium.Map(location=[29.7, 113.9], tiles=None)
    assert external_urls(m.get_root().render())  # folium's CDN defaults
    page = to_html(m)
    assert external_urls(page) == [] and "Leaflet 1.9.3" in page


def test_cdn_plugins_and_popups_are_refused() -> None:
    from folium.plugins import MarkerCluster

    m = _map()
    MarkerCluster().add_to(m)
    with pytest.raises(ExternalAssetError, match="外部网络"):
        to_html(m)

    m = _map()
    folium.CircleMarker([29.7, 113.9], popup=folium.Popup("<b>弹窗</b>")).add_to(m)
    with pytest.raises(ExternalAssetError, match="jQuery"):
        to_html(m)


def test_external_urls_finds_every_kind_of_load() -> None:
    page = """
        <script src="https://cdn.example.com/a.js"></script>
        <link rel="stylesheet" href='//cdn.example.com/b.css'/>
        <img src=http://example.com/c.png>
        <style>@import "https://example.com/d.css"; .x { background: url(https://example.com/e.png) }</style>
        <script src="/static/local.js"></script><a href="https://example.com/">a link is not a load</a>
    """
    assert external_urls(page) == [
        "//cdn.example.com/b.css",
        "http://example.com/c.png",
        "https://cdn.example.com/a.js",
        "https://example.com/d.css",
        "https://example.com/e.png",
    ]


# --------------------------------------------------------------------------- basemap


def test_no_basemap_means_no_tile_layer(url_page: str) -> None:
    assert "L.tileLayer" not in url_page
    assert '"attributionControl": false' in url_page


def test_basemap_tile_url_is_the_only_remote_address() -> None:
    osm = {
        "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "attribution": "© OpenStreetMap contributors",
    }
    page = to_html(_map(asset_mode="url", basemap=osm))
    assert "L.tileLayer" in page and _has(page, osm["url"])
    assert {m.group(0) for m in re.finditer(r"https?://[^\s\"'\\]+", page)} == {osm["url"]}
    assert external_urls(page) == []


def test_tianditu_style_basemap_with_labels_and_config_shapes() -> None:
    config = {
        "kind": "tianditu",
        "url": "https://t{s}.tianditu.gov.cn/DataServer?T=vec_w&x={x}&y={y}&l={z}&tk=KEY",
        "labels_url": "https://t{s}.tianditu.gov.cn/DataServer?T=cva_w&x={x}&y={y}&l={z}&tk=KEY",
        "subdomains": "01234567",
        "attribution": "天地图",
    }
    page = to_html(_map(asset_mode="url", basemap=config))
    assert page.count("L.tileLayer") == 2 and '"subdomains": "01234567"' in page
    for off in ({"kind": "none"}, {**config, "missing_key": True}):
        assert "L.tileLayer" not in to_html(_map(asset_mode="url", basemap=off))
    with pytest.raises(ValueError, match="瓦片地址"):
        _map(basemap={"url": "ftp://tiles/{z}/{x}/{y}.png"})


# --------------------------------------------------------------------------- layers and legend


def test_every_layer_is_drawn_with_chinese_names(url_page: str) -> None:
    for name in ("分区覆盖率", "未覆盖区域", "服务区", "服务半径", "已覆盖需求点", "未覆盖需求点", "设施"):
        assert _has(url_page, name), name
    assert "L.control.layers" in url_page
    assert url_page.count("L.circle(") == 3  # a radius ring per facility
    assert '"radius": 3000.0' in url_page
    assert url_page.count("L.circleMarker(") == 3  # the facilities (demand points are GeoJSON)
    assert "new L.CircleMarker(latlng" in url_page
    assert "<title>赤壁市社区日间照料中心覆盖分析</title>" in url_page
    assert _has(url_page, "赤壁市社区日间照料中心覆盖分析")
    assert "L.control.scale" in url_page and "imperial" in url_page


def test_choropleth_colours_tooltips_and_legend(url_page: str) -> None:
    for cls in RATE_CLASSES:
        assert _has(url_page, cls.label), cls.label
    assert _has(url_page, "无数据")
    assert "#91CF60" in url_page and "#D73027" in url_page and "#D9D9D9" in url_page  # 93%, 42%, none
    assert _has(url_page, "赤马港街道（421281002）") and _has(url_page, "93.0%")
    assert _has(url_page, "52,000")
    legend = re.search(r"div\.innerHTML = (\".*?\");", url_page).group(1)
    legend_html = json.loads(legend)
    for text in (
        "分区覆盖率",
        "不足 50%",
        "无数据",
        "已覆盖需求点（80）",
        "未覆盖需求点（40）",
        "社区日间照料中心",
        "养老机构",
        "建议新址",
        "服务半径",
    ):
        assert text in legend_html, text


def test_facility_tooltip(url_page: str) -> None:
    assert (
        "<b>赤马港日间照料中心</b><br>类型：社区日间照料中心<br>服务半径：1,000 米<br>覆盖人口：12,345 人<br>覆盖需求点：120 个"
        in url_page
    )


def test_user_text_is_escaped() -> None:
    evil = "<script>alert(1)</script>${globalThis.x}`"
    divisions = {
        "type": "Feature",
        "properties": {"name": evil, "rate": 0.5},
        "geometry": mapping(box(113.8, 29.6, 113.9, 29.7)),
    }
    page = to_html(
        analysis_map(
            facilities=[FacilityMark(113.85, 29.65, evil, evil)],
            demand=[DemandMark(113.86, 29.66, True, 5, evil)],
            divisions=divisions,
            title=evil,
        )
    )
    assert "<script>alert" not in page
    # "${" only survives inside the title's JSON string (set as textContent), never in a template literal
    title_line = re.search(r"title\.textContent = (\".*?\");", page).group(1)
    assert json.loads(title_line) == evil
    assert "${globalThis" not in page.replace(title_line, "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#36;{globalThis.x}&#96;" in page  # the tooltip text
    assert "<title>&lt;script&gt;" in page


def test_many_demand_points_are_thinned_with_a_note() -> None:
    demand = [DemandMark(113.8 + i * 0.001, 29.7, i % 2 == 0) for i in range(50)]
    page = to_html(analysis_map(demand=demand, max_demand_points=10, asset_mode="url"))
    assert page.count('"type": "Point"') == 10
    legend = json.loads(re.search(r"div\.innerHTML = (\".*?\");", page).group(1))
    assert "需求点抽样显示 10/50" in legend and "已覆盖需求点（25）" in legend


def test_shapely_and_geometry_inputs_and_rounding() -> None:
    page = to_html(
        analysis_map(
            divisions=[box(113.123456789, 29.1, 113.2, 29.2)],
            service_areas=mapping(Point(113.15, 29.15).buffer(0.01)),
            asset_mode="url",
        )
    )
    assert "113.123457" in page and "113.123456789" not in page
    assert _has(page, "服务区") and _has(page, "无数据")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"facilities": [FacilityMark(500_000, 3_280_000, "甲", "养老机构")]}, "经纬度"),
        ({"divisions": box(500_000, 3_280_000, 501_000, 3_281_000)}, "经纬度"),
        ({"facilities": [FacilityMark(113.9, 29.7, "甲", "养老机构", radius_m=0)]}, "服务半径"),
        ({"facilities": [FacilityMark(113.9, 29.7, "甲", "养老机构", radius_m=-5)]}, "服务半径"),
        (
            {
                "divisions": {
                    "type": "Feature",
                    "properties": {"rate": 85},
                    "geometry": mapping(box(113, 29, 114, 30)),
                }
            },
            "0 到 1",
        ),
        ({}, "没有任何图层"),
        ({"demand": [DemandMark(113.9, 29.7, True)], "asset_mode": "cdn"}, "asset_mode"),
    ],
)
def test_bad_input_is_refused(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        analysis_map(**kwargs)


def test_empty_map_with_a_centre() -> None:
    page = to_html(analysis_map(center=(29.72, 113.9), asset_mode="url"))
    assert "[29.72, 113.9]" in page and external_urls(page) == []


# --------------------------------------------------------------------------- vendored files


def test_vendored_files_and_licences() -> None:
    assets = OfflineAssets()
    files = assets.files()
    assert files == [
        "images/layers-2x.png",
        "images/layers.png",
        "images/marker-icon-2x.png",
        "images/marker-icon.png",
        "images/marker-shadow.png",
        "leaflet.css",
        "leaflet.js",
    ]
    licences = (VENDOR_DIR / "LICENSES.md").read_text(encoding="utf-8")
    for path in files:
        assert f"`{path}`" in licences, path
    assert "BSD 2-Clause License" in licences and "Vladimir Agafonkin" in licences
    js = (VENDOR_DIR / "leaflet.js").read_text(encoding="utf-8")
    assert js.startswith("/* @preserve\n * Leaflet 1.9.3") and "sourceMappingURL" not in js
    # every file leaflet.css refers to is vendored
    css = (VENDOR_DIR / "leaflet.css").read_text(encoding="utf-8")
    for ref in re.findall(r"url\((images/[^)]+)\)", css):
        assert (VENDOR_DIR / ref).is_file(), ref
    assert STATIC_PREFIX == "vendor/folium/"
    assert VENDOR_DIR.parts[-4:] == ("coverage", "static", "vendor", "folium")
    # the version folium itself pins
    assert any("leaflet@1.9.3/" in url for _name, url in folium.Map.default_js)
