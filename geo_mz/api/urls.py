from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from geo_mz.api import addresses, auth, boundaries, coverage, exports, imports, jobs, placenames
from geo_mz.api.divisions import DivisionViewSet

router = DefaultRouter()
router.register("divisions", DivisionViewSet, basename="division")
router.register("placenames/features", placenames.NamedFeatureViewSet, basename="named-feature")
router.register("naming-cases", placenames.NamingCaseViewSet, basename="naming-case")
router.register("addresses", addresses.AddressViewSet, basename="address")
router.register("address-cases", addresses.AddressCaseViewSet, basename="address-case")
router.register("certificates", addresses.CertificateViewSet, basename="certificate")
router.register("boundary-lines", boundaries.BoundaryLineViewSet, basename="boundary-line")
router.register("boundary-markers", boundaries.MarkerViewSet, basename="boundary-marker")
router.register("inspections", boundaries.InspectionViewSet, basename="inspection")
router.register("facilities", coverage.FacilityViewSet, basename="facility")
router.register("coverage/runs", coverage.CoverageRunViewSet, basename="coverage-run")
router.register("coverage/scenarios", coverage.ScenarioViewSet, basename="coverage-scenario")

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
    path("addresses/entrances/", addresses.entrance_create, name="address-entrance"),
    path("addresses/roads/<str:code>/numbering/", addresses.road_numbering, name="address-road-numbering"),
    path("addresses/roads/<str:code>/impact/", addresses.road_impact, name="address-road-impact"),
    path("addresses/roads/<str:code>/commit/", addresses.road_commit, name="address-road-commit"),
    path("addresses/compounds/<str:code>/number/", addresses.compound_number, name="address-compound-number"),
    path("addresses/villages/", addresses.villages, name="address-villages"),
    path("addresses/villages/<str:code>/number/", addresses.village_number, name="address-village-number"),
    path("addresses/import/", addresses.addresses_import, name="address-import"),
    path("address-imports/<int:pk>/", addresses.address_import_job, name="address-import-job"),
    path("import-jobs/<int:pk>/", imports.import_job, name="import-job"),
    path(
        "addresses/import/template.csv", addresses.addresses_import_template, name="address-import-template"
    ),
    path("addresses/export.<str:fmt>", addresses.addresses_export, name="address-export"),
    path("certificates/verify/<str:token>/", addresses.certificate_verify, name="certificate-verify-api"),
    path("facility-types/", coverage.facility_types, name="facility-types"),
    path("facilities/import/", coverage.facilities_import, name="facility-import"),
    path("facilities/import/template.csv", coverage.facilities_template, name="facility-import-template"),
    path("coverage/what-if/", coverage.what_if, name="coverage-what-if"),
    path("coverage/indicators/", coverage.indicators, name="coverage-indicators"),
    path("boundaries/schedule/", boundaries.schedule, name="boundary-schedule"),
    path("boundaries/export.gpkg", boundaries.export_gpkg, name="boundary-export"),
    path("boundary-lines/<int:pk>/quality/", boundaries.quality, name="boundary-line-quality"),
    path("jobs/", jobs.job_list, name="job-list"),
    path("jobs/<int:pk>/retry/", jobs.job_retry, name="job-retry"),
    path("exports/", exports.exports, name="export-list"),
    path("exports/<int:pk>/", exports.export_detail, name="export-detail"),
    path("exports/<int:pk>/download/", exports.export_download, name="export-download"),
    path("exports/<str:collection>.geojson", exports.export_geojson, name="export-geojson"),
    path("", include(router.urls)),
    path("auth/token/", auth.TokenObtainView.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI with its init script as a separate response (?script): no inline script (CSP)
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    # Redoc injects <style> elements at run time (styled-components): inline styles, and only styles, are
    # allowed on this static documentation page; scripts stay 'self' only.
    path(
        "redoc/",
        csp_replace({"style-src": [SELF, UNSAFE_INLINE]})(SpectacularRedocView.as_view(url_name="schema")),
        name="api-redoc",
    ),
]
