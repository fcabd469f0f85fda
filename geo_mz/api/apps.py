from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "geo_mz.api"
    label = "api"

    def ready(self) -> None:
        # job handlers must be registered in every process, `manage.py jobs_work` workers included
        from geo_mz.addresses import import_jobs  # noqa: F401 - address_import

        # export, file_import (facility and division imports), tiles_refresh
        from geo_mz.api import exports, imports, tiles  # noqa: F401
