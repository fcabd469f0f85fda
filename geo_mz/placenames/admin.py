"""Admin for data stewards. Names are read-only here: they change only through naming cases, so that
every change has its case, decision document and lineage."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from geo_mz.core.admin import GeoHistoryAdmin
from geo_mz.placenames.models import (
    CaseAttachment,
    CaseEvent,
    CaseItem,
    FeatureKind,
    HeritageEntry,
    NamedFeature,
    NamingCase,
    NoticeComment,
    PlaceName,
    RoadSegment,
    RoadSign,
)


@admin.register(FeatureKind)
class FeatureKindAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "category", "geometry_type", "is_road", "one_word", "sort_order"]


class PlaceNameInline(admin.TabularInline):
    model = PlaceName
    fk_name = "feature"
    extra = 0
    can_delete = False
    fields = ["name", "romanization", "status", "valid_from", "valid_to", "decision", "previous", "case"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(NamedFeature)
class NamedFeatureAdmin(GeoHistoryAdmin):
    list_display = [
        "code",
        "__str__",
        "kind",
        "status",
        "division",
        "road_class",
        "width_m",
        "length_m",
        "synthetic",
    ]
    list_filter = ["kind", "status", "synthetic"]
    search_fields = ["code", "names__name"]
    raw_id_fields = ["division"]
    filter_horizontal = ["divisions"]
    readonly_fields = ["length_m", "created_at", "updated_at"]
    inlines = [PlaceNameInline]


@admin.register(PlaceName)
class PlaceNameAdmin(SimpleHistoryAdmin):
    list_display = ["name", "romanization", "status", "valid_from", "valid_to", "feature", "decision"]
    list_filter = ["status"]
    search_fields = ["name", "pinyin", "initials"]
    raw_id_fields = ["feature", "previous", "decision", "retirement_decision", "case"]

    def get_readonly_fields(self, request, obj=None):
        # Names are never edited in place; only descriptive fields stay editable.
        locked = [
            "feature",
            "name",
            "specific",
            "generic",
            "status",
            "valid_from",
            "valid_to",
            "previous",
            "decision",
        ]
        return locked if obj else []


@admin.register(RoadSegment)
class RoadSegmentAdmin(GeoHistoryAdmin):
    list_display = ["code", "feature", "road_class", "width_m", "length_m", "division", "synthetic"]
    list_filter = ["road_class", "synthetic"]
    search_fields = ["code"]
    raw_id_fields = ["feature", "division"]


class CaseItemInline(admin.StackedInline):
    model = CaseItem
    extra = 0
    raw_id_fields = ["feature", "result_name"]
    filter_horizontal = ["segments"]


@admin.register(NamingCase)
class NamingCaseAdmin(SimpleHistoryAdmin):
    list_display = ["number", "title", "kind", "state", "division", "due_on", "assigned_to"]
    list_filter = ["kind", "state"]
    search_fields = ["number", "title", "items__name"]
    raw_id_fields = ["division", "decision", "created_by", "assigned_to"]
    readonly_fields = ["state", "version"]
    inlines = [CaseItemInline]


admin.site.register(CaseEvent)
admin.site.register(NoticeComment, SimpleHistoryAdmin)
admin.site.register(CaseAttachment, SimpleHistoryAdmin)


@admin.register(RoadSign)
class RoadSignAdmin(GeoHistoryAdmin):
    list_display = ["code", "sign_type", "text", "feature", "installed_on", "condition"]
    list_filter = ["sign_type", "condition"]
    search_fields = ["code", "text"]
    raw_id_fields = ["feature"]


@admin.register(HeritageEntry)
class HeritageEntryAdmin(SimpleHistoryAdmin):
    list_display = ["feature", "level", "listed_on", "measures_on_file"]
    raw_id_fields = ["feature"]
