"""Fill empty msgstr entries of locale/en/LC_MESSAGES/django.po from locale/en/glossary.tsv.

Run after `manage.py makemessages -l en`: translations live in the glossary (Chinese<TAB>English),
so re-extracting never loses them. Prints the msgids still untranslated.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale/en/LC_MESSAGES/django.po"
GLOSSARY = ROOT / "locale/en/glossary.tsv"


def po_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def main() -> int:
    glossary = {}
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            zh, en = line.split("\t", 1)
            glossary[zh] = en
    blocks = PO.read_text(encoding="utf-8").split("\n\n")
    missing = []
    out = []
    for block in blocks:
        m = re.search(r'^msgid ((?:".*"\n?)+)msgstr ((?:".*"\n?)+)', block, re.M)
        if not m or "msgid_plural" in block:
            out.append(block)
            continue
        msgid = "".join(re.findall(r'"(.*)"', m.group(1))).replace('\\"', '"').replace("\\n", "\n")
        if not msgid:
            out.append(block)
            continue
        if msgid in glossary:
            block = block[: m.start(2)] + po_quote(glossary[msgid]) + "\n" + block[m.end(2) :].lstrip("\n")
            block = block.replace("#, fuzzy\n", "")
        else:
            missing.append(msgid)
        out.append(block.rstrip("\n"))
    PO.write_text("\n\n".join(out).rstrip("\n") + "\n", encoding="utf-8")
    for msgid in missing:
        print(f"untranslated: {msgid}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
