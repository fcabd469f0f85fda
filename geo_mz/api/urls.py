from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from geo_mz.api import placenames
from geo_mz.api.divisions import DivisionViewSet

router = DefaultRouter()
router.register("divisions", DivisionViewSet, basename="division")
router.register("placenames/features", placenames.NamedFeatureViewSet, basename="named-feature")
router.register("naming-cases", placenames.NamingCaseViewSet, basename="naming-case")

urlpatterns = [
    path("placenames/search/", placenames.placename_search, name="placename-search"),
    path("placenames/check/", placenames.placename_check, name="placename-check"),
    path("placenames/romanize/", placenames.placename_romanize, name="placename-romanize"),
    path("placenames/unnamed-segments/", placenames.unnamed_segments, name="placename-unnamed"),
    path("placenames/signs/", placenames.signs, name="placename-signs"),
    path("placenames/signs/report/", placenames.sign_report, name="placename-sign-report"),
    path("placenames/gazetteer.<str:fmt>", placenames.gazetteer, name="placename-gazetteer"),
    path("placenames/import/", placenames.names_import, name="placename-import"),
    path(
        "placenames/import/template.csv", placenames.names_import_template, name="placename-import-template"
    ),
    path("", include(router.urls)),
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
]
