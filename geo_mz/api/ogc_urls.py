"""OGC API – Features routes (/ogc/…)."""

urlpatterns: list = []
