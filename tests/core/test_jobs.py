"""Background jobs on PostgreSQL (core/jobs.py): outcomes, progress, failure reporting, concurrent
workers that never share a job, recovery of interrupted jobs and purging of old ones."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
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
    assert stuck.status == JobStatus.FAILED and stuck.error == jobs.INTERRUPTED
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


@jobs.job_handler("test_sleep")
def _sleep(ctx: jobs.JobContext):
    time.sleep(ctx.job.params["seconds"])
    return {"slept": ctx.job.params["seconds"]}


@pytest.mark.django_db
def test_a_fresh_heartbeat_keeps_an_old_job_and_a_stale_one_is_failed():
    """Recovery looks at the heartbeat, not at when the job started: a long job that is alive stays."""
    long_alive = jobs.job_submit("test_count", {"n": 1})
    dead = jobs.job_submit("test_count", {"n": 1})
    day_ago = timezone.now() - timezone.timedelta(days=1)
    Job.objects.filter(pk=long_alive.pk).update(
        status=JobStatus.RUNNING, started_at=day_ago, heartbeat_at=timezone.now()
    )
    Job.objects.filter(pk=dead.pk).update(
        status=JobStatus.RUNNING,
        started_at=day_ago,
        heartbeat_at=timezone.now() - timezone.timedelta(minutes=5),
    )
    assert jobs.jobs_recover(stale_after_s=60) == 1
    assert Job.objects.get(pk=long_alive.pk).status == JobStatus.RUNNING
    assert Job.objects.get(pk=dead.pk).status == JobStatus.FAILED


@pytest.mark.django_db(transaction=True)  # the heartbeat thread has its own connection
def test_the_heartbeat_is_stamped_while_the_handler_runs(settings):
    settings.GEO_MZ_JOBS_HEARTBEAT_S = 0.2
    job = jobs.job_submit("test_sleep", {"seconds": 1.0})
    claimed = jobs.job_claim()
    first_beat = Job.objects.get(pk=job.pk).heartbeat_at
    jobs.job_run(claimed)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    # the beat came from the heartbeat thread's own connection while the handler slept
    assert job.heartbeat_at > first_beat


@pytest.mark.django_db
def test_retry_queues_the_same_work_again_and_links_back():
    failed = jobs.job_submit("test_fail", {"x": 1})
    jobs.job_work_one()
    failed.refresh_from_db()
    retry = jobs.job_retry(failed)
    assert retry.status == JobStatus.QUEUED and retry.params == {"x": 1}
    assert Job.objects.get(pk=retry.pk).retry_of_id == failed.pk
    done = jobs.job_submit("test_count", {"n": 1})
    jobs.job_work_one()
    jobs.job_work_one()
    with pytest.raises(jobs.JobError):
        jobs.job_retry(Job.objects.get(pk=done.pk))


WORKER = """
import django, sys
django.setup()
from tests.core import test_jobs  # registers the test handlers
from geo_mz.core import jobs
jobs.job_work_one()
"""


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_leaves_a_job_that_the_next_process_start_fails_and_retry_completes(tmp_path):
    """kill -9 a real worker process mid-job; a new web process (importing geo_mz.wsgi runs the start-up
    housekeeping) marks the job failed as interrupted; a retry then runs to done."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "GEO_MZ_JOBS_MODE": "worker",
        "GEO_MZ_JOBS_HEARTBEAT_S": "0.2",
        "GEO_MZ_JOBS_STALE_S": "2",
        "GEO_MZ_MEDIA_ROOT": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "geo_mz.settings",
    }
    job = jobs.job_submit("test_sleep", {"seconds": 120})
    root = Path(__file__).resolve().parents[2]
    worker = subprocess.Popen([sys.executable, "-c", WORKER], cwd=root, env=env)
    try:
        deadline = time.monotonic() + 60
        while Job.objects.get(pk=job.pk).heartbeat_at is None or (
            Job.objects.get(pk=job.pk).heartbeat_at <= Job.objects.get(pk=job.pk).started_at
        ):
            assert time.monotonic() < deadline, "the worker never started the job"
            time.sleep(0.2)
        assert glob.glob(f"{tempfile.gettempdir()}/geo-mz-job-{job.pk}-*")  # its work directory
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING  # what users saw before: stuck
        time.sleep(2.5)  # the heartbeat is now older than GEO_MZ_JOBS_STALE_S
        subprocess.run(
            [sys.executable, "-c", "import time, geo_mz.wsgi; time.sleep(3)"],
            cwd=root,
            env=env,
            check=True,
            timeout=60,
        )
    finally:
        if worker.poll() is None:
            worker.kill()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error == jobs.INTERRUPTED
    assert not glob.glob(f"{tempfile.gettempdir()}/geo-mz-job-{job.pk}-*")  # partial files removed
    Job.objects.filter(pk=job.pk).update(params={"seconds": 0.1})
    job.refresh_from_db()
    retry = jobs.job_retry(job)
    assert jobs.job_work_one() is True
    retry.refresh_from_db()
    assert retry.status == JobStatus.DONE and retry.result == {"slept": 0.1}


def _database_url() -> str:
    d = connection.settings_dict
    return (
        f"postgres://{d['USER']}:{d['PASSWORD']}@{d['HOST'] or '127.0.0.1'}:{d['PORT'] or 5432}/{d['NAME']}"
    )
