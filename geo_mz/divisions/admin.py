from django.contrib import admin

from geo_mz.core.admin import GeoHistoryAdmin
from geo_mz.divisions.models import Division


@admin.register(Division)
class DivisionAdmin(GeoHistoryAdmin):
    list_display = [
        "code",
        "name",
        "level",
        "parent",
        "status",
        "population",
        "population_60_plus",
        "synthetic",
    ]
    list_filter = ["level", "status", "synthetic"]
    search_fields = ["code", "name", "short_name", "statistical_name"]
    raw_id_fields = ["parent", "decision"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "code",
                    "name",
                    "short_name",
                    "statistical_name",
                    "level",
                    "parent",
                    "status",
                    "decision",
                ]
            },
        ),
        ("几何 geometry", {"fields": ["geom", "point", "geometry_source", "synthetic"]}),
        (
            "人口 population",
            {
                "fields": [
                    ("population", "population_source", "population_year"),
                    ("population_60_plus", "population_60_plus_source", "population_60_plus_year"),
                    ("households", "households_source", "households_year"),
                ]
            },
        ),
        ("记录 record", {"fields": ["created_at", "updated_at"]}),
    ]
