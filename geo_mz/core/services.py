"""Core services: roles and users."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from geo_mz.core import roles
from geo_mz.core.models import UserProfile


def roles_sync() -> list[str]:
    """Create the role groups if missing. Returns the names created."""
    created = []
    for name in roles.ALL_ROLES:
        _, was_created = Group.objects.get_or_create(name=name)
        if was_created:
            created.append(name)
    return created


@transaction.atomic
def user_create(
    username: str,
    *,
    password: str,
    role: str,
    jurisdiction_code: str,
    is_superuser: bool = False,
    **extra: str,
):
    """Create a user with one role and a jurisdiction."""
    if role not in roles.ALL_ROLES:
        raise ValueError(f"未知角色 {role} / unknown role; valid: {', '.join(roles.ALL_ROLES)}")
    User = get_user_model()
    if is_superuser:
        user = User.objects.create_superuser(username=username, password=password, **extra)
    else:
        user = User.objects.create_user(username=username, password=password, **extra)
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    UserProfile.objects.create(user=user, jurisdiction_code=jurisdiction_code)
    return user


def demo_admin_ensure(username: str = "admin", jurisdiction_code: str = "421281") -> str | None:
    """Create the demo admin once with a random password and return it (None if it already exists).

    The password is printed once by the management command and never stored anywhere but the
    password hash.
    """
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        return None
    password = secrets.token_urlsafe(12)
    user_create(
        username,
        password=password,
        role=roles.ADMIN,
        jurisdiction_code=jurisdiction_code,
        is_superuser=True,
        email="",
    )
    return password
