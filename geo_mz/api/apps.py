from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "geo_mz.api"
    label = "api"
