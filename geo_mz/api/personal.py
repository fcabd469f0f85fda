"""The REST side of core/visibility.py: a DRF permission for house-number points and the one call each
payload with personal data goes through before it is returned."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission

from geo_mz.core import visibility


class AddressesReadable(BasePermission):
    """Reads of house-number points follow settings.GEO_MZ_ADDRESSES_PUBLIC (writes have their own
    permissions)."""

    message = "门牌数据需要登录后查看 / house numbers need a signed-in user"

    def has_permission(self, request, view) -> bool:
        return request.method not in SAFE_METHODS or visibility.addresses_readable(request.user)


def scoped(body: Any, user, domain: str, division_codes: Iterable[str], *, any_side: bool = False) -> Any:
    """`body` as `user` may see it: personal fields masked unless the user works with `domain` data in
    the record's divisions (see core/visibility.py for the rules)."""
    return visibility.redact(
        body, visibility.personal_visible(user, domain, division_codes, any_side=any_side)
    )
