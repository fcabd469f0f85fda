from geo_mz.core.management.base import ImportCommand
from geo_mz.divisions.services import SOURCE_NBS_2023, divisions_import_codes


class Command(ImportCommand):
    help = "导入区划代码 CSV (code,name,level,parent_code). Dry run unless --commit."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--source", default=SOURCE_NBS_2023)

    def handle(self, *args, **options):
        report = divisions_import_codes(
            options["path"], dry_run=not options["commit"], source=options["source"]
        )
        self.emit(report, options)
