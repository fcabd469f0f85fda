"""Who may read personal data, and what everyone else sees instead: the one place these rules live.

Personal data in geo-mz are the names and phone numbers of the people a record is about or was made
by: house-number owners and their phones (address cases, certificates), naming-case applicants and
notice commenters, the officers who acted on a case, joint-inspection participants and confirmers.

Rules (OWASP ASVS V8, least privilege):

* Anonymous users never see them.
* A signed-in user sees them only for records of their own jurisdiction (the record's division lies
  within the user's, see core.jurisdiction) and only when they hold the role that works with that data
  (roles.EDIT_ROLES of the domain: place-name officers for naming cases and house numbers, the boundary
  team for inspections). Admins and superusers see them everywhere.
* Everyone else gets the same payload with the personal fields masked (names: 张*三) or blanked
  (phones, officers' usernames, free-text fields that hold names), so clients never break on a missing
  key and nothing can be reassembled from the masked form.

Serializers, views, templates (the `personal` template filters) and exporters all go through
:func:`personal_visible` and :func:`redact`; none decides by hand.

Whether house-number *points* (not personal in themselves, but they locate households) are public is a
separate switch, ``settings.GEO_MZ_ADDRESSES_PUBLIC``, read by :func:`addresses_readable`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings

from geo_mz.core import roles
from geo_mz.core.jurisdiction import any_code_within, code_within
from geo_mz.core.permissions import User, is_admin, user_jurisdiction_code, user_roles

# Which roles work with the personal data of which domain (a subset of roles.EDIT_ROLES on purpose:
# a planner edits facilities, which carry no personal data).
PERSONAL_DATA_ROLES: dict[str, tuple[str, ...]] = {
    "placenames": roles.EDIT_ROLES["placenames"],
    "addresses": roles.EDIT_ROLES["addresses"],
    "boundaries": roles.EDIT_ROLES["boundaries"],
}

MASK = "*"
# Payload keys that hold personal data, and how they are hidden: "name" → masked (张*三), "blank" → "".
PERSONAL_KEYS: dict[str, str] = {
    "owner": "name",
    "applicant": "name",
    "commenter": "name",
    "holder": "name",
    "phone": "blank",
    "actor": "blank",
    "previous_address": "blank",
    "previous_source": "blank",
    "participants_a": "blank",
    "participants_b": "blank",
    "confirmed_a_by": "blank",
    "confirmed_b_by": "blank",
}


def personal_visible(
    user: User | None, domain: str, division_codes: Iterable[str], *, any_side: bool = False
) -> bool:
    """May `user` read the personal data of a `domain` record that lies in `division_codes`?

    `any_side=True` for boundary lines, which belong to both adjoining divisions. A record without a
    division code is visible to admins only.
    """
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser or is_admin(user):  # type: ignore[union-attr]
        return True
    if not user_roles(user) & set(PERSONAL_DATA_ROLES.get(domain, ())):
        return False
    scope = user_jurisdiction_code(user)
    codes = [c for c in division_codes if c]
    if not scope or not codes:
        return False
    if any_side:
        return any_code_within(codes, scope)
    return all(code_within(c, scope) for c in codes)


def mask_name(name: str) -> str:
    """张三 → 张*, 张小三 → 张*三, 赤壁市某某公司 → 赤*****司: first and last character kept (last only
    from three characters on), every other character one mask. Latin names mask the same way."""
    name = (name or "").strip()
    if len(name) <= 1:
        return MASK if name else ""
    if len(name) == 2:
        return name[0] + MASK
    return name[0] + MASK * (len(name) - 2) + name[-1]


def mask_value(key: str, value: Any) -> Any:
    how = PERSONAL_KEYS.get(key)
    if how is None or value in (None, ""):
        return value
    if how == "name":
        return mask_name(str(value))
    return ""


def redact(body: Any, visible: bool) -> Any:
    """`body` (dicts and lists, nested) with every PERSONAL_KEYS field hidden, unless `visible`.

    Returns a new structure; the input is not modified."""
    if visible:
        return body
    if isinstance(body, Mapping):
        return {k: mask_value(k, v) if k in PERSONAL_KEYS else redact(v, False) for k, v in body.items()}
    if isinstance(body, list | tuple):
        return [redact(v, False) for v in body]
    return body


def addresses_public() -> bool:
    """settings.GEO_MZ_ADDRESSES_PUBLIC: are house-number points readable without signing in?"""
    return bool(getattr(settings, "GEO_MZ_ADDRESSES_PUBLIC", False))


def addresses_readable(user: User | None) -> bool:
    """House-number points (REST, tiles, OGC, exports): public when the setting says so, else any
    signed-in user."""
    return addresses_public() or bool(user is not None and user.is_authenticated)
