from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "geo_mz.web"
    label = "web"
