from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from geo_mz.demo import scale


class Command(BaseCommand):
    help = (
        "Generate the reproducible scale data set over the demo county: 1,000,000 house numbers, "
        "100,000 names, 10,000 facilities and 100,000 road edges (codes SC…, synthetic). "
        "Skips when exactly these counts are loaded; --drop removes it."
    )

    def add_arguments(self, parser):
        for key, default in scale.DEFAULTS.items():
            parser.add_argument(f"--{key}", type=int, default=default)
        parser.add_argument("--seed", type=int, default=20261124)
        parser.add_argument("--force", action="store_true", help="regenerate even when already loaded")
        parser.add_argument("--drop", action="store_true", help="remove the scale data set and stop")

    def handle(self, *args, **opts):
        if opts["drop"]:
            removed = scale.scale_drop()
            self.stdout.write(f"[scale] removed {removed}")
            call_command("tiles_refresh", stdout=self.stdout)
            return
        try:
            summary = scale.scale_load(
                addresses=opts["addresses"],
                names=opts["names"],
                facilities=opts["facilities"],
                edges=opts["edges"],
                seed=opts["seed"],
                force=opts["force"],
                progress=lambda msg: self.stdout.write(f"[scale] {msg}"),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if summary.skipped:
            self.stdout.write(f"[scale] already loaded {summary.counts} (use --force to regenerate)")
            return
        call_command("tiles_refresh", stdout=self.stdout)
        self.stdout.write(
            f"[scale] loaded {summary.counts} in {summary.seconds:.1f} s, digest {summary.digest}"
        )
