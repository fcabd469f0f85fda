"""Background jobs on PostgreSQL (core/jobs.py): outcomes, progress, failure reporting, concurrent
workers that never share a job, recovery of interrupted jobs and purging of old ones."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from geo_mz.core import jobs
from geo_mz.core.models import Job, JobStatus


@jobs.job_handler("test_count")
def _count(ctx: jobs.JobContext):
    n = ctx.job.params["n"]
    ctx.progress(0, n, "counting")
    path = ctx.workdir / "out.txt"
    path.write_text("\n".join(str(i) for i in range(n)), encoding="utf-8")
    ctx.progress(n)
    return {"n": n}, path, "计数.txt"


@jobs.job_handler("test_fail")
def _fail(ctx: jobs.JobContext):
    raise jobs.JobError("第 3 行 字段 门牌号：不能为空 / row 3 field number: required")


@jobs.job_handler("test_crash")
def _crash(ctx: jobs.JobContext):
    return 1 / 0


@pytest.fixture(autouse=True)
def _worker_mode(settings, tmp_path):
    settings.GEO_MZ_JOBS_MODE = "worker"
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.django_db
def test_a_job_runs_to_done_with_its_file_progress_and_result():
    job = jobs.job_submit("test_count", {"n": 5})
    assert job.status == JobStatus.QUEUED and job.percent is None
    assert jobs.job_work_one() is True
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.result == {"n": 5}
    assert (job.progress, job.total, job.percent, job.message) == (5, 5, 100.0, "counting")
    assert job.file_name == "计数.txt" and Path(job.file.path).read_text(encoding="utf-8").endswith("4")
    assert job.started_at <= job.finished_at
    assert jobs.job_work_one() is False  # queue empty


@pytest.mark.django_db
def test_failures_keep_the_users_message_and_unexpected_errors_are_named():
    a = jobs.job_submit("test_fail", {})
    b = jobs.job_submit("test_crash", {})
    while jobs.job_work_one():
        pass
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.status == b.status == JobStatus.FAILED
    assert "第 3 行" in a.error and "row 3" in a.error
    assert "division by zero" in b.error
    assert not a.file and not b.file


@pytest.mark.django_db
def test_unknown_kind_is_refused_at_submission():
    with pytest.raises(ValueError, match="unknown job kind"):
        jobs.job_submit("no_such_kind", {})


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_never_claim_the_same_job():
    ids = {jobs.job_submit("test_count", {"n": 1}).pk for _ in range(6)}
    claimed: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(3)

    def worker():
        barrier.wait()
        try:
            while (job := jobs.job_claim()) is not None:
                with lock:
                    claimed.append(job.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(ids)  # each exactly once
    assert set(Job.objects.filter(pk__in=ids).values_list("status", flat=True)) == {JobStatus.RUNNING}


@pytest.mark.django_db
def test_interrupted_jobs_are_failed_and_old_jobs_purged_with_their_files():
    stuck = jobs.job_submit("test_count", {"n": 1})
    Job.objects.filter(pk=stuck.pk).update(
        status=JobStatus.RUNNING, started_at=timezone.now() - timezone.timedelta(days=1)
    )
    assert jobs.jobs_recover() == 1
    stuck.refresh_from_db()
    assert stuck.status == JobStatus.FAILED and "restart" in stuck.error
    done = jobs.job_submit("test_count", {"n": 2})
    jobs.job_work_one()
    done.refresh_from_db()
    path = Path(done.file.path)
    assert path.exists()
    assert jobs.jobs_purge(keep_days=7) == 0
    Job.objects.filter(pk__in=[done.pk, stuck.pk]).update(
        finished_at=timezone.now() - timezone.timedelta(days=8)
    )
    assert jobs.jobs_purge(keep_days=7) == 2
    assert not path.exists() and not Job.objects.filter(pk__in=[done.pk, stuck.pk]).exists()
