"""Admin for data stewards: facility types are data (radius, demand group, norms) and editable here."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from geo_mz.core.admin import GeoHistoryAdmin
from geo_mz.facilities.models import Facility, FacilityType


@admin.register(FacilityType)
class FacilityTypeAdmin(SimpleHistoryAdmin):
    list_display = [
        "code",
        "name",
        "category",
        "radius_m",
        "demand_group",
        "capacity_unit",
        "indicator_group",
        "sort_order",
    ]
    list_editable = ["radius_m", "sort_order"]


@admin.register(Facility)
class FacilityAdmin(GeoHistoryAdmin):
    list_display = [
        "code",
        "name",
        "type",
        "division",
        "operator",
        "status",
        "beds",
        "nursing_beds",
        "synthetic",
    ]
    list_filter = ["type", "status", "operator", "synthetic"]
    search_fields = ["code", "name"]
    raw_id_fields = ["division"]
    readonly_fields = ["version", "created_at", "updated_at"]
