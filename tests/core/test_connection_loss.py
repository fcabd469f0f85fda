"""A database restart must not cost users an error: pooled connections (CONN_MAX_AGE) are checked
before a request uses them (CONN_HEALTH_CHECKS), so the next request after every backend was
terminated gets a fresh connection. Tested against a real server process, not the test client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.django_db
def test_after_every_backend_is_terminated_the_next_requests_succeed():
    d = connection.settings_dict
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{d['USER']}:{d['PASSWORD']}@{d['HOST'] or '127.0.0.1'}:{d['PORT'] or 5432}/{d['NAME']}",
        "DJANGO_CONN_MAX_AGE": "600",
        "DJANGO_DEBUG": "1",
    }
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", "--nothreading", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/api/divisions/?level=township"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(url) == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.3)
        # the server now holds a pooled connection; a database restart kills it
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert cur.fetchone()[0] >= 1
        statuses = [_get(url) for _ in range(3)]
        assert statuses == [200, 200, 200]
    finally:
        server.terminate()
        server.wait(timeout=20)
