from django.core.management.base import BaseCommand, CommandError

from geo_mz.demo.services import DemoLoadError, demo_load


class Command(BaseCommand):
    help = (
        "Load the demo county 赤壁市 (real county polygons, codes and census; synthetic townships/villages)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="re-check every row even if the files are unchanged"
        )

    def handle(self, *args, **options):
        try:
            steps = demo_load(force=options["force"])
        except DemoLoadError as exc:
            raise CommandError(str(exc)) from exc
        if not steps:
            self.stdout.write("[demo] 赤壁市 demo already loaded, files unchanged (use --force to re-check)")
        for step in steps:
            self.stdout.write(f"[demo] {step.name}: {step.report.summary()}")
