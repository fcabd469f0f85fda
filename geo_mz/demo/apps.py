from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Loads the demo county (赤壁市) from gis_data/. Sits above the domain apps and calls their
    importers; later domain apps add their own steps to `demo_load`."""

    name = "geo_mz.demo"
    label = "demo"
