"""Shared behaviour for import commands: dry run by default, per-row report, non-zero exit on errors."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from geo_mz.core.importing import ImportReport


class ImportCommand(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("path", help="input file")
        parser.add_argument(
            "--commit",
            action="store_true",
            help="write to the database (all rows or none); without it the import is a dry run",
        )
        parser.add_argument("--all-rows", action="store_true", help="report every row, not only problems")

    def emit(self, report: ImportReport, options) -> None:
        self.stdout.write(report.as_text(all_rows=options.get("all_rows", False)))
        if not report.ok:
            raise CommandError(
                f"导入失败，未写入任何数据 / import failed, nothing written: {len(report.error_rows)} bad row(s)"
                + (f", {len(report.file_errors)} file error(s)" if report.file_errors else "")
            )
