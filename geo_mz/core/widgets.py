"""Admin map widget with OpenLayers served from our own static files and a configurable basemap."""

from __future__ import annotations

from django.contrib.gis.forms.widgets import OSMWidget

from geo_mz.core.basemap import basemap_config


class LocalMapWidget(OSMWidget):
    """GeoDjango's OSM widget without the CDN: OpenLayers is vendored under static/vendor/ol."""

    template_name = "gis/geo_mz_openlayers.html"
    default_lon = 113.9
    default_lat = 29.72
    default_zoom = 10

    class Media:
        extend = False  # drop the parent widget's CDN assets
        css = {"all": ("vendor/ol/ol.css", "gis/css/ol3.css")}
        # map_widget.js starts each map from its JSON options: no inline script (Content-Security-Policy)
        js = ("vendor/ol/ol.js", "gis/js/OLMapWidget.js", "core/map_widget.js")

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context.setdefault("id", name)
        # the options GeoDjango's template writes into an inline <script>, as JSON for map_widget.js
        context["options_id"] = f"{context['id']}_map_widget_options"
        context["widget_options"] = {
            "geom_name": context["geom_type"],
            "id": context["id"],
            "map_id": f"{context['id']}_map",
            "map_srid": int(context["map_srid"]),
            "name": context["name"],
            "module": context["module"],
            "default_lon": float(context["default_lon"]),
            "default_lat": float(context["default_lat"]),
            "default_zoom": int(context["default_zoom"]),
            "basemap": basemap_config(),
        }
        return context
