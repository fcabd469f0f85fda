"""Run a coverage analysis partitioned by township on Dask and check it against one process.

    manage.py coverage_dask --types day_care,elderly_complex --partitions 4
    manage.py coverage_dask --scheduler tcp://10.0.0.5:8786 --mode network

The scheduler is --scheduler, else GEO_MZ_DASK_SCHEDULER, else a local cluster of --workers worker
processes started for the run.  Prints the result per township and whether the covered flags (and
the number of facilities reaching each point) are identical to the single-process run; exits with
status 1 when they are not.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from geo_mz.coverage import services
from geo_mz.facilities.models import DemandGroup


class Command(BaseCommand):
    help = "覆盖分析按乡镇分区在 Dask 上运行，并与单进程结果逐位比较 / coverage on Dask by township, checked against one process"

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--types", default="day_care,elderly_complex", help="设施类型代码，逗号分隔 / facility type codes"
        )
        parser.add_argument(
            "--mode", choices=services.MODES, default="straight", help="straight 直线 / network 路网"
        )
        parser.add_argument(
            "--group", default=DemandGroup.OLDER, help="服务对象 / demand group (default older)"
        )
        parser.add_argument(
            "--radius", type=float, default=None, help="统一服务半径（米）/ one radius for all, metres"
        )
        parser.add_argument(
            "--partitions", type=int, default=4, help="分区数 / number of partitions (default 4)"
        )
        parser.add_argument(
            "--scheduler",
            default=None,
            help="Dask 调度器地址 / scheduler address, e.g. tcp://host:8786 (default: GEO_MZ_DASK_SCHEDULER, "
            "else a local cluster)",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=2,
            help="本地集群的工作进程数 / local cluster worker processes (default 2)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        types = [t.strip() for t in options["types"].split(",") if t.strip()]
        if options["partitions"] < 1:
            raise CommandError("分区数至少为 1 / --partitions must be at least 1")
        if options["workers"] < 1:
            raise CommandError("工作进程数至少为 1 / --workers must be at least 1")
        kwargs: dict[str, Any] = {
            "mode": options["mode"],
            "group": options["group"],
            "radius_m": options["radius"],
        }
        address = (options["scheduler"] or services.dask_scheduler_setting()).strip()
        cluster = None
        if not address:
            from distributed import LocalCluster

            self.stdout.write(
                f"启动本地 Dask 集群 / starting a local Dask cluster ({options['workers']} workers)"
            )
            cluster = LocalCluster(
                n_workers=options["workers"],
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.ERROR,
            )
            address = cluster.scheduler_address
        try:
            on_dask = services.coverage_compute(
                types, partitions=options["partitions"], dask_scheduler=address, **kwargs
            )
            single = services.coverage_compute(types, partitions=0, **kwargs)
        except ValidationError as exc:
            raise CommandError("；".join(str(m) for m in exc.messages)) from exc
        finally:
            services.dask_clients_close(address)
            if cluster is not None:
                cluster.close()
        self._report(on_dask, single)

    def _report(self, on_dask: dict[str, Any], single: dict[str, Any]) -> None:
        info = on_dask["dask"] or {}
        part_of = {code: p for p, codes in enumerate(info.get("townships", [])) for code in codes}
        self.stdout.write(
            f"Dask {info.get('scheduler')}: {info.get('partitions')} 个分区 / partitions, "
            f"需求点 / points {info.get('points')}, 设施 / facilities per task {info.get('facilities')}"
        )
        self.stdout.write(
            f"{'代码 code':<14}{'分区':>4} {'需求点':>8}{'覆盖点':>8}{'覆盖人数':>12}{'覆盖率':>8}  名称 name"
        )
        for row in on_dask["divisions"]:
            share = "—" if row["share"] is None else f"{row['share']:.1%}"
            self.stdout.write(
                f"{row['code']:<14}{part_of.get(row['code'], '—'):>4} {row['n_points']:>8}{row['n_covered']:>8}"
                f"{row['covered_weight']:>12.1f}{share:>8}  {row['name']}"
            )
        s = on_dask["summary"]
        self.stdout.write(
            f"合计 / total: 覆盖 {s['covered_weight']:.1f} / {s['total_weight']:.1f}（{s['share']}），"
            f"覆盖计算 / coverage: Dask {on_dask['runtime_ms'] / 1000:.2f} s（首次含工作进程预热 / the first run warms "
            f"the workers up），单进程 / one process {single['runtime_ms'] / 1000:.2f} s"
        )
        n = int(single["covered"].shape[0])
        flags = bool(np.array_equal(on_dask["covered"], single["covered"]))
        counts = bool(np.array_equal(on_dask["counts"], single["counts"]))
        rows = on_dask["divisions"] == single["divisions"] and on_dask["summary"] == single["summary"]
        yes = {True: "yes", False: "no"}
        self.stdout.write(
            f"identical flags: {yes[flags]}, {n} points "
            f"(facilities reaching each point: {yes[counts]}; per-township rows and totals: {yes[rows]})"
        )
        if not (flags and counts and rows):
            differ = int((on_dask["covered"] != single["covered"]).sum())
            raise CommandError(
                f"Dask 结果与单进程不一致：{differ} 个点的覆盖标志不同 / the Dask run differs from one process "
                f"({differ} covered flags differ)",
                returncode=1,
            )
