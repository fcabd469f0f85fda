"""Rebuild the precomputed low-zoom clusters of the vector-tile layers and compact the change log.

Run after bulk imports, and periodically (e.g. cron every few minutes with --if-stale): until then a
small layer is clustered on the fly, and a large one (see tiles.LIVE_CLUSTER_LIMIT) keeps its
previous grid, marked `X-Tile-Grid: stale`.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from geo_mz.api import tiles


class Command(BaseCommand):
    help = "重建矢量切片低级别聚合网格（门牌）并压缩变更记录 / rebuild vector-tile cluster grids"

    def add_arguments(self, parser):
        clustered = [name for name, layer in tiles.LAYERS.items() if layer.clustered]
        parser.add_argument("--layer", action="append", choices=clustered, help="默认全部聚合图层")
        parser.add_argument("--if-stale", action="store_true", help="仅在数据版本变化后重建")

    def handle(self, *args, **options):
        names = options["layer"] or [name for name, layer in tiles.LAYERS.items() if layer.clustered]
        for name in names:
            state = tiles.grid_state(name)
            if (
                options["if_stale"]
                and state
                and state["config"] == tiles.grid_config()
                and state["version"] == tiles.layer_version(name, using="default")
            ):
                self.stdout.write(f"{name}: 网格已是最新 / up to date (version {state['version']})")
                continue
            try:
                result = tiles.grid_refresh(name)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(
                f"{name}: {result['points']} 点 → {result['cells']} 个网格单元（z0–"
                f"{tiles.cluster_below_zoom() - 1}），版本 {result['version']}，{result['seconds']} s"
            )
        removed = tiles.changes_compact()
        self.stdout.write(f"变更记录压缩 / change log compacted: {removed} rows folded")
