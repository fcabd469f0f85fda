from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "geo_mz.api"
    label = "api"

    def ready(self) -> None:
        from geo_mz.api import exports  # noqa: F401 - registers the export job handler
