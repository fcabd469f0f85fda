"""Schemathesis over the whole OpenAPI schema, against the live test server (issue 14).

Given the schema served at /api/schema/ by the live server (demo county loaded), when Schemathesis
sends a bounded number of generated requests to every operation -- valid ones (positive) and ones that
break the schema (negative) -- anonymously and with an admin token, then no response is a server error
and every response matches the schema: its status code is documented, its content type is documented,
and its body validates against the documented schema.

Bounded and deterministic: ``derandomize`` fixes the examples, no shrinking, no example database.
Background jobs are only queued (GEO_MZ_JOBS_MODE=worker): no thread may write while the transactional
test flushes the database at the end.

Every operation runs; none is excluded.
"""

from __future__ import annotations

import hypothesis
import hypothesis.errors
import pytest
import requests
import schemathesis
from django.test import override_settings
from hypothesis import HealthCheck, Phase, given
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

MAX_EXAMPLES = 3  # per operation and generation mode: ~120 operations x 2 modes x 2 users, ~4 min
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def live_demo(live_server, transactional_db):
    """The demo county in the live server's database (a transactional test starts from a flushed one)."""
    from geo_mz.core.services import roles_sync
    from geo_mz.demo.services import demo_load
    from geo_mz.placenames.services import feature_kinds_ensure

    roles_sync()
    feature_kinds_ensure()
    demo_load()
    return live_server


def _admin_token() -> str:
    from rest_framework.authtoken.models import Token

    from geo_mz.core import roles
    from geo_mz.core.services import user_create

    user = user_create("fuzz_admin", password="pw-Fuzz-12345", role=roles.ADMIN, jurisdiction_code="421281")
    return Token.objects.create(user=user).key


def _fuzz_operation(operation, session: requests.Session, base_url: str, mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: failures are reported as found
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    def run(case):
        case.call_and_validate(base_url=base_url, session=session, checks=CHECKS, timeout=60)

    run()


def _fuzz_all(base_url: str, headers: dict[str, str]) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{base_url}/api/schema/?format=json")
    session = requests.Session()
    session.headers.update(headers)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz_operation(operation, session, base_url, mode)
            except hypothesis.errors.Unsatisfiable:
                # Negative mode on an operation with nothing to break (no parameters, or only free
                # strings): there is no invalid request to send, which is not a failure of the API.
                if mode is not GenerationMode.NEGATIVE:
                    raise
            except Exception as exc:  # collect every operation's failure, then report them together
                first_line = str(exc).strip().splitlines()[:12]
                failures.append(
                    f"{operation.method.upper()} {operation.path} [{mode.value}]: " + "\n".join(first_line)
                )
    assert operations >= 100, f"only {operations} operations in the schema"
    return failures


@pytest.mark.django_db(transaction=True)
@override_settings(GEO_MZ_JOBS_MODE="worker", AXES_ENABLED=False)
@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_every_operation_answers_without_server_errors_and_as_documented(live_demo, who):
    headers = {"Authorization": f"Token {_admin_token()}"} if who == "admin" else {}
    failures = _fuzz_all(live_demo.url, headers)
    assert not failures, f"{len(failures)} operations failed:\n\n" + "\n\n".join(failures)
