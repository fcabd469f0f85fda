from django.contrib.auth import views as auth_views
from django.urls import path

from geo_mz.web import views

app_name = "web"

urlpatterns = [
    path("", views.map_page, name="map"),
    path("divisions/import/", views.division_import, name="division-import"),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
