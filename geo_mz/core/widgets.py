"""Admin map widget with OpenLayers served from our own static files and a configurable basemap."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.forms.widgets import OSMWidget


class LocalMapWidget(OSMWidget):
    """GeoDjango's OSM widget without the CDN: OpenLayers is vendored under static/vendor/ol."""

    template_name = "gis/geo_mz_openlayers.html"
    default_lon = 113.9
    default_lat = 29.72
    default_zoom = 10

    class Media:
        extend = False  # drop the parent widget's CDN assets
        css = {"all": ("vendor/ol/ol.css", "gis/css/ol3.css")}
        js = ("vendor/ol/ol.js", "gis/js/OLMapWidget.js")

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["basemap"] = settings.GEO_MZ_BASEMAP
        context["osm_tile_url"] = settings.GEO_MZ_OSM_TILE_URL
        context["tianditu_key"] = settings.GEO_MZ_TIANDITU_KEY
        return context
