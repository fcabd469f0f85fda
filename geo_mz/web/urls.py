from django.contrib.auth import views as auth_views
from django.urls import path

from geo_mz.web import address_views, boundary_views, coverage_views, placename_views, views

app_name = "web"

urlpatterns = [
    path("", views.map_page, name="map"),
    path("divisions/import/", views.division_import, name="division-import"),
    path("exports/", views.exports_page, name="exports"),
    path("placenames/", placename_views.placename_home, name="placenames"),
    path("placenames/cases/new/", placename_views.case_new, name="naming-case-new"),
    path("placenames/cases/alley-batch/", placename_views.alley_batch_new, name="alley-batch"),
    path("placenames/cases/<int:pk>/", placename_views.case_detail, name="naming-case"),
    path("placenames/features/<str:code>/", placename_views.feature_detail, name="named-feature"),
    path("placenames/signs/report/", placename_views.sign_report, name="sign-report"),
    path("placenames/import/", placename_views.names_import, name="placename-import"),
    path("addresses/", address_views.address_home, name="addresses"),
    path("addresses/roads/<str:code>/", address_views.road_workbench, name="address-road"),
    path("addresses/villages/", address_views.villages, name="address-villages"),
    path("addresses/cases/new/", address_views.case_new, name="address-case-new"),
    path("addresses/cases/<int:pk>/", address_views.case_detail, name="address-case"),
    path("addresses/import/", address_views.addresses_import, name="address-import"),
    path("addresses/certificates/<str:serial>.pdf", address_views.certificate_pdf, name="certificate-pdf"),
    path("addresses/<str:code>/", address_views.address_detail, name="address"),
    path("boundaries/", boundary_views.boundaries_home, name="boundaries"),
    path("boundaries/derive/", boundary_views.derive_page, name="boundary-derive"),
    path("boundaries/lines/<int:pk>/", boundary_views.line_detail, name="boundary-line"),
    path("boundaries/inspections/<int:pk>/", boundary_views.inspection_detail, name="boundary-inspection"),
    path(
        "boundaries/inspections/<int:pk>/report.pdf",
        boundary_views.inspection_pdf,
        name="boundary-inspection-pdf",
    ),
    path("facilities/", coverage_views.facility_registry, name="facilities"),
    path("coverage/", coverage_views.workbench, name="coverage"),
    path("coverage/dashboard/", coverage_views.dashboard, name="coverage-dashboard"),
    path("coverage/runs/<int:pk>/", coverage_views.run_detail, name="coverage-run"),
    path("coverage/runs/<int:pk>/map/", coverage_views.run_map, name="coverage-run-map"),
    path("v/<str:token>/", address_views.verify, name="certificate-verify"),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
