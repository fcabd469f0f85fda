"""Spreadsheet-safe cell values for every CSV and Excel file the project writes (issue 14).

Pure module: standard library only, no Django (DESIGN §1).

**The threat** (OWASP "CSV injection"): names, descriptions and comments are typed by users. A
text such as ``=cmd|' /C calc'!A0``, ``+1+1``, ``-2+3`` or ``@SUM(A1)`` opened in Excel or
LibreOffice from a CSV file is evaluated as a formula; openpyxl writes any ``str`` starting with
``=`` into an ``.xlsx`` as a live formula too.

**The rule, one helper for every writer:** a *text* value whose first character is one of
:data:`FORMULA_TRIGGERS` (``=``, ``+``, ``-``, ``@``, tab, carriage return) is written with a
leading apostrophe ``'``. Both formats get the same treatment, deliberately:

* CSV has no cell types, so the apostrophe is the only protection that every spreadsheet honours;
* in ``.xlsx`` a value that does not start with ``=`` is stored as a string cell (openpyxl's
  ``data_type == "s"``), which no spreadsheet evaluates on opening; the apostrophe is kept as well
  so that the cell stays inert if someone edits it (F2, Enter) or re-saves the sheet as CSV, and
  so that the same record reads the same in both downloads.

The text after the apostrophe is the user's text unchanged. Numbers, dates, booleans and ``None``
pass through untouched: a negative *number* stays a numeric cell, while the *text* ``"-1"`` typed
into a name field becomes ``"'-1"``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

__all__ = ["FORMULA_START_REGEX", "FORMULA_TRIGGERS", "safe_row", "safe_text", "safe_value"]

#: First characters that make a spreadsheet read a text cell as a formula (OWASP list).
FORMULA_TRIGGERS: Final[tuple[str, ...]] = ("=", "+", "-", "@", "\t", "\r")
#: The same test as a regular expression (for vectorised checks, e.g. pyarrow.compute).
FORMULA_START_REGEX: Final = r"^[=+\-@\t\r]"


def safe_text(text: str) -> str:
    """``text`` with a leading ``'`` when it starts with a formula trigger; else unchanged."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def safe_value(value: Any) -> Any:
    """:func:`safe_text` for a ``str``; any other value (numbers, dates, ``None``…) unchanged."""
    return safe_text(value) if isinstance(value, str) else value


def safe_row(values: Iterable[Any]) -> list[Any]:
    """:func:`safe_value` of each value of one row."""
    return [safe_value(v) for v in values]
