"""One Django start-up for everything the set-up script needs after the database exists."""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from geo_mz.core.staticfiles import static_collect_for_production


class Command(BaseCommand):
    help = "migrate, collect static files (with the production manifest), create roles, and optionally load the demo."

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo", action="store_true", help="load the demo county and create the demo admin"
        )

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        # whitenoise looks for STATIC_ROOT even when DEBUG serves static files from the apps.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        # Always with the production storage: a later start with DJANGO_DEBUG=0 needs the manifest.
        static_collect_for_production()
        call_command("roles_sync")
        from geo_mz.placenames.services import feature_kinds_ensure

        feature_kinds_ensure()
        from geo_mz.facilities.services import facility_types_ensure

        facility_types_ensure()
        if options["demo"]:
            call_command("demo_load")
            call_command("demo_admin")
