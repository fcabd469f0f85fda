"""Service-level permission checks. Every service that edits data calls these, so the rule holds in
the web UI, the API, the admin actions and management commands alike."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied

from geo_mz.core import roles
from geo_mz.core.jurisdiction import code_within

User = AbstractBaseUser | AnonymousUser

# The actor of genuine system jobs: the demo loader and management commands run by the operator on
# the server. Services take `user=SYSTEM` there and skip the role and jurisdiction checks. Request
# paths (web, API, admin actions) always pass the signed-in user, including to the services they call
# on the user's behalf (e.g. approval creating the feature), so every check runs.
SYSTEM = None


def user_roles(user: User) -> set[str]:
    if not user.is_authenticated:
        return set()
    return set(user.groups.values_list("name", flat=True))  # type: ignore[union-attr]


def is_admin(user: User) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or roles.ADMIN in user_roles(user)))  # type: ignore[union-attr]


def user_jurisdiction_code(user: User) -> str:
    profile = getattr(user, "profile", None) if user.is_authenticated else None
    return profile.jurisdiction_code if profile else ""


def require_role(user: User, app: str) -> None:
    """Refuse unless the user holds one of the roles allowed to edit `app` (see roles.EDIT_ROLES)."""
    if not user.is_authenticated:
        raise PermissionDenied("请先登录 / login required")
    if is_admin(user):
        return
    allowed = roles.EDIT_ROLES.get(app, (roles.ADMIN,))
    if not user_roles(user) & set(allowed):
        raise PermissionDenied(
            f"需要以下角色之一：{'、'.join(allowed)} / one of these roles is required: {', '.join(allowed)}"
        )


def require_jurisdiction(user: User, division_codes: Iterable[str], *, any_side: bool = False) -> None:
    """Refuse edits to divisions outside the user's jurisdiction.

    `division_codes` are the divisions the edit touches. By default every one must be in scope; with
    `any_side=True` one is enough (a boundary line belongs to both adjoining divisions).
    """
    codes = [c for c in division_codes if c]
    if not user.is_authenticated:
        raise PermissionDenied("请先登录 / login required")
    if user.is_superuser:
        return
    scope = user_jurisdiction_code(user)
    if not scope:
        raise PermissionDenied("用户未设置管辖区划 / the user has no jurisdiction")
    inside = [code_within(c, scope) for c in codes]
    ok = any(inside) if any_side else all(inside)
    if not ok:
        outside = [c for c, i in zip(codes, inside, strict=True) if not i]
        raise PermissionDenied(
            f"区划 {'、'.join(outside)} 不在您的管辖范围（{scope}）内 / "
            f"division(s) {', '.join(outside)} are outside your jurisdiction {scope}"
        )


def require_edit(user: User, app: str, division_codes: Iterable[str], *, any_side: bool = False) -> None:
    """Role + jurisdiction: the check every editing service starts with."""
    require_role(user, app)
    require_jurisdiction(user, division_codes, any_side=any_side)
