from django.contrib import admin
from django.urls import include, path

from geo_mz.web.file_views import file_download

urlpatterns = [
    # Stored uploads and job files leave only through this view (who may read, attachment, nosniff,
    # CSP sandbox). There is deliberately no /media/ route: MEDIA_ROOT is never served as is.
    path("files/<str:kind>/<int:pk>/", file_download, name="file-download"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", include("geo_mz.api.urls")),
    path("ogc/", include("geo_mz.api.ogc_urls")),
    path("tiles/", include("geo_mz.api.tile_urls")),
    path("", include("geo_mz.web.urls")),
]


# JSON 404/400 for URLs under /api/ and /ogc/ that match no route (e.g. /api/facilities/x/).
handler404 = "geo_mz.api.error_pages.page_not_found"
handler400 = "geo_mz.api.error_pages.bad_request"

admin.site.site_header = "geo-mz 民政地理信息系统"
admin.site.site_title = "geo-mz"
