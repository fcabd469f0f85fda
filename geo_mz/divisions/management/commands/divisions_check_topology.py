from django.core.management.base import BaseCommand, CommandError

from geo_mz.divisions.selectors import division_topology_check


class Command(BaseCommand):
    help = "拓扑检查：下级区划之间的缝隙与重叠、超出上级的部分 (areas in m², tolerance in metres)."

    def add_arguments(self, parser):
        parser.add_argument("code", help="the parent division code, e.g. 421281")
        parser.add_argument("--tolerance", type=float, default=1.0, help="metres (default 1)")
        parser.add_argument("--min-area", type=float, default=None, help="m² (default 10 × tolerance²)")

    def handle(self, *args, **options):
        issues = division_topology_check(
            options["code"], tolerance_m=options["tolerance"], min_area_m2=options["min_area"]
        )
        for issue in issues:
            self.stdout.write(
                f"{issue['kind']:15} {issue['area_m2']:>14.1f} m²  @ {issue['location']}  {issue['message']}"
            )
        if issues:
            raise CommandError(f"{len(issues)} 个拓扑问题 / topology issue(s)")
        self.stdout.write(
            f"{options['code']}: 无拓扑问题 / no topology issues (tolerance {options['tolerance']} m)"
        )
