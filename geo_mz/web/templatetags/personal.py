"""`{% personal key value domain division_code %}`: a personal field as the signed-in user may see it.

The rules are core/visibility.py's, the same as the REST API's: the value itself for the role that works
with `domain` data in `division_code` (and admins), masked (names: 张*三) or blank for everyone else.
Templates never print an owner, applicant, commenter, phone or officer any other way.
"""

from __future__ import annotations

from django import template

from geo_mz.core import visibility

register = template.Library()


@register.simple_tag(takes_context=True)
def personal(context, key: str, value, domain: str, division_code: str, other_code: str = "") -> str:
    """`other_code` is the second division of a boundary line (either side in scope is enough)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    codes = [division_code, other_code] if other_code else [division_code]
    if visibility.personal_visible(user, domain, codes, any_side=bool(other_code)):
        return value if value is not None else ""
    return visibility.mask_value(key, value) or ""


@register.simple_tag(takes_context=True)
def personal_visible(context, domain: str, division_code: str) -> bool:
    """For `{% personal_visible "addresses" code as show %}{% if show %}…`: whole blocks (links to PDFs)."""
    request = context.get("request")
    return visibility.personal_visible(getattr(request, "user", None), domain, [division_code])
