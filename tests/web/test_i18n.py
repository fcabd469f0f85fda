"""English UI: the catalogue is complete and compiled, and the main pages render in English."""

from __future__ import annotations

import gettext
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from geo_mz.core import roles

PO = Path(settings.BASE_DIR) / "locale/en/LC_MESSAGES/django.po"
MO = PO.with_suffix(".mo")

# msgids whose English is the msgid itself: the language's own name in the language menu, and
# Django's own English strings of the admin map widget that templates/gis/ overrides.
SAME_AS_MSGID = {"English", "Delete all Features", "Debugging window (serialized value)"}

CJK = re.compile(r"[\u3400-\u9fff]")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")


def _unquote(text: str) -> str:
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}
    return re.sub(r"\\(.)", lambda m: escapes[m.group(1)], text.strip()[1:-1])


def po_entries(path: Path = PO) -> list[dict]:
    """Entries of a .po file as dicts: msgctxt, msgid, msgid_plural, msgstr / msgstr[n], flags, line."""
    entries: list[dict] = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        entry: dict = {"flags": set(), "line": 0}
        key = None
        for line in block.strip().splitlines():
            if line.startswith("#,"):
                entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#~"):
                entry["obsolete"] = True
            elif line.startswith("#"):
                continue
            elif match := re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(\".*\")$", line):
                key = match.group(1)
                entry[key] = _unquote(match.group(2))
            elif line.startswith('"') and key:
                entry[key] += _unquote(line)
            else:
                raise AssertionError(f"unparsable .po line: {line!r}")
        if "msgid" in entry:
            entries.append(entry)
    return entries


def translations(entry: dict) -> list[str]:
    return [value for key, value in entry.items() if key.startswith("msgstr")]


def test_po_parser_reads_the_whole_catalogue():
    entries = po_entries()
    assert entries[0]["msgid"] == ""  # the header
    assert len(entries) > 700
    assert len({(e.get("msgctxt"), e["msgid"]) for e in entries}) == len(entries)


def test_every_entry_has_a_checked_english_translation():
    problems = []
    for entry in po_entries()[1:]:
        msgid = entry["msgid"]
        if entry.get("obsolete"):
            problems.append(f"obsolete entry left in the catalogue: {msgid!r}")
        if "fuzzy" in entry["flags"]:
            problems.append(f"fuzzy: {msgid!r}")
        for msgstr in translations(entry):
            if not msgstr.strip():
                problems.append(f"untranslated: {msgid!r}")
            elif msgstr == msgid and msgid not in SAME_AS_MSGID:
                problems.append(f"msgstr copies the msgid: {msgid!r}")
            elif sorted(PLACEHOLDER.findall(msgstr)) != sorted(PLACEHOLDER.findall(msgid)):
                problems.append(f"placeholders differ: {msgid!r} -> {msgstr!r}")
    assert not problems, "\n".join(problems)


def test_compiled_catalogue_matches_the_po():
    # The .mo is committed: it must hold exactly the .po's translations (run `manage.py compilemessages`).
    with MO.open("rb") as fh:
        catalog = gettext.GNUTranslations(fh)._catalog
    stale = []
    for entry in po_entries()[1:]:
        key = entry["msgid"] if "msgctxt" not in entry else f"{entry['msgctxt']}\x04{entry['msgid']}"
        if "msgid_plural" in entry:
            continue  # none in the catalogue today; the plural forms are keyed (msgid, n) in the .mo
        if catalog.get(key) != entry["msgstr"]:
            stale.append(entry["msgid"])
    assert not stale, f"django.mo is out of date for {len(stale)} entries, e.g. {stale[:5]}"


class _Texts(HTMLParser):
    """Collects the text of headings, table headers, buttons, summaries and the top navigation."""

    TAGS = {"h1", "h2", "h3", "th", "button", "summary", "nav", "legend"}

    def __init__(self):
        super().__init__()
        self.stack: list[list] = []
        self.texts: dict[str, list[str]] = {tag: [] for tag in self.TAGS}

    def handle_starttag(self, tag, attrs):
        if tag in self.TAGS:
            self.stack.append([tag, ""])

    def handle_endtag(self, tag):
        if tag in self.TAGS and self.stack and self.stack[-1][0] == tag:
            name, text = self.stack.pop()
            self.texts[name].append(" ".join(text.split()))

    def handle_data(self, data):
        for open_element in self.stack:
            open_element[1] += data


def page_texts(html: str) -> dict[str, list[str]]:
    parser = _Texts()
    parser.feed(html)
    return parser.texts


# page -> English strings it must show (headings, table headers, buttons of the page and the top bar)
PAGES = {
    "/boundaries/": [
        "Administrative boundary lines",
        "Derive boundary lines from division polygons",
        "Joint inspection schedule",
        "Markers needing attention",
        "Joint inspections in progress",
        "Next due year",
    ],
    "/coverage/dashboard/": [
        "Civil-affairs facility indicators",
        "Townships/subdistricts without a public cemetery",
        "Facilities by type and status",
        "Indicator",
        "Whole county",
    ],
    "/facilities/": [
        "Civil-affairs facilities",
        "Indicator dashboard",
        "Register a new facility",
        "Service radius (m)",
        "Filter",
    ],
    "/addresses/": [
        "House-number management",
        "Roads awaiting numbering",
        "House-number cases",
        "Recently issued house-number certificates",
        "Register a house-number application",
    ],
    "/placenames/": [
        "Place-name management",
        "My open cases",
        "New naming/renaming/cancellation case",
        "Road sign check report",
        "Standard gazetteer (Excel)",
    ],
}
TOP_BAR = ["Civil Affairs GIS", "Map", "Place names", "House number", "Coverage analysis", "Log out"]


@pytest.fixture
def english_client(client: Client, make_user) -> Client:
    client.force_login(make_user(roles.ADMIN))
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("url", list(PAGES))
def test_page_in_english(english_client: Client, url: str):
    response = english_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    for text in PAGES[url] + TOP_BAR:
        assert text in html, f"{url}: missing English {text!r}"
    # No Chinese left in the page's own headings, table headers, buttons or navigation (all static
    # text on these pages; the demo's Chinese names only appear in cells, links and menus).
    texts = page_texts(html)
    leftovers = [
        (tag, text)
        for tag, items in texts.items()
        if tag != "h1"  # the dashboard's title starts with the county's (Chinese) name
        for text in items
        if CJK.search(text)
    ]
    assert not leftovers, f"{url}: untranslated {leftovers}"
    heading = PAGES[url][0]
    assert any(heading in h and not CJK.search(h[h.index(heading) :]) for h in texts["h1"]), texts["h1"]


@pytest.mark.django_db
def test_accept_language_header_selects_english(make_user):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(make_user(roles.VIEWER))
    html = client.get("/boundaries/").content.decode()
    assert '<html lang="en">' in html
    assert "Administrative boundary lines" in html and "行政区域界线" not in html


@pytest.mark.django_db
def test_chinese_stays_the_default(make_user):
    client = Client()
    client.force_login(make_user(roles.VIEWER))
    html = client.get("/boundaries/").content.decode()
    assert '<html lang="zh-hans">' in html
    assert "行政区域界线" in html and "Administrative boundary lines" not in html
