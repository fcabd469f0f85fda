"""Basemap configuration (GEO_MZ_BASEMAP) shared by the web maps and the folium analysis maps."""

from __future__ import annotations

from django.conf import settings


def basemap_config() -> dict:
    """What the map page needs to build its basemap; 'none' keeps the page fully offline."""
    kind = settings.GEO_MZ_BASEMAP
    config: dict = {"kind": kind}
    if kind == "osm":
        config.update(url=settings.GEO_MZ_OSM_TILE_URL, attribution="© OpenStreetMap contributors")
    elif kind == "tianditu":
        key = settings.GEO_MZ_TIANDITU_KEY
        config.update(
            url=f"https://t{{s}}.tianditu.gov.cn/DataServer?T=vec_w&x={{x}}&y={{y}}&l={{z}}&tk={key}",
            labels_url=f"https://t{{s}}.tianditu.gov.cn/DataServer?T=cva_w&x={{x}}&y={{y}}&l={{z}}&tk={key}",
            subdomains="01234567",
            attribution="天地图",
            missing_key=not key,
        )
    return config
