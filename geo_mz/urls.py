from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path, re_path
from django.views.static import serve

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", include("geo_mz.api.urls")),
    path("ogc/", include("geo_mz.api.ogc_urls")),
    path("tiles/", include("geo_mz.api.tile_urls")),
    path("", include("geo_mz.web.urls")),
]


# Uploaded files (inspection photos, marker sketches, decision documents) are for signed-in users only,
# in development and production alike (a county intranet needs no separate media server).
@login_required
def media(request, path: str):
    # MEDIA_ROOT is read per request, not when this module is imported (settings can change in tests)
    return serve(request, path, document_root=settings.MEDIA_ROOT)


urlpatterns.insert(0, re_path(rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.*)$", media))

admin.site.site_header = "geo-mz 民政地理信息系统"
admin.site.site_title = "geo-mz"
