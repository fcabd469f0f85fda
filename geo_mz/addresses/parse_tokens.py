"""Number tokens of an address tail, found in linear time (used by :mod:`geo_mz.addresses.parse`).

Pure module: standard library only, no Django (DESIGN §1).

The parser used to find these tokens with one regular expression whose alternatives nested
quantifiers over the same characters (``[0-9一二…]*[一二…][0-9一二…]*``). Python's backtracking
engine then tried every split of a run of numerals at every start position: 400 characters took
2.8 s and 800 took 20 s (issue 14). This scanner reads the same tokens, with the same leftmost,
first-alternative-wins choices as that expression (a differential test in
``tests/pure/test_address_parse.py`` compares them), but measures every run of digits, of
numerals and of both once, right to left, so that each start position costs O(1): O(n) time and
memory for a text of n characters, whatever its shape.

Token kinds, tried in this order at each position (the first that fits wins):

* ``triple``: building-unit-room ``3-2-301`` (optionally ``室``), not followed by a digit or ``-``;
* ``bad``: a number written with Chinese numerals that normalisation could not turn into digits
  (``1十5号``, ``十十号``), directly followed by a unit word;
* ``number``: digits with an optional stem before (``甲15号``), an optional infill suffix
  (``-1``, ``A``, ``之一``), an optional unit word and an optional ``之…`` after the unit.

A unit word followed by a road or division word belongs to a name (``二号路``, ``三号村``).
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

__all__ = [
    "CN_NUMERAL_CHARS",
    "NAMES_AFTER_UNIT",
    "STEMS",
    "UNIT_WORDS",
    "Token",
    "tail_tokens",
]

#: Every character of a Chinese numeral (digits and the units 十百千).
CN_NUMERAL_CHARS: Final = "〇零一二两三四五六七八九十百千"
#: Stems written before a house number as its infill suffix: 甲15号.
STEMS: Final = "甲乙丙丁戊己庚辛壬癸"
#: Unit words, longest alternative first where one is a prefix of another (号楼 before 号).
UNIT_WORDS: Final[tuple[str, ...]] = ("号楼", "号", "幢", "栋", "楼", "单元", "室", "户", "组", "层")
#: A unit word followed by one of these is part of a name: 二号路, 三号村, 五号桥.
NAMES_AFTER_UNIT: Final[tuple[str, ...]] = (
    "路",
    "街",
    "巷",
    "大道",
    "弄",
    "胡同",
    "村",
    "镇",
    "乡",
    "社区",
    "桥",
)

_DIGITS: Final = frozenset("0123456789")
_NONZERO: Final = frozenset("123456789")
_CN: Final = frozenset(CN_NUMERAL_CHARS)
_NUMERALS: Final = _DIGITS | _CN
_ASCII_LETTERS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_STEM_SET: Final = frozenset(STEMS)
_UNIT_FIRST: Final = frozenset(word[0] for word in UNIT_WORDS)
_DIGIT_RUN: Final = re.compile(r"[0-9]+")
_CN_RUN: Final = re.compile(f"[{CN_NUMERAL_CHARS}]+")
_NUMERAL_RUN: Final = re.compile(f"[0-9{CN_NUMERAL_CHARS}]+")


class Token(NamedTuple):
    """One number token: ``text == tail[start:end]``; absent parts are ``None``.

    ``triple`` is (building, unit, room) digits; ``bad`` marks an unreadable number and
    ``bad_unit`` its unit word. For a ``number`` token, ``n`` holds its digits and ``stem``,
    ``dash``, ``letter``, ``zhi`` (之 before the unit), ``unit`` and ``zhi_after`` the rest.
    """

    start: int
    end: int
    text: str
    triple: tuple[str, str, str] | None = None
    bad: bool = False
    bad_unit: str | None = None
    stem: str | None = None
    n: str | None = None
    dash: str | None = None
    letter: str | None = None
    zhi: str | None = None
    unit: str | None = None
    zhi_after: str | None = None


class _Scanner:
    """Run ends measured once; every ``_at_*`` method is O(1) (unit words are a fixed set)."""

    __slots__ = ("cn_end", "digit_end", "n", "numeral_end", "s")

    def __init__(self, s: str) -> None:
        n = len(s)
        self.s, self.n = s, n
        # x_end[i] = end of the maximal run of x starting at i (i itself when s[i] is not x); one
        # extra slot so that x_end[n] == n. Runs are found by simple character-class regexes (no
        # backtracking) and filled by slice assignment: O(n) in C rather than a Python loop.
        ends = []
        for run in (_DIGIT_RUN, _CN_RUN, _NUMERAL_RUN):
            end = list(range(n + 1))
            for m in run.finditer(s):
                a, b = m.span()
                end[a:b] = [b] * (b - a)
            ends.append(end)
        self.digit_end, self.cn_end, self.numeral_end = ends

    def char(self, i: int) -> str:
        return self.s[i] if i < self.n else ""

    def unit(self, i: int) -> str | None:
        """The unit word at ``i`` that is not followed by a name word, else ``None``."""
        s = self.s
        if self.char(i) not in _UNIT_FIRST:
            return None
        for word in UNIT_WORDS:
            if s.startswith(word, i) and not s.startswith(NAMES_AFTER_UNIT, i + len(word)):
                return word
        return None

    def continues(self, i: int) -> tuple[str | None, int] | None:
        """After a number (and its suffix): a unit word, or anything that does not start one.

        ``(unit, end)``; ``None`` when a unit word starts at ``i`` but belongs to a name (``号路``).
        """
        if self.char(i) not in _UNIT_FIRST:
            return None, i
        word = self.unit(i)
        if word is not None:
            return word, i + len(word)
        if self.s.startswith(UNIT_WORDS, i):
            return None
        return None, i

    def zhi_after(self, i: int) -> str | None:
        """``之`` + a number at ``i`` (the longest one: nothing follows it in the token)."""
        s = self.s
        if self.char(i) != "之":
            return None
        first = self.char(i + 1)
        if first in _NONZERO:
            return s[i + 1 : self.digit_end[i + 1]]
        if first in _CN:
            return s[i + 1 : self.cn_end[i + 1]]
        return None

    def at_triple(self, p: int) -> Token | None:
        s, digit_end = self.s, self.digit_end
        a = digit_end[p]
        if a == p or self.char(a) != "-" or self.char(a + 1) not in _DIGITS:
            return None
        b = digit_end[a + 1]
        if self.char(b) != "-" or self.char(b + 1) not in _DIGITS:
            return None
        c = digit_end[b + 1]
        after = self.char(c)
        if after == "室" and self.char(c + 1) not in _DIGITS and self.char(c + 1) != "-":
            end = c + 1
        elif after == "-":
            return None  # a fourth part: not a building-unit-room triple
        else:
            end = c
        return Token(p, end, s[p:end], triple=(s[p:a], s[a + 1 : b], s[b + 1 : c]))

    def at_bad(self, p: int) -> Token | None:
        # The whole run of numerals from p must contain a Chinese numeral; only the whole run can
        # be followed by "-", a letter or a unit word, so no shorter split can match.
        run_end = self.numeral_end[p]
        if run_end == self.digit_end[p]:
            return None  # only digits (or no numeral at all)
        pos = run_end
        if self.char(pos) == "-" and self.char(pos + 1) in _NUMERALS:
            pos = self.numeral_end[pos + 1]
        if self.char(pos) in _ASCII_LETTERS:
            pos += 1
        word = self.unit(pos)
        if word is None:
            return None
        end = pos + len(word)
        return Token(p, end, self.s[p:end], bad=True, bad_unit=word)

    def _suffixed(self, digits_end: int) -> tuple[dict[str, str], tuple[str | None, int]] | None:
        """The infill suffix after the digits (dash, letter or 之…) with what follows it."""
        s, x = self.s, self.char(digits_end)
        if x == "-" and self.char(digits_end + 1) in _DIGITS:
            start, longest = digits_end + 1, self.digit_end[digits_end + 1]
            found = self._longest_then_shorter(start, longest)
            if found is not None:
                return {"dash": s[start : found[0]]}, found[1]
        elif x in _ASCII_LETTERS and self.char(digits_end + 1) not in _ASCII_LETTERS:
            cont = self.continues(digits_end + 1)
            if cont is not None:
                return {"letter": x}, cont
        elif x == "之":
            start = digits_end + 1
            first = self.char(start)
            if first in _NONZERO:
                found = self._longest_then_shorter(start, self.digit_end[start])
            elif first in _CN:
                found = self._longest_then_shorter(start, self.cn_end[start])
            else:
                found = None
            if found is not None:
                return {"zhi": s[start : found[0]]}, found[1]
        return None

    def _longest_then_shorter(self, start: int, longest: int) -> tuple[int, tuple[str | None, int]] | None:
        """A run ``s[start:end]`` followed by :meth:`continues`: the whole run if possible, else one
        character shorter (then a numeral of the same run follows, which never starts a unit)."""
        cont = self.continues(longest)
        if cont is not None:
            return longest, cont
        if longest - start >= 2:
            return longest - 1, (None, longest - 1)
        return None

    def at_number(self, p: int) -> Token | None:
        s, digit_end = self.s, self.digit_end
        stem: str | None = None
        q = p
        if s[p] in _STEM_SET:
            # 甲 is a stem only directly before digits + 号 that is not part of a name (甲15号)
            d = digit_end[p + 1] if p + 1 < self.n else p + 1
            if d == p + 1 or self.char(d) != "号" or s.startswith(NAMES_AFTER_UNIT, d + 1):
                return None
            stem, q = s[p], p + 1
        if self.char(q) not in _DIGITS:
            return None
        digits_end = digit_end[q]
        parts: dict[str, str] = {}
        cont = None
        suffixed = self._suffixed(digits_end)
        if suffixed is not None:
            parts, cont = suffixed
        else:
            cont = self.continues(digits_end)
        if cont is None:
            # 15号路: the number stops one digit earlier (the regex backtracked the same way)
            if digits_end - q < 2:
                return None
            digits_end -= 1
            cont = (None, digits_end)
        unit, end = cont
        zhi_after = self.zhi_after(end)
        if zhi_after is not None:
            end += 1 + len(zhi_after)
        return Token(
            p,
            end,
            s[p:end],
            stem=stem,
            n=s[q:digits_end],
            dash=parts.get("dash"),
            letter=parts.get("letter"),
            zhi=parts.get("zhi"),
            unit=unit,
            zhi_after=zhi_after,
        )


def tail_tokens(tail: str) -> list[Token]:
    """The number tokens of ``tail``, left to right, not overlapping (text between them is names).

    O(len(tail)) time and memory. ``tail`` is expected normalised (:func:`parse.normalize`):
    ASCII digits and letters, ``-`` for every dash.
    """
    scanner = _Scanner(tail)
    tokens: list[Token] = []
    pos, n = 0, len(tail)
    # Where a "bad" token failed at p, it fails at every later start inside the same run of numerals
    # (same continuation, fewer Chinese numerals), so the run is not tried again: this keeps a long
    # run of numerals at O(1) per character.
    bad_dead_until = 0
    while pos < n:
        ch = tail[pos]
        token: Token | None = None
        if ch in _DIGITS:  # the three kinds, in the order the old expression tried them
            token = scanner.at_triple(pos)
            if token is None and pos >= bad_dead_until:
                token = scanner.at_bad(pos)
                if token is None:
                    bad_dead_until = scanner.numeral_end[pos]
            if token is None:
                token = scanner.at_number(pos)
        elif ch in _CN:  # only a "bad" token starts with a Chinese numeral
            if pos >= bad_dead_until:
                token = scanner.at_bad(pos)
                if token is None:
                    bad_dead_until = scanner.numeral_end[pos]
        elif ch in _STEM_SET:  # only a number token starts with a stem (甲15号)
            token = scanner.at_number(pos)
        if token is None:
            pos += 1
        else:
            tokens.append(token)
            pos = token.end
    return tokens
