"""Read reportlab PDFs in tests: the text-show strings, the fonts (``pdffonts``) and ``pdftotext``.

The documents embed a subset of a TrueType CJK font (:mod:`geo_mz.core.pdf`). reportlab writes
such text as one byte per glyph in one or more 256-glyph subsets (``/F1+0``, ``/F1+1`` …), each
with a ``ToUnicode`` CMap; a line whose glyphs span two subsets becomes two ``Tj`` operators
separated only by a subset switch (``/F1+1 <same size> Tf <leading> TL``). :func:`pdf_strings`
decodes through the CMaps and glues such pieces back together, so one drawn line (one Paragraph
line, one table-cell line, one ``drawString``) is one string, as a reader would see it.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

_OBJ = re.compile(rb"(?m)^(\d+) 0 obj\s*<<((?:(?!endobj).)*?)>>\s*stream\r?\n", re.S)
_FONT_DICT = re.compile(rb"/Name /(F\d+(?:\+\d+)?)\b[^>]*?/ToUnicode (\d+) 0 R")
_BFCHAR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
_BFRANGE = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
_CONTENTS = re.compile(rb"/Contents (\d+) 0 R")
# Content-stream tokens: literal strings first, so operators inside them are never seen.
_TOKEN = re.compile(
    rb"\((?:[^\\()]|\\.)*\)|<[0-9A-Fa-f\s]*>|/[^\s/\[\]()<>]+|[-+]?[\d.]+|[A-Za-z*'\"]+|\S", re.S
)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _streams(pdf: bytes) -> dict[int, bytes]:
    """Object number -> raw (uncompressed) stream bytes."""
    out: dict[int, bytes] = {}
    for m in _OBJ.finditer(pdf):
        length = re.search(rb"/Length (\d+)", m.group(2))
        assert length, "stream without a direct /Length"
        start = m.end()
        out[int(m.group(1))] = pdf[start : start + int(length.group(1))]
    return out


def _cmap(stream: bytes) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", stream, re.S):
        for src, dst in _BFCHAR.findall(block):
            mapping[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", stream, re.S):
        for lo, hi, dst in _BFRANGE.findall(block):
            first = int(dst, 16)
            for offset, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                mapping[code] = chr(first + offset)
    return mapping


def _unescape(raw: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(raw):
        c = raw[i : i + 1]
        if c != b"\\":
            out += c
            i += 1
            continue
        octal = re.match(rb"[0-7]{1,3}", raw[i + 1 : i + 4])
        if octal:
            out.append(int(octal.group(), 8) & 0xFF)
            i += 1 + len(octal.group())
        else:
            nxt = raw[i + 1 : i + 2]
            out += _ESCAPES.get(nxt, nxt)
            i += 2
    return bytes(out)


def pdf_strings(pdf: bytes) -> list[str]:
    """The non-blank drawn strings of an uncompressed reportlab PDF, in content order, per page.

    Text in fonts without a ToUnicode map (the standard Helvetica) is read as Latin-1.
    """
    assert b"/FlateDecode" not in pdf, "render with compress=False"
    streams = _streams(pdf)
    cmaps = {name.decode(): _cmap(streams[int(ref)]) for name, ref in _FONT_DICT.findall(pdf)}
    strings: list[str] = []
    for ref in _CONTENTS.findall(pdf):
        strings.extend(_page_strings(streams[int(ref)], cmaps))
    return [s for s in strings if s.strip()]  # drop empty <br/> lines and spacing-only runs


def _page_strings(content: bytes, cmaps: dict[str, dict[int, str]]) -> list[str]:
    out: list[str] = []
    operands: list[bytes] = []
    font, size = "", b""
    saved: list[tuple[str, bytes]] = []
    current: list[str] | None = None  # the string being glued, None after any other operator
    glue_ok = False  # True right after a subset switch of the same font at the same size
    for token in _TOKEN.findall(content):
        if not re.fullmatch(rb"[A-Za-z*'\"]+", token):
            operands.append(token)
            continue
        op = token
        if op == b"Tf":
            name, new_size = operands[-2].decode()[1:], operands[-1]
            glue_ok = current is not None and name.split("+")[0] == font.split("+")[0] and new_size == size
            font, size = name, new_size
        elif op == b"TL" and glue_ok:
            pass  # reportlab writes the leading after every Tf
        elif op == b"Tj":
            raw = _unescape(operands[-1][1:-1])
            cmap = cmaps.get(font)
            text = "".join(cmap.get(b, "\ufffd") for b in raw) if cmap is not None else raw.decode("latin-1")
            if current is not None and glue_ok:
                current.append(text)
            else:
                current = [text]
                out.append("")
            out[-1] = "".join(current)
            glue_ok = False
        else:
            if op == b"q":
                saved.append((font, size))
            elif op == b"Q" and saved:
                font, size = saved.pop()
            current, glue_ok = None, False
        operands = []
    return out


@dataclass(frozen=True)
class PdfFont:
    """One row of ``pdffonts``."""

    name: str
    type: str
    embedded: bool
    subset: bool
    unicode_map: bool


def pdf_fonts(pdf: bytes) -> list[PdfFont]:
    """The fonts ``pdffonts`` (poppler-utils) lists for the document."""
    result = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True)
    rows = result.stdout.decode("utf-8").splitlines()[2:]  # two header lines
    fonts = []
    for row in rows:
        # name, type (may contain spaces: "Type 1", "CID TrueType"), encoding, emb, sub, uni, object ID
        m = re.match(r"(\S+)\s+(.+?)\s{2,}(\S.*?)\s+(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+$", row)
        assert m, f"unparsed pdffonts row: {row!r}"
        fonts.append(PdfFont(m[1], m[2], m[4] == "yes", m[5] == "yes", m[6] == "yes"))
    return fonts


def pdftotext(pdf: bytes, *options: str) -> str:
    """``pdftotext -enc UTF-8 -layout`` of the whole document (poppler-utils)."""
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-layout", *options, "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    )
    return result.stdout.decode("utf-8")


#: The PDF standard fonts every viewer has; reportlab's tables select Helvetica (drawing nothing
#: with it) before each cell, so it may be listed, unembedded, next to the CJK font.
STANDARD_FONTS = frozenset(
    {"Helvetica", "Helvetica-Bold", "Times-Roman", "Courier", "Symbol", "ZapfDingbats"}
)


def assert_cjk_font_embedded(pdf: bytes) -> list[PdfFont]:
    """Every font that is not a standard one is embedded as a subset with a ToUnicode map."""
    fonts = pdf_fonts(pdf)
    embedded = [f for f in fonts if f.embedded]
    assert embedded, f"no embedded font: {fonts}"
    assert all(f.subset and f.unicode_map and "TrueType" in f.type for f in embedded), fonts
    assert {f.name for f in fonts if not f.embedded} <= STANDARD_FONTS, fonts
    return embedded
