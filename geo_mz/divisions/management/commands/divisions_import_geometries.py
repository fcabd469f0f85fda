from geo_mz.core.management.base import ImportCommand
from geo_mz.divisions.services import divisions_import_geometries


class Command(ImportCommand):
    help = "导入区划边界面或代表点 (GeoJSON / GeoPackage / Shapefile, GBK or UTF-8). Dry run unless --commit."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--code-field", default="code")
        parser.add_argument("--name-field", default="name")
        parser.add_argument("--layer")
        parser.add_argument("--encoding", help="override the shapefile encoding (default: .cpg or sniffed)")
        parser.add_argument("--srid", type=int, help="source EPSG code when the file has none or a wrong one")
        parser.add_argument("--coordinate-system", default="wgs84", help="wgs84 | cgcs2000 | gcj02 | bd09")
        parser.add_argument("--create-parents", action="store_true")
        parser.add_argument("--geometry-source", default="")
        parser.add_argument(
            "--synthetic", action="store_true", help="mark the geometry as synthetic demo data"
        )

    def handle(self, *args, **options):
        report = divisions_import_geometries(
            options["path"],
            dry_run=not options["commit"],
            code_field=options["code_field"],
            name_field=options["name_field"],
            layer=options["layer"],
            encoding=options["encoding"],
            source_srid=options["srid"],
            coordinate_system=options["coordinate_system"],
            create_parents=options["create_parents"],
            geometry_source=options["geometry_source"],
            synthetic=options["synthetic"],
        )
        self.emit(report, options)
