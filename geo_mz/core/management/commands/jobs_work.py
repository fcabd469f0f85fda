import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from geo_mz.core import jobs


class Command(BaseCommand):
    help = (
        "Work the background job queue (exports, bulk imports). Run one or more of these with "
        "GEO_MZ_JOBS_MODE=worker; jobs are claimed with SKIP LOCKED, so workers never collide."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run the queued jobs, then stop")
        parser.add_argument("--poll", type=float, default=2.0, help="seconds between polls of an empty queue")

    def handle(self, *args, **opts):
        recovered = jobs.jobs_recover()
        if recovered:
            self.stdout.write(f"[jobs] marked {recovered} interrupted job(s) as failed")
        purged = jobs.jobs_purge()
        if purged:
            self.stdout.write(f"[jobs] purged {purged} old job(s)")
        while True:
            ran = 0
            close_old_connections()
            while jobs.job_work_one():
                close_old_connections()
                ran += 1
            if ran:
                self.stdout.write(f"[jobs] ran {ran} job(s)")
            if opts["once"]:
                return
            time.sleep(opts["poll"])
