from geo_mz.core.management.base import ImportCommand
from geo_mz.divisions.services import SOURCE_CENSUS_2020, divisions_import_figures


class Command(ImportCommand):
    help = (
        "导入人口、60岁及以上人口、户数 CSV (code|adcode, population, population_60_plus, households, "
        "or census age shares). Dry run unless --commit."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--source", default=SOURCE_CENSUS_2020)
        parser.add_argument("--year", type=int, default=2020)

    def handle(self, *args, **options):
        report = divisions_import_figures(
            options["path"], dry_run=not options["commit"], source=options["source"], year=options["year"]
        )
        self.emit(report, options)
