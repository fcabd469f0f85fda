from django.core.management.base import BaseCommand

from geo_mz.core.services import roles_sync


class Command(BaseCommand):
    help = "Create the role groups (管理员, 地名管理员, 规划员, 界线工作组, 只读) if missing."

    def handle(self, *args, **options):
        created = roles_sync()
        if created:
            self.stdout.write(f"created roles: {', '.join(created)}")
