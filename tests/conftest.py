"""Test set-up: a real PostGIS test database (created by pytest-django from DATABASE_URL's server),
loaded once per session with the demo county through the same importers users run."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    # Browser tests use a live server, whose transactional teardown flushes the database: run them last
    # so the session's demo data stays available to every other test.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from django.core.management import call_command

    from geo_mz.demo.services import demo_load

    with django_db_blocker.unblock():
        call_command("roles_sync")
        demo_load()


@pytest.fixture
def make_user(db):
    from geo_mz.core import roles
    from geo_mz.core.services import user_create

    counter = {"n": 0}

    def _make(role: str = roles.ADMIN, jurisdiction_code: str = "421281", **extra):
        counter["n"] += 1
        return user_create(
            f"user{counter['n']}_{role}",
            password="pw-Test-12345",
            role=role,
            jurisdiction_code=jurisdiction_code,
            **extra,
        )

    return _make
