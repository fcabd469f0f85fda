"""The Django admin is a superuser-only tool (core/admin_site.py): it does not enforce jurisdiction."""

from __future__ import annotations

import pytest
from django.test import Client

from geo_mz.core import roles


@pytest.mark.parametrize(
    ("role", "extra"),
    [
        (roles.ADMIN, {"is_staff": True}),  # 管理员 role, even flagged as staff
        (roles.ADMIN, {}),
        (roles.PLACENAME_OFFICER, {"is_staff": True}),
        (roles.VIEWER, {}),
    ],
)
def test_non_superusers_are_kept_out_of_the_admin(make_user, role, extra):
    user = make_user(role)
    if extra:
        type(user).objects.filter(pk=user.pk).update(**extra)
        user.refresh_from_db()
    client = Client()
    client.force_login(user)

    for path in [
        "/admin/",
        "/admin/placenames/roadsegment/",
        "/admin/auth/user/",
        "/admin/core/userprofile/",
    ]:
        response = client.get(path)
        # the admin sends them to its login page (302) and never renders a list or form
        assert response.status_code == 302, (path, response.status_code)
        assert response["Location"].startswith("/admin/login/")
    assert "管理后台" not in client.get("/").content.decode()


def test_a_superuser_uses_the_admin(make_user):
    user = make_user(roles.ADMIN, is_superuser=True)
    client = Client()
    client.force_login(user)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/placenames/roadsegment/").status_code == 200
    # the lockout records (django-axes) are there to unlock a user early
    assert client.get("/admin/axes/accessattempt/").status_code == 200
    assert "管理后台" in client.get("/").content.decode()


def test_the_admin_login_form_does_not_open_it_to_a_non_superuser(make_user):
    user = make_user(roles.ADMIN)
    type(user).objects.filter(pk=user.pk).update(is_staff=True)
    client = Client()
    client.post("/admin/login/?next=/admin/", {"username": user.username, "password": "pw-Test-12345"})
    # signing in through the admin's own form (is_staff passes it) still does not open the admin
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert client.get("/admin/core/userprofile/").status_code == 302
