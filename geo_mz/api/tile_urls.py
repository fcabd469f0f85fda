"""Vector-tile routes (/tiles/…)."""

urlpatterns: list = []
