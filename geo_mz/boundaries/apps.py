from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BoundariesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "geo_mz.boundaries"
    label = "boundaries"
    verbose_name = _("行政区域界线")
