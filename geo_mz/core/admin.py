from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from geo_mz.core.models import DecisionDocument, Job, UserProfile
from geo_mz.core.widgets import LocalMapWidget


class GeoHistoryAdmin(SimpleHistoryAdmin, GISModelAdmin):
    """Base admin for domain models: map widget with local OpenLayers, plus audit history."""

    gis_widget = LocalMapWidget


@admin.register(DecisionDocument)
class DecisionDocumentAdmin(SimpleHistoryAdmin):
    list_display = ["number", "title", "decided_on", "approving_body"]
    search_fields = ["number", "title", "approving_body"]
    date_hierarchy = "decided_on"


@admin.register(UserProfile)
class UserProfileAdmin(SimpleHistoryAdmin):
    list_display = ["user", "jurisdiction_code", "organisation"]
    search_fields = ["user__username", "jurisdiction_code"]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "progress", "total", "created_by", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
    readonly_fields = [f.name for f in Job._meta.fields]
