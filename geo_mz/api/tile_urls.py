"""Vector-tile routes (/tiles/…): see geo_mz/api/tiles.py."""

from django.urls import path, re_path

from geo_mz.api import tiles

urlpatterns = [
    path("", tiles.index, name="tiles-index"),
    re_path(r"^(?P<layer>[A-Za-z0-9_-]+)\.json$", tiles.tilejson, name="tiles-tilejson"),
    re_path(
        r"^(?P<layer>[A-Za-z0-9_-]+)/(?P<z>-?\d{1,4})/(?P<x>-?\d{1,9})/(?P<y>-?\d{1,9})\.pbf$",
        tiles.tile,
        name="tiles-tile",
    ),
]
