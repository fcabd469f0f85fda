"""Jurisdiction scoping by division code (pure, no Django).

Chinese division codes are hierarchical, so "is division X inside jurisdiction J?" is a prefix test:
province 420000 covers every code starting "42", city 421200 covers "4212…", county 421281 covers
"421281…", and township/village codes cover themselves and their descendants.
"""

from __future__ import annotations

from collections.abc import Iterable


def jurisdiction_prefix(code: str) -> str:
    """The code prefix shared by a division and all its descendants."""
    code = code.strip()
    if len(code) == 6:
        if code.endswith("0000"):
            return code[:2]
        if code.endswith("00"):
            return code[:4]
    return code


def code_within(code: str, jurisdiction_code: str) -> bool:
    """True when division `code` lies within the division `jurisdiction_code` (or is it)."""
    return code.strip().startswith(jurisdiction_prefix(jurisdiction_code))


def any_code_within(codes: Iterable[str], jurisdiction_code: str) -> bool:
    """A boundary line belongs to both adjoining divisions: either side in scope is enough to see it."""
    return any(code_within(c, jurisdiction_code) for c in codes)
