"""Admin for data stewards. Lines, markers and inspections are read-mostly here: confirmation, locking
and corrections go through the services (web UI and API) so that the two-party rules always hold."""

from django.contrib import admin

from geo_mz.boundaries.models import BoundaryLine, Inspection, Marker, MarkerFinding, SegmentFinding
from geo_mz.core.admin import GeoHistoryAdmin


@admin.register(BoundaryLine)
class BoundaryLineAdmin(GeoHistoryAdmin):
    list_display = ["code", "name", "level", "division_a", "division_b", "length_m", "status", "synthetic"]
    list_filter = ["level", "status", "synthetic"]
    search_fields = ["code", "name"]
    raw_id_fields = ["division_a", "division_b", "previous", "decision"]
    readonly_fields = [
        "code",
        "division_a",
        "division_b",
        "geom",
        "length_m",
        "status",
        "previous",
        "created_at",
        "updated_at",
    ]


@admin.register(Marker)
class MarkerAdmin(GeoHistoryAdmin):
    list_display = [
        "number",
        "line",
        "kind",
        "material",
        "last_condition",
        "last_inspected_on",
        "needs_repair",
        "status",
    ]
    list_filter = ["kind", "last_condition", "needs_repair", "status"]
    search_fields = ["number"]
    raw_id_fields = ["line", "responsible", "previous"]
    readonly_fields = ["number", "seq", "letter", "line", "point", "status", "previous", "version"]


class MarkerFindingInline(admin.TabularInline):
    model = MarkerFinding
    extra = 0
    can_delete = False
    fields = ["marker", "condition", "repainted", "offset_m", "action", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class SegmentFindingInline(admin.TabularInline):
    model = SegmentFinding
    extra = 0
    can_delete = False
    fields = ["section", "terrain_change", "recognisable", "construction", "dispute", "handling"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Inspection)
class InspectionAdmin(GeoHistoryAdmin):
    list_display = [
        "record_no",
        "line",
        "round_year",
        "kind",
        "status",
        "confirmed_a_by",
        "confirmed_b_by",
        "filed_on",
    ]
    list_filter = ["kind", "status", "round_year"]
    search_fields = ["record_no", "line__name"]
    inlines = [MarkerFindingInline, SegmentFindingInline]
    readonly_fields = [
        "record_no", "line", "round_year", "kind", "lead", "status", "confirmed_a_by", "confirmed_a_at",
        "confirmed_b_by", "confirmed_b_at", "locked_at", "corrects", "version",
    ]  # fmt: skip
