"""Coverage runs on Dask with the demo county: partitioned by township on a local cluster, the same
flags, totals and per-township rows as one process; the run records it; `manage.py coverage_dask`."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from io import StringIO
from typing import Any

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from geo_mz.coverage import partitioned, services

pytestmark = pytest.mark.django_db

TYPES = ["day_care", "elderly_complex"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    from distributed import LocalCluster

    local = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
    )
    try:
        yield local
    finally:
        services.dask_clients_close(local.scheduler_address)
        local.close()


def assert_same_results(on_dask: dict[str, Any], single: dict[str, Any]) -> None:
    assert np.array_equal(on_dask["covered"], single["covered"])
    assert np.array_equal(on_dask["counts"], single["counts"])
    assert on_dask["summary"] == single["summary"]
    assert on_dask["divisions"] == single["divisions"]
    assert on_dask["villages_uncovered"] == single["villages_uncovered"]


@pytest.mark.parametrize("mode", ["straight", "network"])
def test_four_partitions_on_a_local_cluster_equal_one_process(settings, cluster, mode: str) -> None:
    # given the scheduler configured as in production
    settings.GEO_MZ_DASK_SCHEDULER = cluster.scheduler_address
    # when the analysis runs over 4 partitions, and in one process
    on_dask = services.coverage_compute(TYPES, mode=mode, group="older", partitions=4)
    single = services.coverage_compute(TYPES, mode=mode, group="older", partitions=0)
    # then the flags, totals and per-township rows are identical
    assert single["dask"] is None
    assert on_dask["dask"]["partitions"] == 4 and on_dask["dask"]["scheduler"] == cluster.scheduler_address
    assert_same_results(on_dask, single)
    assert 0 < on_dask["summary"]["covered_weight"] < on_dask["summary"]["total_weight"]
    # and every township went to exactly one partition
    townships = [code for group in on_dask["dask"]["townships"] for code in group]
    assert sorted(townships) == sorted({row["code"] for row in single["divisions"]})
    assert sum(on_dask["dask"]["points"]) == single["covered"].shape[0]


def test_the_setting_alone_sends_runs_to_the_cluster(settings, cluster) -> None:
    settings.GEO_MZ_DASK_SCHEDULER = cluster.scheduler_address
    on_dask = services.coverage_compute(["day_care"], group="older")
    assert on_dask["dask"]["partitions"] == 2  # one per worker thread
    settings.GEO_MZ_DASK_SCHEDULER = ""
    single = services.coverage_compute(["day_care"], group="older")
    assert single["dask"] is None
    assert_same_results(on_dask, single)


def test_partitions_without_a_scheduler_run_on_local_threads(settings) -> None:
    settings.GEO_MZ_DASK_SCHEDULER = ""
    on_threads = services.coverage_compute(TYPES, group="older", partitions=4)
    assert on_threads["dask"]["scheduler"] == "threads" and on_threads["dask"]["partitions"] == 4
    assert_same_results(on_threads, services.coverage_compute(TYPES, group="older"))


def test_a_stored_run_records_that_it_ran_on_dask(cluster, make_user) -> None:
    from geo_mz.core import roles

    planner = make_user(roles.PLANNER)
    run = services.coverage_run(
        TYPES, group="older", user=planner, partitions=4, dask_scheduler=cluster.scheduler_address
    )
    assert run.parameters["dask"]["partitions"] == 4
    assert run.parameters["dask"]["scheduler"] == cluster.scheduler_address
    plain = services.coverage_run(TYPES, group="older", user=planner)
    assert "dask" not in plain.parameters
    assert run.summary == plain.summary and run.divisions == plain.divisions


def test_bad_partitions_and_an_unreachable_scheduler_are_refused(monkeypatch) -> None:
    monkeypatch.setattr(services, "DASK_CONNECT_TIMEOUT_S", 1)
    with pytest.raises(ValidationError, match="partitions"):
        services.coverage_compute(TYPES, partitions=-1)
    with pytest.raises(ValidationError, match="Dask"):
        services.coverage_compute(TYPES, partitions=2, dask_scheduler="tcp://127.0.0.1:9")


def test_management_command_starts_a_local_cluster_and_reports_identical_flags(settings) -> None:
    settings.GEO_MZ_DASK_SCHEDULER = ""
    out = StringIO()
    call_command(
        "coverage_dask", "--partitions", "4", "--workers", "2", stdout=out
    )  # raises on exit code != 0
    text = out.getvalue()
    assert "identical flags: yes" in text and "4 个分区" in text
    n = services.demand_points().xy.shape[0]
    assert f"{n} points" in text
    assert text.count("\n421281") >= 4


def test_management_command_fails_when_the_flags_differ(cluster, monkeypatch) -> None:
    real = partitioned.partitioned_coverage

    def one_flag_wrong(*args: Any, **kwargs: Any) -> partitioned.PartitionedCoverage:
        res = real(*args, **kwargs)
        covered = res.covered.copy()
        covered[0] = not covered[0]
        return dataclasses.replace(res, covered=covered)

    monkeypatch.setattr(partitioned, "partitioned_coverage", one_flag_wrong)
    out = StringIO()
    with pytest.raises(CommandError) as info:
        call_command("coverage_dask", "--scheduler", cluster.scheduler_address, stdout=out)
    assert info.value.returncode == 1
    assert "identical flags: no" in out.getvalue()
