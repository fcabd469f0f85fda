from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlacenamesConfig(AppConfig):
    name = "geo_mz.placenames"
    label = "placenames"
    verbose_name = _("地名")
