"""Search pages with over-long queries (issue 14): a message beside the search, never a 500 or
unbounded work."""

from __future__ import annotations

import pytest
from django.test import Client

from geo_mz.core import roles
from geo_mz.core.limits import MAX_NAME_CHARS, MAX_TEXT_CHARS
from tests.timing import best_of

pytestmark = pytest.mark.django_db

HUGE = "行长重乐一1号之" * 1_250  # 10,000 characters


@pytest.mark.parametrize(
    ("path", "limit"), [("/placenames/", MAX_NAME_CHARS), ("/addresses/", MAX_TEXT_CHARS)]
)
def test_given_10000_character_query_when_search_page_then_message_not_error(
    client: Client, make_user, path: str, limit: int
) -> None:
    client.force_login(make_user(roles.ADMIN))
    client.get(path)  # warm up templates

    response, elapsed = best_of(lambda: client.get(path, {"q": HUGE}))

    assert response.status_code == 200
    assert f"不能超过 {limit} 个字符" in response.content.decode()
    assert elapsed < 1.0, f"{elapsed:.3f} s"  # the page renders other panels; the search itself is skipped


def test_given_previous_address_over_the_limit_when_address_case_posted_then_message_not_error(
    client: Client, make_user
) -> None:
    from geo_mz.addresses.models import AddressCase

    client.force_login(make_user(roles.ADMIN))
    before = AddressCase.objects.count()

    response = client.post(
        "/addresses/cases/new/",
        {
            "owner": "测试单位",
            "owner_kind": "unit",
            "lon": "113.905",
            "lat": "29.725",
            "previous_address": "人民路1号" * 41,  # 205 characters: the column holds 200
        },
    )

    assert response.status_code == 200
    assert f"不能超过 {MAX_TEXT_CHARS} 个字符" in response.content.decode()
    assert AddressCase.objects.count() == before
