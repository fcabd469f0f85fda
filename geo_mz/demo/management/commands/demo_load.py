from django.core.management.base import BaseCommand, CommandError

from geo_mz.demo.services import DemoLoadError, demo_load


class Command(BaseCommand):
    help = (
        "Load the demo county 赤壁市 (real county polygons, codes and census; synthetic townships/villages)."
    )

    def handle(self, *args, **options):
        try:
            steps = demo_load()
        except DemoLoadError as exc:
            raise CommandError(str(exc)) from exc
        for step in steps:
            self.stdout.write(f"[demo] {step.name}: {step.report.summary()}")
