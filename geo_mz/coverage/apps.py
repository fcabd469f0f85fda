from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoverageConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "geo_mz.coverage"
    label = "coverage"
    verbose_name = _("覆盖分析")
