"""Folium analysis maps (覆盖分析图) that work on an intranet: no CDN, every asset served locally.

Pure module: folium, shapely and the standard library only, never Django, so services, management
commands and tests build maps from plain inputs. :func:`analysis_map` draws the coverage layers
(facilities with radius rings, service areas, demand points coloured covered / uncovered, a
division choropleth of coverage rates with a legend, uncovered areas) and :func:`to_html` renders
the map as a complete HTML page.

**Assets.** Folium's defaults load Leaflet, jQuery, Bootstrap, Font Awesome and
Leaflet.awesome-markers from CDNs. These maps use plain Leaflet only (circle markers, circles,
GeoJSON, tooltips, controls; no icon markers and no folium ``Popup``, which needs jQuery), and
:class:`OfflineAssets` replaces folium's list by the Leaflet files vendored under
``geo_mz/coverage/static/vendor/folium/`` (a Django app static directory; see ``LICENSES.md``
there). Two modes:

* ``asset_mode="inline"`` -- the JS and CSS are embedded in the page (``<script>…</script>``,
  ``<style>…</style>``, the CSS images as ``data:`` URIs), so the standalone HTML export opens
  from disk with no network at all;
* ``asset_mode="url"`` -- the page references ``{static_url}vendor/folium/…`` (for in-app
  iframes); ``static_url`` may also be a callable such as Django's ``static()``, which gives
  the hashed names of the manifest storage.

:func:`to_html` refuses (:class:`ExternalAssetError`) a page that would still load a script,
stylesheet, image or font from another host -- e.g. when a folium plugin with CDN links was added
to the map. The only network address a page may contain besides is the optional basemap's tile
URL (``basemap=None``: no tile layer, fully offline).

**Coordinates** are longitude / latitude in degrees (CGCS2000 / WGS 84 -- the same at map scale;
not GCJ-02), x = longitude first as in GeoJSON; the projected coverage engine's results must be
transformed before they are drawn. Anything that looks like projected metres is refused.

Coverage-rate classes and point colours come from :mod:`geo_mz.coverage.documents`, so the web map
and the PDF report agree.
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Final, Literal

import folium
import shapely
from branca.element import Element, MacroElement
from folium.template import Template
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from geo_mz.coverage.documents import NO_DATA_CLASS, POINT_KINDS, RATE_CLASSES, format_share, rate_class

__all__ = [
    "LEAFLET_ASSETS",
    "STATIC_PREFIX",
    "VENDOR_DIR",
    "AssetMode",
    "DemandMark",
    "ExternalAssetError",
    "FacilityMark",
    "OfflineAssets",
    "VendoredAsset",
    "analysis_map",
    "external_urls",
    "to_html",
]

AssetMode = Literal["inline", "url"]
GeoInput = Mapping[str, Any] | BaseGeometry | Iterable[Mapping[str, Any] | BaseGeometry]

VENDOR_DIR: Final = Path(__file__).resolve().parent / "static" / "vendor" / "folium"
STATIC_PREFIX: Final = "vendor/folium/"  # path below STATIC_URL

_FACILITY_COLOURS: Final = (
    "#6A3D9A",
    "#FF7F00",
    "#1B9E77",
    "#B15928",
    "#E7298A",
    "#1F78B4",
    "#666666",
    "#A6761D",
    "#33A02C",
    "#000000",
)
_SERVICE_AREA_COLOUR: Final = "#3182BD"
_UNCOVERED_COLOUR: Final = "#E31A1C"
_CHOROPLETH_OPACITY: Final = 0.65
_COORD_DIGITS: Final = 6  # ~0.1 m


class ExternalAssetError(ValueError):
    """The rendered page would load something from another host (a CDN)."""


# --------------------------------------------------------------------------- assets


@dataclass(frozen=True, slots=True)
class VendoredAsset:
    """One vendored file folium's page needs, relative to :data:`VENDOR_DIR`."""

    name: str  # folium's link name, e.g. "leaflet" / "leaflet_css"
    kind: Literal["js", "css"]
    path: str  # e.g. "leaflet.js"
    package: str
    version: str
    licence: str


#: What the analysis maps need: Leaflet (the version folium 0.20 pins), nothing else.
LEAFLET_ASSETS: Final[tuple[VendoredAsset, ...]] = (
    VendoredAsset("leaflet", "js", "leaflet.js", "leaflet", "1.9.3", "BSD-2-Clause"),
    VendoredAsset("leaflet_css", "css", "leaflet.css", "leaflet", "1.9.3", "BSD-2-Clause"),
)
_CSS_URL: Final = re.compile(r"""url\(\s*(["']?)(images/[A-Za-z0-9_.\-]+)\1\s*\)""")


class OfflineAssets:
    """The JS / CSS files the analysis maps load, served from the project's own static files.

    ``apply(m, mode, static_url)`` swaps folium's CDN lists (``Map.default_js`` /
    ``default_css``) for the vendored files: links to ``{static_url}vendor/folium/…`` in
    ``"url"`` mode, the file contents embedded in the page header in ``"inline"`` mode (CSS
    ``url(images/…)`` references become ``data:`` URIs and ``</script`` is escaped).
    """

    def __init__(self, root: Path = VENDOR_DIR, assets: Sequence[VendoredAsset] = LEAFLET_ASSETS) -> None:
        self.root = root
        self.assets = tuple(assets)
        missing = [a.path for a in self.assets if not (root / a.path).is_file()]
        if missing:
            raise FileNotFoundError(f"缺少本地前端资源文件：{', '.join(missing)}（目录 {root}）")

    @property
    def js(self) -> tuple[VendoredAsset, ...]:
        return tuple(a for a in self.assets if a.kind == "js")

    @property
    def css(self) -> tuple[VendoredAsset, ...]:
        return tuple(a for a in self.assets if a.kind == "css")

    def files(self) -> list[str]:
        """Every vendored file (paths relative to the root), including the CSS images."""
        return sorted(
            str(p.relative_to(self.root))
            for p in self.root.rglob("*")
            if p.is_file() and p.name != "LICENSES.md"
        )

    @staticmethod
    def url(asset: VendoredAsset, static_url: str | Callable[[str], str] = "/static/") -> str:
        """The asset's URL: ``static_url`` + ``vendor/folium/<path>``, or ``static_url(path)``."""
        relative = STATIC_PREFIX + asset.path
        if callable(static_url):
            return static_url(relative)
        return (static_url if static_url.endswith("/") else static_url + "/") + relative

    @cached_property
    def _inline(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for asset in self.assets:
            text = (self.root / asset.path).read_text(encoding="utf-8")
            if asset.kind == "js":
                out[asset.name] = (
                    "<script>\n" + re.sub(r"</(script)", r"<\\/\1", text, flags=re.I) + "\n</script>"
                )
            else:
                text = _CSS_URL.sub(lambda m: f'url("{self._data_uri(m.group(2))}")', text)
                out[asset.name] = (
                    "<style>\n" + re.sub(r"</(style)", r"<\\/\1", text, flags=re.I) + "\n</style>"
                )
        return out

    def _data_uri(self, relative: str) -> str:
        path = self.root / relative
        mime = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif"}.get(path.suffix, "")
        if not mime or not path.is_file():
            raise FileNotFoundError(f"缺少样式表引用的本地文件：{path}")
        return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"

    def inline(self, asset: VendoredAsset) -> str:
        """The asset embedded as a ``<script>`` / ``<style>`` element."""
        return self._inline[asset.name]

    def apply(
        self, m: folium.Map, mode: AssetMode, static_url: str | Callable[[str], str] = "/static/"
    ) -> None:
        """Make ``m`` load only the vendored assets, linked (``"url"``) or embedded (``"inline"``)."""
        if mode not in ("inline", "url"):
            raise ValueError(f"asset_mode 应为 'inline' 或 'url'，收到 {mode!r}")
        header = m.get_root().header
        # forget whatever an earlier render (folium's CDN defaults or the other mode) put in the header
        for name, _url in [*folium.Map.default_js, *folium.Map.default_css]:
            header._children.pop(name, None)
        for asset in self.assets:
            header._children.pop(asset.name, None)
        if mode == "url":
            m.default_js = [(a.name, self.url(a, static_url)) for a in self.js]
            m.default_css = [(a.name, self.url(a, static_url)) for a in self.css]
            return
        m.default_js, m.default_css = [], []
        # CSS first, then JS, right after the charset <meta> and ahead of anything folium adds
        keys = list(header._children)
        start = keys.index("meta_http") + 1 if "meta_http" in keys else 0
        for offset, asset in enumerate((*self.css, *self.js)):
            header.add_child(_Raw(self.inline(asset)), name=asset.name, index=start + offset)


class _Raw(Element):
    """Verbatim HTML (not a Jinja template: vendored code may contain ``{{``)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


_DEFAULT_ASSETS: OfflineAssets | None = None


def _assets() -> OfflineAssets:
    global _DEFAULT_ASSETS
    if _DEFAULT_ASSETS is None:
        _DEFAULT_ASSETS = OfflineAssets()
    return _DEFAULT_ASSETS


_LOADS: Final = (
    re.compile(r"""<script\b[^>]*?\bsrc\s*=\s*["']?([^"'\s>]+)""", re.I),
    re.compile(r"""<link\b[^>]*?\bhref\s*=\s*["']?([^"'\s>]+)""", re.I),
    re.compile(r"""<(?:img|iframe|source|video|audio|embed)\b[^>]*?\bsrc\s*=\s*["']?([^"'\s>]+)""", re.I),
    re.compile(r"""url\(\s*["']?([^"')\s]+)""", re.I),
    re.compile(r"""@import\s+(?:url\(\s*)?["']?([^"')\s;]+)""", re.I),
)
_REMOTE: Final = re.compile(r"^\s*(?:https?:)?//", re.I)


def external_urls(page: str) -> list[str]:
    """Scripts, stylesheets, images, fonts and imports the page would load from another host."""
    found = {m.group(1) for pattern in _LOADS for m in pattern.finditer(page)}
    return sorted(u for u in found if _REMOTE.match(u))


def to_html(
    m: folium.Map,
    *,
    asset_mode: AssetMode | None = None,
    static_url: str | Callable[[str], str] | None = None,
) -> str:
    """Render ``m`` as a complete HTML page with local assets only.

    ``asset_mode`` / ``static_url`` default to what :func:`analysis_map` was given (``"inline"``
    and ``"/static/"`` for any other folium map). Raises :class:`ExternalAssetError` when the page
    would still load anything from another host, or uses folium's jQuery-based ``Popup``.
    """
    mode, url = getattr(m, "_geo_mz_assets", ("inline", "/static/"))
    mode = asset_mode or mode
    url = url if static_url is None else static_url
    _assets().apply(m, mode, url)
    m._geo_mz_assets = (mode, url)
    page = m.get_root().render()
    remote = external_urls(page)
    if remote:
        raise ExternalAssetError(f"地图页面仍会从外部网络加载资源：{', '.join(remote)}")
    if "$(`" in page:
        raise ExternalAssetError("地图使用了 folium Popup（依赖未随本项目提供的 jQuery）；请改用 Tooltip")
    return page


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class FacilityMark:
    """A facility on the map; ``proposed`` marks a suggested / scenario site (drawn hollow)."""

    lon: float
    lat: float
    name: str
    type_label: str
    radius_m: float | None = None
    covered_population: float | None = None
    covered_points: int | None = None
    proposed: bool = False


@dataclass(frozen=True, slots=True)
class DemandMark:
    """A demand point; ``weight`` is its population (all residents, 60+, households …)."""

    lon: float
    lat: float
    covered: bool
    weight: float | None = None
    label: str = ""


def _esc(value: Any) -> str:
    """HTML-escape text that ends up in a JS template literal or ``innerHTML``."""
    return (
        html.escape("" if value is None else str(value), quote=True)
        .replace("`", "&#96;")
        .replace("$", "&#36;")
        .replace("\\", "&#92;")
    )


def _fmt(v: float | None, unit: str = "") -> str:
    if v is None:
        return "—"
    text = f"{v:,.0f}" if float(v).is_integer() or abs(v) >= 100 else f"{v:,.2f}".rstrip("0").rstrip(".")
    return f"{text} {unit}".strip()


def _check_lonlat(lon: float, lat: float, what: str) -> None:
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValueError(f"{what}的坐标无效：({lon!r}, {lat!r})")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"{what}的坐标应为经纬度（度），收到 ({lon!r}, {lat!r})；投影坐标请先转换")


def _geometries(obj: GeoInput | None, what: str) -> list[tuple[BaseGeometry, dict[str, Any]]]:
    """(geometry, properties) pairs from a FeatureCollection / Feature / geometry dict, a shapely
    geometry, or an iterable of those; empty geometries are dropped, coordinates checked."""
    if obj is None:
        return []
    out: list[tuple[BaseGeometry, dict[str, Any]]] = []

    def add(item: Any) -> None:
        if isinstance(item, BaseGeometry):
            geom, props = item, {}
        elif isinstance(item, Mapping):
            kind = item.get("type")
            if kind == "FeatureCollection":
                for feature in item.get("features") or ():
                    add(feature)
                return
            if kind == "Feature":
                if not item.get("geometry"):
                    return
                geom, props = shape(item["geometry"]), dict(item.get("properties") or {})
                if "id" in item and "id" not in props:
                    props["id"] = item["id"]
            else:
                geom, props = shape(item), {}
        else:
            raise TypeError(f"{what}应为 GeoJSON 或 shapely 几何，收到 {type(item).__name__}")
        if geom.is_empty:
            return
        minx, miny, maxx, maxy = geom.bounds
        _check_lonlat(minx, miny, what)
        _check_lonlat(maxx, maxy, what)
        out.append((geom, props))

    if isinstance(obj, BaseGeometry | Mapping):
        add(obj)
    else:
        for item in obj:
            add(item)
    return out


def _geojson(geom: BaseGeometry) -> dict[str, Any]:
    rounded = shapely.transform(geom, lambda c: c.round(_COORD_DIGITS))
    return mapping(rounded)


def _collection(features: Iterable[tuple[BaseGeometry, dict[str, Any]]]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": str(i), "geometry": _geojson(g), "properties": props}
            for i, (g, props) in enumerate(features)
        ],
    }


def _name_of(props: Mapping[str, Any]) -> str:
    for key in ("name", "名称", "label"):
        if props.get(key) not in (None, ""):
            return str(props[key])
    return ""


def _tip(title: str, rows: Sequence[tuple[str, str]]) -> str:
    parts = [f"<b>{_esc(title)}</b>"] if title else []
    parts += [f"{_esc(k)}：{_esc(v)}" for k, v in rows]
    return "<br>".join(parts)


# --------------------------------------------------------------------------- map furniture


class _Legend(MacroElement):
    """A legend control (bottom right) and the map title (top centre), plain Leaflet + CSS."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          .geo-mz-legend { background: rgba(255,255,255,.92); padding: 6px 9px; border-radius: 4px;
            box-shadow: 0 1px 4px rgba(0,0,0,.35); font: 12px/1.5 "Microsoft YaHei", "PingFang SC",
            "Noto Sans CJK SC", sans-serif; color: #222; max-height: 60vh; overflow-y: auto; }
          .geo-mz-legend h4 { margin: 4px 0 2px; font-size: 12px; }
          .geo-mz-legend i { display: inline-block; width: 16px; height: 11px; margin-right: 6px;
            vertical-align: -1px; border: 1px solid #555; }
          .geo-mz-legend i.pt { width: 10px; height: 10px; border-radius: 50%; margin: 0 9px 0 3px; }
          .geo-mz-legend i.ring { background: none; border: 2px dashed #444; border-radius: 50%; }
          .geo-mz-legend small { color: #666; }
          .geo-mz-title { position: absolute; top: 10px; left: 50%; transform: translateX(-50%);
            z-index: 800; background: rgba(255,255,255,.9); padding: 4px 12px; border-radius: 4px;
            box-shadow: 0 1px 4px rgba(0,0,0,.3); font: bold 15px/1.4 "Microsoft YaHei",
            "PingFang SC", "Noto Sans CJK SC", sans-serif; pointer-events: none; }
          .folium-map.leaflet-container { background: #F4F4F1; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
          var map = {{ this._parent.get_name() }};
          L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
          {% if this.legend_html %}
          var legend = L.control({ position: "bottomright" });
          legend.onAdd = function () {
            var div = L.DomUtil.create("div", "geo-mz-legend");
            div.innerHTML = {{ this.legend_html|tojson }};
            div.querySelectorAll("[data-style]").forEach(function (el) { el.style.cssText = el.dataset.style; });
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
          };
          legend.addTo(map);
          {% endif %}
          {% if this.title %}
          var title = L.DomUtil.create("div", "geo-mz-title", map.getContainer());
          title.textContent = {{ this.title|tojson }};
          {% endif %}
        })();
        {% endmacro %}
        """
    )

    def __init__(self, legend_html: str, title: str) -> None:
        super().__init__()
        self._name = "GeoMzLegend"
        self.legend_html = legend_html
        self.title = title


@dataclass
class _LegendBuilder:
    parts: list[str] = field(default_factory=list)

    def heading(self, text: str) -> None:
        self.parts.append(f"<h4>{_esc(text)}</h4>")

    def swatch(self, colour: str, label: str, *, css: str = "", cls: str = "") -> None:
        klass = f' class="{cls}"' if cls else ""
        # data-style, applied through the CSSOM by the legend script: a style="" attribute set via
        # innerHTML is blocked by the app's Content-Security-Policy (no 'unsafe-inline' for styles)
        style = _esc(f"background:{colour};{css}")
        self.parts.append(f'<div><i{klass} data-style="{style}"></i>{_esc(label)}</div>')

    def note(self, text: str) -> None:
        self.parts.append(f"<div><small>{_esc(text)}</small></div>")

    def html(self) -> str:
        return "".join(self.parts)


def _basemap_layers(basemap: Mapping[str, Any] | None) -> list[folium.TileLayer]:
    """Tile layers for ``{url, attribution[, subdomains, max_zoom, labels_url, name]}``.

    ``None``, ``kind="none"`` or ``missing_key`` (the shape of the web pages' basemap config)
    give no tile layer at all.
    """
    if basemap is None or basemap.get("kind") == "none" or basemap.get("missing_key"):
        return []
    layers = []
    options = {
        "subdomains": str(basemap.get("subdomains") or "abc"),
        "max_zoom": int(basemap.get("max_zoom", 18)),
    }
    for key, name, overlay in (
        ("url", basemap.get("name") or "底图", False),
        ("labels_url", "底图注记", True),
    ):
        url = basemap.get(key)
        if not url:
            if key == "url":
                raise ValueError("底图配置缺少瓦片地址 url")
            continue
        if not re.match(r"^(https?://|/)", str(url)):
            raise ValueError(f"底图瓦片地址应以 http(s):// 或 / 开头，收到 {url!r}")
        layers.append(
            folium.TileLayer(
                tiles=str(url),
                attr=str(basemap.get("attribution") or "底图"),
                name=name,
                overlay=overlay,
                control=False,
                **options,
            )
        )
    return layers


# --------------------------------------------------------------------------- the map


def analysis_map(
    *,
    facilities: Sequence[FacilityMark] = (),
    service_areas: GeoInput | None = None,
    demand: Sequence[DemandMark] = (),
    divisions: GeoInput | None = None,
    uncovered: GeoInput | None = None,
    title: str = "",
    rings: bool = True,
    basemap: Mapping[str, Any] | None = None,
    asset_mode: AssetMode = "inline",
    static_url: str | Callable[[str], str] = "/static/",
    max_demand_points: int = 20_000,
    center: tuple[float, float] | None = None,
    height: str | int = "100%",
) -> folium.Map:
    """A folium map of a coverage analysis, from plain inputs in longitude / latitude degrees.

    Layers, bottom to top, each a named overlay in the (expanded) layer control:

    * ``divisions`` -- choropleth "分区覆盖率": GeoJSON features (or shapely geometries) whose
      properties hold ``rate`` (0–1 or null -> 无数据) and optionally ``name``, ``code``,
      ``population``, ``covered``; filled by :data:`~geo_mz.coverage.documents.RATE_CLASSES`,
      with a tooltip;
    * ``uncovered`` -- "未覆盖区域" polygons (red, dashed outline);
    * ``service_areas`` -- "服务区" polygons (network catchments, say), tooltip from ``name``;
    * radius rings -- "服务半径": a dashed circle of ``radius_m`` around each facility
      (``rings=False`` leaves them out);
    * ``demand`` -- "已覆盖需求点" / "未覆盖需求点" circle markers; more than
      ``max_demand_points`` are thinned evenly (the legend says how many are shown);
    * ``facilities`` -- "设施": circle markers coloured by ``type_label`` (proposed sites hollow),
      tooltip with name, type, radius and covered counts.

    A legend (bottom right) explains the layers present, in Chinese; ``title`` is shown top
    centre and as the page title; a metric scale bar (no miles) sits bottom left. ``basemap`` is None (no
    tile layer: works offline) or ``{url, attribution[, subdomains, max_zoom, labels_url]}``.
    ``asset_mode`` / ``static_url``: see :class:`OfflineAssets` and :func:`to_html` (saving the
    map with folium's own ``m.save()`` is offline too). The view fits all layers; with no layer
    at all ``center`` (lat, lon) is required.

    Raises :class:`ValueError` for coordinates outside longitude / latitude ranges, a rate outside
    0–1, a radius ≤ 0 or a bad basemap.
    """
    if max_demand_points < 1:
        raise ValueError("max_demand_points 至少为 1")
    division_features = _geometries(divisions, "分区")
    uncovered_features = _geometries(uncovered, "未覆盖区域")
    area_features = _geometries(service_areas, "服务区")
    for f in facilities:
        _check_lonlat(f.lon, f.lat, f"设施“{f.name}”")
        if f.radius_m is not None and not (0 < f.radius_m <= 200_000):
            raise ValueError(f"设施“{f.name}”的服务半径应大于 0 且不超过 200 公里，收到 {f.radius_m!r}")
    for d in demand:
        _check_lonlat(d.lon, d.lat, "需求点")

    bounds = _bounds(division_features, uncovered_features, area_features, facilities, demand, rings)
    if bounds is None and center is None:
        raise ValueError("地图没有任何图层；请提供图层或 center")

    tiles = _basemap_layers(basemap)
    m = folium.Map(
        location=list(center) if center else None,
        zoom_start=11 if center else 1,
        tiles=None,
        control_scale=False,  # a metric-only scale bar is added with the legend
        font_size="13px",
        prefer_canvas=len(demand) > 2000,
        attribution_control=bool(tiles),
        height=height,
    )
    for layer in tiles:
        layer.add_to(m)
    if title.strip():
        m.get_root().title = _esc(title.strip())
    legend = _LegendBuilder()

    if division_features:
        _add_choropleth(m, division_features, legend)
    if uncovered_features:
        folium.GeoJson(
            _collection((g, {"名称": _esc(_name_of(p) or "未覆盖区域")}) for g, p in uncovered_features),
            name="未覆盖区域",
            style_function=lambda _f: {
                "color": "#B10026",
                "weight": 1.5,
                "dashArray": "5 4",
                "fillColor": _UNCOVERED_COLOUR,
                "fillOpacity": 0.3,
            },
            tooltip=folium.GeoJsonTooltip(fields=["名称"], labels=False),
        ).add_to(m)
        legend.heading("未覆盖区域")
        legend.swatch(_UNCOVERED_COLOUR, "不在任何设施服务范围内", css="opacity:.6;border-style:dashed")
    if area_features:
        folium.GeoJson(
            _collection((g, {"名称": _esc(_name_of(p) or "服务区")}) for g, p in area_features),
            name="服务区",
            style_function=lambda _f: {
                "color": _SERVICE_AREA_COLOUR,
                "weight": 1.2,
                "fillColor": _SERVICE_AREA_COLOUR,
                "fillOpacity": 0.15,
            },
            tooltip=folium.GeoJsonTooltip(fields=["名称"], labels=False),
        ).add_to(m)
        legend.heading("服务区")
        legend.swatch(_SERVICE_AREA_COLOUR, "设施服务范围（路网）", css="opacity:.45")
    type_colours = _type_colours(facilities)
    if rings and any(f.radius_m for f in facilities):
        group = folium.FeatureGroup(name="服务半径")
        for f in facilities:
            if f.radius_m:
                folium.Circle(
                    [f.lat, f.lon],
                    radius=float(f.radius_m),
                    color=type_colours[f.type_label],
                    weight=1.2,
                    dash_array="6 4",
                    fill=True,
                    fill_opacity=0.04,
                    interactive=False,
                ).add_to(group)
        group.add_to(m)
    if demand:
        _add_demand(m, demand, max_demand_points, legend)
    if facilities:
        _add_facilities(m, facilities, type_colours, legend, rings)

    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.add_child(_Legend(legend.html(), title.strip()))
    if bounds is not None:
        minx, miny, maxx, maxy = (round(v, _COORD_DIGITS) for v in bounds)
        m.fit_bounds([[miny, minx], [maxy, maxx]], max_zoom=16)
    _assets().apply(m, asset_mode, static_url)
    m._geo_mz_assets = (asset_mode, static_url)
    return m


def _bounds(
    divisions: list[tuple[BaseGeometry, dict[str, Any]]],
    uncovered: list[tuple[BaseGeometry, dict[str, Any]]],
    areas: list[tuple[BaseGeometry, dict[str, Any]]],
    facilities: Sequence[FacilityMark],
    demand: Sequence[DemandMark],
    rings: bool,
) -> tuple[float, float, float, float] | None:
    boxes = [g.bounds for g, _p in (*divisions, *uncovered, *areas)]
    for f in facilities:
        r = (f.radius_m or 0) if rings else 0
        dlat = r / 111_320
        dlon = dlat / max(math.cos(math.radians(f.lat)), 0.01)
        boxes.append((f.lon - dlon, f.lat - dlat, f.lon + dlon, f.lat + dlat))
    if demand:
        lons = [d.lon for d in demand]
        lats = [d.lat for d in demand]
        boxes.append((min(lons), min(lats), max(lons), max(lats)))
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _add_choropleth(
    m: folium.Map, features: list[tuple[BaseGeometry, dict[str, Any]]], legend: _LegendBuilder
) -> None:
    rows = []
    any_no_data = False
    for geom, props in features:
        rate = props.get("rate")
        cls = rate_class(None if rate is None else float(rate))
        any_no_data = any_no_data or cls is NO_DATA_CLASS
        name = _name_of(props)
        code = props.get("code") or ""
        rows.append(
            (
                geom,
                {
                    "名称": _esc(f"{name}（{code}）" if code and name else name or code),
                    "覆盖率": format_share(None if rate is None else float(rate)),
                    "人口": _fmt(props.get("population")),
                    "覆盖人口": _fmt(props.get("covered")),
                    "_fill": cls.colour,
                },
            )
        )
    fields = ["名称", "覆盖率"]
    if any(p.get("population") is not None for _g, p in features):
        fields.append("人口")
    if any(p.get("covered") is not None for _g, p in features):
        fields.append("覆盖人口")
    folium.GeoJson(
        _collection(rows),
        name="分区覆盖率",
        style_function=lambda f: {
            "color": "#555555",
            "weight": 1,
            "fillColor": f["properties"]["_fill"],
            "fillOpacity": _CHOROPLETH_OPACITY,
        },
        highlight_function=lambda _f: {"weight": 3, "color": "#222222"},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=fields, sticky=True),
    ).add_to(m)
    legend.heading("分区覆盖率")
    for cls in [*reversed(RATE_CLASSES), *([NO_DATA_CLASS] if any_no_data else [])]:
        legend.swatch(cls.colour, cls.label, css=f"opacity:{_CHOROPLETH_OPACITY + 0.2}")


def _add_demand(m: folium.Map, demand: Sequence[DemandMark], budget: int, legend: _LegendBuilder) -> None:
    shown: Sequence[DemandMark] = demand
    if len(demand) > budget:
        step = len(demand) / budget
        shown = [demand[int(i * step)] for i in range(budget)]
    with_tip = any(d.label or d.weight is not None for d in shown)
    legend.heading("需求点")
    for covered in (True, False):
        kind = "covered" if covered else "uncovered"
        label, colour = POINT_KINDS[kind]
        points = [d for d in shown if d.covered is covered]
        total = sum(1 for d in demand if d.covered is covered)
        if not total:
            continue
        features = [
            (
                shapely.Point(d.lon, d.lat),
                {"名称": _esc(d.label or label), "人数": _fmt(d.weight)} if with_tip else {},
            )
            for d in points
        ]
        folium.GeoJson(
            _collection(features),
            name=label,
            marker=folium.CircleMarker(radius=3.5, weight=1, fill=True, fill_opacity=0.9),
            style_function=lambda _f, c=colour, s=("#FFFFFF" if covered else "#000000"): {
                "color": s,
                "weight": 0.8,
                "fillColor": c,
                "fillOpacity": 0.9,
            },
            tooltip=folium.GeoJsonTooltip(fields=["名称", "人数"]) if with_tip else None,
        ).add_to(m)
        legend.swatch(colour, f"{label}（{total:,}）", cls="pt")
    if len(shown) < len(demand):
        legend.note(f"需求点抽样显示 {len(shown):,}/{len(demand):,}")


def _type_colours(facilities: Sequence[FacilityMark]) -> dict[str, str]:
    colours: dict[str, str] = {}
    for f in facilities:
        if f.type_label not in colours:
            colours[f.type_label] = _FACILITY_COLOURS[len(colours) % len(_FACILITY_COLOURS)]
    return colours


def _add_facilities(
    m: folium.Map,
    facilities: Sequence[FacilityMark],
    colours: Mapping[str, str],
    legend: _LegendBuilder,
    rings: bool,
) -> None:
    group = folium.FeatureGroup(name="设施")
    for f in facilities:
        rows = [("类型", f.type_label)]
        if f.radius_m:
            rows.append(("服务半径", _fmt(f.radius_m, "米")))
        if f.covered_population is not None:
            rows.append(("覆盖人口", _fmt(f.covered_population, "人")))
        if f.covered_points is not None:
            rows.append(("覆盖需求点", _fmt(f.covered_points, "个")))
        if f.proposed:
            rows.append(("状态", "建议新址"))
        colour = colours[f.type_label]
        folium.CircleMarker(
            [f.lat, f.lon],
            radius=7,
            color="#FFFFFF" if not f.proposed else colour,
            weight=2 if not f.proposed else 3,
            fill=True,
            fill_color=colour if not f.proposed else "#FFFFFF",
            fill_opacity=1.0,
            tooltip=folium.Tooltip(_tip(f.name, rows)),
        ).add_to(group)
    group.add_to(m)
    legend.heading("设施")
    for type_label, colour in colours.items():
        legend.swatch(colour, type_label, cls="pt", css="border:2px solid #fff;box-shadow:0 0 0 1px #555")
    if any(f.proposed for f in facilities):
        legend.swatch("#FFFFFF", "建议新址", cls="pt", css="border:3px solid #444")
    if rings and any(f.radius_m for f in facilities):
        legend.swatch("transparent", "服务半径", cls="ring")
