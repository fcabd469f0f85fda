"""Input size limits: one place for how much text one request may ask the engines to read.

Pure module: standard library only, no Django (DESIGN §1). Serializers and forms use these numbers
as ``max_length`` so a user gets a field error; the pure engines call :func:`ensure_length` as a
guard so that no caller (a view, a command, an importer, a future endpoint) can make them do
unbounded work. The name checker's homophone keys grow with the square of the reading's length and
its heteronym combinations, so an unbounded name is a denial-of-service lever (issue 14).

Lengths are counted in Unicode code points (``len(str)``) after the caller's own stripping; a
Chinese character is one.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "MAX_GENERIC_CHARS",
    "MAX_NAME_CHARS",
    "MAX_READING_CHARS",
    "MAX_SPECIFIC_CHARS",
    "MAX_TEXT_CHARS",
    "InputTooLong",
    "ensure_length",
]

#: A place name (标准名称), its 专名 or 通名, and a name search query. The register's column is
#: 50 characters too (``PlaceName.name``).
MAX_NAME_CHARS: Final = 50
#: An address, an address query, and other short free text that the engines read (facility
#: names, descriptions of a place).
MAX_TEXT_CHARS: Final = 200
#: A name's 专名 and 通名 on their own (the register's columns: ``PlaceName.specific``/``generic``).
MAX_SPECIFIC_CHARS: Final = 40
MAX_GENERIC_CHARS: Final = 20
#: An officer's pinyin reading of a name (space-separated syllables): the reading columns' width.
MAX_READING_CHARS: Final = 200


class InputTooLong(ValueError):
    """A text longer than its limit (a :class:`ValueError`, so ``except ValueError`` still holds).

    ``field`` names the input (``"name"``, ``"q"``, …) when the raiser knows it; the API maps the
    exception to HTTP 400 with that field's message. ``length`` and ``limit`` are in characters.
    """

    def __init__(self, length: int, limit: int, field: str = "") -> None:
        super().__init__(f"不能超过 {limit} 个字符（现有 {length} 个）")
        self.length = length
        self.limit = limit
        self.field = field


def ensure_length(text: str, limit: int, field: str = "") -> str:
    """``text`` unchanged if it has at most ``limit`` characters, else :class:`InputTooLong`.

    O(1): ``len`` of a Python string does not scan it, so the guard itself costs nothing even
    for a megabyte of input.
    """
    if len(text) > limit:
        raise InputTooLong(len(text), limit, field)
    return text
