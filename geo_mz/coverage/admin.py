"""Admin: siting exclusion zones are data (kind, geometry, buffer, facility types they apply to)."""

from django.contrib import admin

from geo_mz.core.admin import GeoHistoryAdmin
from geo_mz.coverage.models import CoverageRun, ExclusionZone, Scenario


@admin.register(ExclusionZone)
class ExclusionZoneAdmin(GeoHistoryAdmin):
    list_display = ["name", "kind", "buffer_m", "active", "synthetic"]
    list_filter = ["kind", "active", "synthetic"]


@admin.register(Scenario)
class ScenarioAdmin(GeoHistoryAdmin):
    list_display = ["name", "created_by", "created_at"]


@admin.register(CoverageRun)
class CoverageRunAdmin(admin.ModelAdmin):
    list_display = ["pk", "kind", "label", "engine_version", "runtime_ms", "started_at", "created_by"]
    readonly_fields = [f.name for f in CoverageRun._meta.fields]
