from django.conf import settings
from django.core.management.base import BaseCommand

from geo_mz.core.services import demo_admin_ensure


class Command(BaseCommand):
    help = "Create the demo admin account once and print its random password (only this once)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, **options):
        password = demo_admin_ensure(options["username"], settings.GEO_MZ_COUNTY_CODE)
        if password is None:
            self.stdout.write(
                f"demo admin '{options['username']}' already exists (password shown at first set-up)"
            )
            return
        bar = "=" * 64
        self.stdout.write(
            f"{bar}\n演示管理员 / demo admin account\n  username: {options['username']}\n"
            f"  password: {password}\n(shown only once; change it with: manage.py changepassword "
            f"{options['username']})\n{bar}"
        )
