"""Login throttling (django-axes + DRF throttle): the web login and POST /api/auth/token/."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from geo_mz.core import roles

PASSWORD = "pw-Test-12345"  # tests/conftest.py make_user
LOGIN = "/accounts/login/"
TOKEN = "/api/auth/token/"


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():
    """DRF keeps its request counts in the (process-wide) cache; axes keeps attempts in the database."""
    cache.clear()
    yield
    cache.clear()


def _web_login(client: Client, username: str, password: str, ip: str = "127.0.0.1", **extra):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def _token(client: Client, username: str, password: str, ip: str = "127.0.0.1", **extra):
    return client.post(
        TOKEN,
        {"username": username, "password": password},
        content_type="application/json",
        REMOTE_ADDR=ip,
        **extra,
    )


def test_web_login_sixth_attempt_is_refused_even_with_the_right_password(make_user):
    # Given an officer whose password was guessed wrong five times from one address
    user = make_user(roles.PLACENAME_OFFICER)
    client = Client()
    for _ in range(4):
        assert _web_login(client, user.username, "wrong-password").status_code == 200  # the form again
    fifth = _web_login(client, user.username, "wrong-password")
    assert fifth.status_code == 429

    # When the right password comes next from the same address
    sixth = _web_login(client, user.username, PASSWORD)

    # Then it is refused with the Chinese lockout page, not a session
    assert sixth.status_code == 429
    assert "_auth_user_id" not in client.session
    page = sixth.content.decode()
    assert "登录失败次数过多" in page and "分钟后再试" in page
    assert sixth["Retry-After"] == str(15 * 60)
    assert sixth["Content-Type"].startswith("text/html")


def test_token_endpoint_sixth_attempt_is_refused_even_with_the_right_password(make_user):
    user = make_user(roles.VIEWER)
    client = Client()
    for _ in range(4):
        response = _token(client, user.username, "wrong-password")
        assert response.status_code == 400
        assert response.json()["errors"]["non_field_errors"] == ["用户名或密码错误。"]
    assert _token(client, user.username, "wrong-password").status_code == 429

    locked = _token(client, user.username, PASSWORD)

    assert locked.status_code == 429
    body = locked.json()
    assert body["code"] == "locked_out" and "登录失败次数过多" in body["detail"]
    assert "token" not in body


def test_web_and_token_failures_count_together(make_user):
    # three wrong passwords on the web form and two on the API lock both doors for this user and address
    user = make_user(roles.VIEWER)
    client = Client()
    for _ in range(3):
        _web_login(client, user.username, "wrong-password")
    for _ in range(2):
        _token(client, user.username, "wrong-password")
    assert _web_login(client, user.username, PASSWORD).status_code == 429
    assert _token(client, user.username, PASSWORD).status_code == 429


def test_a_successful_login_resets_the_count(make_user):
    user = make_user(roles.VIEWER)
    client = Client()
    for _ in range(4):
        _web_login(client, user.username, "wrong-password")
    # Given a correct login after four failures
    assert _web_login(client, user.username, PASSWORD).status_code == 302
    client.logout()
    # When four more failures follow
    for _ in range(4):
        assert _web_login(client, user.username, "wrong-password").status_code == 200
    # Then the user is still not locked: the count started again
    assert _web_login(client, user.username, PASSWORD).status_code == 302
    assert _token(client, user.username, PASSWORD).status_code == 200


def test_other_users_and_other_addresses_are_not_locked(make_user):
    victim = make_user(roles.VIEWER)
    colleague = make_user(roles.VIEWER)
    client = Client()
    for _ in range(5):
        _web_login(client, victim.username, "wrong-password", ip="10.0.0.9")
    assert _web_login(client, victim.username, PASSWORD, ip="10.0.0.9").status_code == 429

    # another user from the same address signs in
    assert _web_login(Client(), colleague.username, PASSWORD, ip="10.0.0.9").status_code == 302
    assert _token(Client(), colleague.username, PASSWORD, ip="10.0.0.9").status_code == 200
    # and the locked user from their own office is not locked out by the attacker's address
    assert _web_login(Client(), victim.username, PASSWORD, ip="10.0.0.20").status_code == 302


def test_a_forged_forwarded_for_header_does_not_dodge_the_lockout(make_user):
    # Without GEO_MZ_PROXY_COUNT the client address is REMOTE_ADDR only
    user = make_user(roles.VIEWER)
    client = Client()
    for i in range(5):
        _web_login(client, user.username, "wrong-password", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
    response = _web_login(client, user.username, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert response.status_code == 429


def test_token_endpoint_is_rate_limited_per_address(make_user, monkeypatch):
    # Given a rate of 3 token requests a minute (spraying different usernames dodges the per-user lockout)
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "auth-token", "3/min")
    client = Client()
    statuses = [_token(client, f"nobody{i}", "wrong-password", ip="10.1.1.1").status_code for i in range(3)]
    assert statuses == [400, 400, 400]
    # When a fourth arrives within the minute, then it is throttled, with the usual error body
    fourth = _token(client, "nobody9", "wrong-password", ip="10.1.1.1")
    assert fourth.status_code == 429 and fourth["Retry-After"]
    assert fourth.json()["detail"]
    # and another address is not affected
    assert _token(client, "nobody9", "wrong-password", ip="10.1.1.2").status_code == 400


def test_token_endpoint_bounds_its_input():
    response = _token(Client(), "u" * 151, "x" * 129)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"username", "password"}
