"""Name search planning (pure: no Django).

Short Chinese queries (one or two characters) defeat trigram indexes, so every name record carries
`tokens`, a GIN-indexed text array:

* each character of the 专名 (one-character queries; the generic is left out on purpose: a query
  for "路" alone would match most of the gazetteer and tell the officer nothing);
* each two-character window of the full name (two-character queries, and ≥3-character queries
  as an AND of their windows, then a substring filter);
* ``i:`` + every substring (up to 6 letters) of the pinyin initials, so "zsl" finds 中山路 and "sl"
  finds it too.

Latin queries also match the toneless pinyin by prefix (B-tree, ``varchar_pattern_ops``) and by
substring (trigram GIN) when they are at least 3 letters long. Chinese queries are widened with
their toneless pinyin so that homophones are found as well (钟山 finds 中山路), ranked after direct
hits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from geo_mz.core.limits import MAX_NAME_CHARS, ensure_length
from geo_mz.placenames import rules

MAX_INITIALS_TOKEN = 6
_HAN = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff]+$")
_LATIN = re.compile(r"^[a-z']+$")


@dataclass(frozen=True, slots=True)
class SearchPlan:
    """What to ask the database. `mode` is "han", "latin" or "empty"."""

    query: str
    mode: str
    tokens: tuple[str, ...] = ()  # all must be present (array containment)
    substring: str | None = None  # then filter name LIKE %substring% (≥3 characters)
    pinyin_prefixes: tuple[str, ...] = ()  # toneless pinyin prefixes (homophones or typed pinyin)
    pinyin_contains: str | None = None  # trigram substring match on pinyin (latin, ≥3 letters)
    fuzzy: bool = False  # allow trigram similarity on the pinyin when nothing else matches
    notes: tuple[str, ...] = field(default=())


def normalize_query(text: str) -> str:
    """Trim, drop inner whitespace and apostrophes' neighbours, fold full-width Latin to ASCII."""
    folded = "".join(chr(ord(c) - 0xFEE0) if 0xFF01 <= ord(c) <= 0xFF5E else c for c in text)
    return re.sub(r"\s+", "", folded).lower()


def name_tokens(name: str, specific: str, initials: str) -> list[str]:
    """The tokens stored with a name record (see module docstring)."""
    tokens: set[str] = set(specific)
    tokens.update(name[i : i + 2] for i in range(len(name) - 1))
    if len(name) == 1:
        tokens.add(name)
    for start in range(len(initials)):
        for end in range(start + 1, min(len(initials), start + MAX_INITIALS_TOKEN) + 1):
            tokens.add("i:" + initials[start:end])
    return sorted(tokens)


def plan(query: str) -> SearchPlan:
    """What to ask the database for ``query``; :class:`InputTooLong` past ``MAX_NAME_CHARS``
    (a guard: the pinyin of a long query is expanded per heteronym)."""
    q = normalize_query(ensure_length(query, MAX_NAME_CHARS, "q"))
    if not q:
        return SearchPlan(query=q, mode="empty")
    if _HAN.match(q):
        if len(q) <= 2:
            tokens: tuple[str, ...] = (q,)
            substring = None
        else:
            tokens = tuple(sorted({q[i : i + 2] for i in range(len(q) - 1)}))
            substring = q
        # One syllable sounds like hundreds of characters: homophones only from two characters on.
        prefixes = tuple(sorted(rules.toneless_variants(q, limit=8))) if len(q) >= 2 else ()
        return SearchPlan(query=q, mode="han", tokens=tokens, substring=substring, pinyin_prefixes=prefixes)
    if _LATIN.match(q):
        q = q.replace("'", "")
        # A single letter means "names starting with it" (pinyin prefix), not any initial anywhere.
        tokens = ("i:" + q,) if 2 <= len(q) <= MAX_INITIALS_TOKEN else ()
        return SearchPlan(
            query=q,
            mode="latin",
            tokens=tokens,
            pinyin_prefixes=(q,),
            pinyin_contains=q if len(q) >= 3 else None,
            fuzzy=len(q) >= 4,
        )
    return SearchPlan(
        query=q,
        mode="empty",
        notes=("请输入汉字或拼音（不能混用字母、数字和汉字）/ type Chinese characters or pinyin",),
    )
