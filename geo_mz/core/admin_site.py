"""The Django admin as a superuser-only tool.

The admin edits rows directly: it bypasses the services, so it enforces neither jurisdiction (a
township officer could edit another township's roads) nor the case workflows (names, house numbers).
Everyday work happens in the web pages and the API, which do. The admin is therefore open to
superusers only -- a 管理员 role or ``is_staff`` alone does not open it.
"""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest


class SuperuserAdminSite(AdminSite):
    """``admin.site``: only active superusers get in; everyone else is sent to the admin login."""

    site_header = "geo-mz 民政地理信息系统"
    site_title = "geo-mz"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_superuser)


class GeoMzAdminConfig(AdminConfig):
    """Replaces ``django.contrib.admin`` in INSTALLED_APPS so that ``admin.site`` is the site above."""

    default_site = "geo_mz.core.admin_site.SuperuserAdminSite"
