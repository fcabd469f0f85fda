"""Reads of personal data are scoped (issue 14): anonymous requests return no person's name or phone
anywhere; signed-in users see owners, applicants, phones and officers only within their role and
jurisdiction; one setting (GEO_MZ_ADDRESSES_PUBLIC) decides whether house-number points are public.

The anonymous walk enumerates every URL pattern from Django's resolver (REST, OGC, tiles, web pages,
downloads), substitutes real ids of demo objects for the path parameters, and searches every body
(JSON, HTML, PDF text, xlsx/gpkg contents, vector tiles) for the people's names and phones collected
from the database. A pattern whose parameters it cannot fill fails the test, so a new endpoint cannot
slip past it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import zipfile

import pytest
from django.conf import settings
from django.contrib.gis.geos import LineString
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from geo_mz.addresses.models import AddressCase, Certificate
from geo_mz.api import tiles as tile_views
from geo_mz.api.ogc import COLLECTIONS
from geo_mz.boundaries.models import BoundaryLine, Inspection, Marker
from geo_mz.core import crs, roles, visibility
from geo_mz.facilities.models import Facility
from geo_mz.placenames import services as placename_services
from geo_mz.placenames.models import NamedFeature

pytestmark = pytest.mark.django_db

APPLICANT = "申报人欧阳明哲"
COMMENTER = "意见人司马青云"
OFFICER_FIRST, OFFICER_LAST = "慕容", "秋白"
# Routes that carry no data of their own or that only staff reach (the Django admin is a
# superuser-only tool; anonymous requests are redirected to its login page).
SKIPPED_NAMESPACES = ("admin",)


# ---------------------------------------------------------------------------------------------------
# Demo objects and the people in them
# ---------------------------------------------------------------------------------------------------


def _line(lonlats) -> LineString:
    return LineString(
        [crs.lonlat_to_projected(x, y, settings.GEO_MZ_SRID) for x, y in lonlats], srid=settings.GEO_MZ_SRID
    )


@pytest.fixture
def officer(make_user):
    """A place-name officer of 赤马港 (421281002) with a real name, who has acted on a naming case."""
    return make_user(
        roles.PLACENAME_OFFICER,
        jurisdiction_code="421281002",
        first_name=OFFICER_FIRST,
        last_name=OFFICER_LAST,
    )


@pytest.fixture
def naming_case(officer):
    case = placename_services.naming_case_create(
        kind="new",
        division_code="421281002",
        title="栖霞路命名",
        applicant=APPLICANT,
        reason="新建道路",
        items=[{"name": "栖霞路", "kind": "road", "geom": _line([(113.930, 29.740), (113.936, 29.741)])}],
        user=officer,
    )
    placename_services.naming_case_transition(case.pk, "accept", user=officer)
    placename_services.naming_case_transition(
        case.pk, "start_notice", user=officer, payload={"notice_days": 7}
    )
    case.refresh_from_db()
    placename_services.naming_case_comment_add(
        case,
        user=officer,
        received_on=dt.date.today(),
        commenter=COMMENTER,
        content="同意该名称",
        response="",
    )
    return case


PHONE = "13907158842"


@pytest.fixture
def address_case() -> AddressCase:
    """An open demo house-number case of a person, with a phone (the demo requests carry none)."""
    case = AddressCase.objects.filter(owner_kind="person").select_related("division").order_by("pk").first()
    assert case is not None, "the demo county has open house-number cases of persons"
    AddressCase.objects.filter(pk=case.pk).update(phone=PHONE)
    case.refresh_from_db()
    return case


@pytest.fixture
def certificate(address_case) -> Certificate:
    """A demo certificate of a person on a road, in the same township as `address_case`."""
    qs = Certificate.objects.select_related("address__division", "address__feature").filter(
        owner_kind="person", address__kind="road", address__feature__kind__is_road=True
    )
    cert = (
        qs.filter(address__division__code__startswith=address_case.division.code[:9])
        .order_by("serial")
        .first()
        or qs.order_by("serial").first()
    )
    assert cert is not None, "the demo county has certificates of persons"
    return cert


@pytest.fixture
def secrets(naming_case, officer, certificate) -> dict[str, str]:
    """Every person's name and phone in the database, each mapped to where it came from."""
    found: dict[str, str] = {}
    for owner, phone in AddressCase.objects.filter(owner_kind="person").values_list("owner", "phone"):
        found[owner] = "address case owner"
        if phone:
            found[phone] = "address case phone"
    for owner in Certificate.objects.filter(owner_kind="person").values_list("owner", flat=True):
        found[owner] = "certificate owner"
    found[APPLICANT] = "naming case applicant"
    found[COMMENTER] = "notice commenter"
    found[officer.get_username()] = "officer's username"
    found[f"{OFFICER_FIRST}{OFFICER_LAST}"] = "officer's name"
    found[OFFICER_LAST] = "officer's given name"
    assert certificate.owner in found and len(found) > 50
    return found


def _searcher(secrets: dict[str, str]):
    pattern = re.compile("|".join(re.escape(s) for s in sorted(secrets, key=len, reverse=True)))

    def hits(text: str) -> set[str]:
        return set(pattern.findall(text))

    return hits


# ---------------------------------------------------------------------------------------------------
# Bodies as text
# ---------------------------------------------------------------------------------------------------


def _pdf_text(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True)
    return "".join(out.stdout.decode().split())


def body_text(response) -> str:
    """What a reader of the response could see: text, PDF text, spreadsheet cells, file contents."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content.startswith(b"%PDF"):
        return _pdf_text(content)
    if content.startswith(b"PK"):  # xlsx, zipped shapefiles
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            return "".join(z.read(n).decode("utf-8", "ignore") for n in z.namelist())
    if response.get("Content-Encoding") == "gzip":
        import gzip

        content = gzip.decompress(content)
    return content.decode("utf-8", "ignore")


# ---------------------------------------------------------------------------------------------------
# Every route, with real ids
# ---------------------------------------------------------------------------------------------------


def _patterns(resolver=None, namespace: str | None = None):
    for p in (resolver or get_resolver()).url_patterns:
        if isinstance(p, URLResolver):
            ns = p.namespace and (f"{namespace}:{p.namespace}" if namespace else p.namespace)
            yield from _patterns(p, ns or namespace)
        elif isinstance(p, URLPattern):
            yield (f"{namespace}:{p.name}" if namespace and p.name else p.name), p


def _tile_of(point) -> tuple[int, int, int]:
    import math

    lon, lat = crs.projected_to_lonlat(point.x, point.y, settings.GEO_MZ_SRID)
    z = 15
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def _urls(naming_case, certificate, address_case) -> list[str]:
    """Every GET-able route of the project with its parameters filled with demo objects."""
    address = certificate.address
    road = address.feature
    compound = NamedFeature.objects.filter(kind__code="compound").order_by("code").first()
    inspection = Inspection.objects.order_by("pk").first()
    line = BoundaryLine.objects.order_by("pk").first()
    marker = Marker.objects.order_by("pk").first()
    facility = Facility.objects.order_by("pk").first()
    village = address.division.code if len(address.division.code) == 12 else "421281002001"
    z, x, y = _tile_of(address.point)
    by_name: dict[str, dict[str, list]] = {
        "naming-case": {"pk": [naming_case.pk]},
        "web:naming-case": {"pk": [naming_case.pk]},
        "address-case": {"pk": [address_case.pk]},
        "web:address-case": {"pk": [address_case.pk]},
        "inspection": {"pk": [inspection.pk]},
        "web:boundary-inspection": {"pk": [inspection.pk]},
        "boundary-line": {"pk": [line.pk]},
        "web:boundary-line": {"pk": [line.pk]},
        "boundary-marker": {"pk": [marker.pk]},
        "facility": {"pk": [facility.pk]},
        "division": {"code": ["421281", "421281002"]},
        "named-feature": {"code": [road.code]},
        "web:named-feature": {"code": [road.code]},
        "address-road": {"code": [road.code]},
        "web:address-road": {"code": [road.code]},
        "address-compound": {"code": [compound.code if compound else "x"]},
        "address-village": {"code": [village]},
        "address": {"code": [address.code]},
        "web:address": {"code": [address.code]},
        "placename-gazetteer": {"fmt": ["xlsx", "csv", "pdf"]},
        "address-export": {"fmt": ["xlsx", "gpkg", "csv"]},
        "export-geojson": {"collection": list(COLLECTIONS)},
        "ogc": {"collection_id": list(COLLECTIONS), "feature_id": [address.code, "1"]},
        "tiles": {"layer": list(tile_views.LAYERS), "z": [z], "x": [x], "y": [y]},
    }
    generic: dict[str, list] = {
        "pk": [1],  # coverage runs and scenarios, jobs, exports: whatever exists, 404 otherwise
        "serial": [certificate.serial],
        "token": [certificate.token],
        "kind": ["job"],
    }
    urls: list[str] = []
    unfilled: list[str] = []
    for name, pattern in _patterns():
        if (
            not name
            or name.split(":")[0] in SKIPPED_NAMESPACES
            or "format" in pattern.pattern.regex.groupindex
        ):
            continue
        actions = getattr(pattern.callback, "actions", None)
        if actions is not None and "get" not in actions:
            continue
        params = sorted(pattern.pattern.regex.groupindex)
        matching = [k for k in by_name if name == k or name.startswith(f"{k}-")]
        specific = by_name[max(matching, key=len)] if matching else {}
        choices: list[dict] = [{}]
        for param in params:
            values = specific.get(param) or generic.get(param)
            if not values:
                unfilled.append(f"{name}: {param}")
                break
            choices = [{**c, param: v} for c in choices for v in values]
        else:
            urls += [reverse(name, kwargs={k: str(v) for k, v in c.items()}) for c in choices]
    assert not unfilled, f"routes whose parameters the walk cannot fill (add them above): {unfilled}"
    return urls


def _query(url: str, certificate) -> dict:
    """Query parameters that make list/search endpoints return the demo person's records."""
    lon, lat = crs.projected_to_lonlat(
        certificate.address.point.x, certificate.address.point.y, settings.GEO_MZ_SRID
    )
    if url.endswith("/addresses/search/") or url == "/addresses/":
        return {"q": certificate.address.full_text}
    if url.endswith("/addresses/reverse/"):
        return {"lon": lon, "lat": lat}
    if url.endswith("/naming-cases/"):
        return {"closed": "1"}
    if url.endswith("/placenames/search/"):
        return {"q": "栖霞"}
    return {}


def walk(client, naming_case, certificate, address_case, hits) -> tuple[dict[str, set[str]], dict[str, int]]:
    leaks: dict[str, set[str]] = {}
    statuses: dict[str, int] = {}
    for url in _urls(naming_case, certificate, address_case):
        response = client.get(url, _query(url, certificate))
        statuses[url] = response.status_code
        assert response.status_code < 500, f"{url}: {response.status_code}"
        found = hits(body_text(response))
        if found:
            leaks[url] = found
    return leaks, statuses


# ---------------------------------------------------------------------------------------------------
# Anonymous: nothing
# ---------------------------------------------------------------------------------------------------


def test_given_demo_people_when_anonymous_walks_every_get_route_then_no_name_or_phone_appears(
    naming_case, certificate, address_case, secrets
):
    leaks, statuses = walk(APIClient(), naming_case, certificate, address_case, _searcher(secrets))
    assert not leaks, {url: {s: secrets[s] for s in found} for url, found in leaks.items()}
    # the walk really reached the pages that hold people: public ones answered, private ones refused
    assert len(statuses) > 100
    assert statuses[f"/api/naming-cases/{naming_case.pk}/"] == 200
    assert statuses[f"/v/{certificate.token}/"] == 200
    assert statuses[f"/api/certificates/{certificate.serial}/certificate.pdf/"] in (401, 403)


def test_given_an_admin_when_walking_the_same_routes_then_the_people_are_found(
    make_user, naming_case, certificate, address_case, secrets
):
    """The walk can fail: with the rights to see them, the same routes show the same people."""
    client = APIClient()
    client.force_login(make_user(roles.ADMIN, jurisdiction_code="421281"))
    leaks, _ = walk(client, naming_case, certificate, address_case, _searcher(secrets))
    seen = set().union(*leaks.values())
    assert {APPLICANT, COMMENTER, certificate.owner, address_case.phone} <= seen
    assert leaks[f"/api/certificates/{certificate.serial}/certificate.pdf/"] >= {certificate.owner}


def test_the_public_verification_page_shows_at_most_a_masked_owner(certificate):
    page = APIClient().get(f"/v/{certificate.token}/").content.decode()
    api = APIClient().get(f"/api/certificates/verify/{certificate.token}/").content.decode()
    for body in (page, api):
        assert certificate.address.full_text in body
        assert certificate.owner not in body


# ---------------------------------------------------------------------------------------------------
# Signed in: only the role that works with the data, in its jurisdiction
# ---------------------------------------------------------------------------------------------------


def _client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def _township(certificate) -> str:
    return certificate.address.division.code[:9]


def _case_township(case) -> str:
    return case.division.code[:9]


def _other_township(*objects) -> str:
    """A township that holds none of the objects (certificates or cases)."""
    used = {_township(o) if isinstance(o, Certificate) else _case_township(o) for o in objects}
    return next(code for code in ("421281001", "421281002", "421281003", "421281100") if code not in used)


def test_an_officer_in_the_jurisdiction_sees_owners_phones_and_the_certificate(
    make_user, certificate, address_case
):
    client = _client(make_user(roles.PLACENAME_OFFICER, jurisdiction_code=_township(certificate)))
    body = client.get(f"/api/certificates/{certificate.serial}/").json()
    assert body["owner"] == certificate.owner
    if _case_township(address_case) != _township(certificate):
        client = _client(make_user(roles.PLACENAME_OFFICER, jurisdiction_code=_case_township(address_case)))
    case = client.get(f"/api/address-cases/{address_case.pk}/").json()
    assert (case["owner"], case["phone"]) == (address_case.owner, address_case.phone)
    client = _client(make_user(roles.PLACENAME_OFFICER, jurisdiction_code=_township(certificate)))
    pdf = client.get(f"/api/certificates/{certificate.serial}/certificate.pdf/")
    assert pdf.status_code == 200 and certificate.owner in _pdf_text(pdf.content)
    assert client.get(f"/addresses/certificates/{certificate.serial}.pdf").status_code == 200
    county = _client(make_user(roles.PLACENAME_OFFICER, jurisdiction_code="421281"))
    page = county.get(f"/addresses/cases/{address_case.pk}/").content.decode()
    assert address_case.owner in page and address_case.phone in page


@pytest.mark.parametrize("who", ["no role", "viewer", "planner", "officer elsewhere"])
def test_others_signed_in_get_masked_owners_no_phones_and_no_certificate_pdf(
    make_user, certificate, address_case, who
):
    if who == "officer elsewhere":
        user = make_user(
            roles.PLACENAME_OFFICER, jurisdiction_code=_other_township(certificate, address_case)
        )
    elif who == "planner":
        user = make_user(roles.PLANNER, jurisdiction_code="421281")
    else:
        user = make_user(roles.VIEWER, jurisdiction_code="421281")
        if who == "no role":
            user.groups.clear()
    client = _client(user)
    owner = certificate.owner
    body = client.get(f"/api/certificates/{certificate.serial}/").json()
    assert body["owner"] == visibility.mask_name(owner) != owner
    listed = client.get("/api/certificates/").content.decode()
    assert owner not in listed
    case = client.get(f"/api/address-cases/{address_case.pk}/").json()
    assert case["owner"] == visibility.mask_name(address_case.owner) and case["phone"] == ""
    queue = client.get("/api/address-cases/", {"state": address_case.state}).content.decode()
    assert address_case.owner not in queue and address_case.phone not in queue
    assert client.get(f"/api/certificates/{certificate.serial}/certificate.pdf/").status_code == 404
    assert client.get(f"/addresses/certificates/{certificate.serial}.pdf").status_code == 404
    for page in (
        f"/addresses/cases/{address_case.pk}/",
        f"/addresses/{certificate.address.code}/",
        "/addresses/",
    ):
        html = client.get(page).content.decode()
        assert address_case.owner not in html and address_case.phone not in html, page


def test_naming_case_people_are_seen_by_the_officer_of_its_township_only(make_user, naming_case, officer):
    url = f"/api/naming-cases/{naming_case.pk}/"
    own = _client(officer).get(url).json()
    assert own["applicant"] == APPLICANT
    assert own["comments"][0]["commenter"] == COMMENTER
    assert officer.get_username() in {e["actor"] for e in own["events"]}

    elsewhere = _client(make_user(roles.PLACENAME_OFFICER, jurisdiction_code="421281001"))
    anonymous = APIClient()
    for client in (elsewhere, anonymous, _client(make_user(roles.VIEWER))):
        body = client.get(url).json()
        assert body["applicant"] == visibility.mask_name(APPLICANT)
        assert body["comments"][0]["commenter"] == visibility.mask_name(COMMENTER)
        assert {e["actor"] for e in body["events"]} == {""}
        assert body["comments"][0]["content"] == "同意该名称"  # the comment itself stays
    page = elsewhere.get(f"/placenames/cases/{naming_case.pk}/").content.decode()
    assert APPLICANT not in page and COMMENTER not in page and officer.get_username() not in page
    assert APPLICANT in _client(officer).get(f"/placenames/cases/{naming_case.pk}/").content.decode()


def test_inspection_participants_and_report_are_for_the_boundary_team_of_either_side(make_user):
    inspection = (
        Inspection.objects.select_related("line__division_a", "line__division_b").order_by("pk").first()
    )
    inspection.participants_a = "界线员甲某某"
    inspection.save(update_fields=["participants_a"])
    url = f"/api/inspections/{inspection.pk}/"
    team = _client(make_user(roles.BOUNDARY_TEAM, jurisdiction_code=inspection.line.division_b.code))
    assert team.get(url).json()["participants_a"] == "界线员甲某某"
    assert team.get(f"/api/inspections/{inspection.pk}/report.pdf/").status_code == 200
    for client in (APIClient(), _client(make_user(roles.VIEWER))):
        assert client.get(url).json()["participants_a"] == ""
        assert client.get(f"/api/inspections/{inspection.pk}/report.pdf/").status_code in (401, 403, 404)


# ---------------------------------------------------------------------------------------------------
# House-number points: one switch
# ---------------------------------------------------------------------------------------------------


def _address_reads(certificate) -> list[str]:
    z, x, y = _tile_of(certificate.address.point)
    return [
        f"/tiles/addresses/{z}/{x}/{y}.pbf",
        "/tiles/addresses.json",
        "/api/addresses/",
        f"/api/addresses/{certificate.address.code}/",
        f"/api/addresses/search/?q={certificate.address.full_text}",
        f"/api/addresses/roads/{certificate.address.feature.code}/numbering/",
        "/api/addresses/export.xlsx",
        "/api/addresses/export.gpkg",
        "/api/exports/addresses.geojson",
        "/ogc/collections/addresses/items?limit=1",
    ]


def test_house_numbers_are_for_signed_in_users_by_default(settings, make_user, certificate):
    settings.GEO_MZ_ADDRESSES_PUBLIC = False
    settings.GEO_MZ_OGC_PUBLIC = [*settings.GEO_MZ_OGC_PUBLIC, "addresses"]  # cannot open them on its own
    anonymous = APIClient()
    for url in _address_reads(certificate):
        assert anonymous.get(url).status_code in (401, 403), url
    assert "addresses" not in {layer["id"] for layer in anonymous.get("/tiles/").json()["layers"]}
    assert "addresses" not in {
        c["id"] for c in anonymous.get("/ogc/collections", {"f": "json"}).json()["collections"]
    }
    viewer = _client(make_user(roles.VIEWER))
    for url in _address_reads(certificate):
        response = viewer.get(url)
        assert response.status_code in (200, 204), url
    tile = viewer.get(_address_reads(certificate)[0])
    assert tile["Cache-Control"].startswith("private")


def test_one_setting_makes_house_numbers_public_everywhere(settings, certificate):
    settings.GEO_MZ_ADDRESSES_PUBLIC = True
    settings.GEO_MZ_OGC_PUBLIC = ["divisions"]  # the switch wins over the OGC list
    anonymous = APIClient()
    for url in _address_reads(certificate):
        response = anonymous.get(url)
        assert response.status_code in (200, 204), url
        assert certificate.owner not in body_text(response), url
    assert "addresses" in {layer["id"] for layer in anonymous.get("/tiles/").json()["layers"]}
    tile = anonymous.get(_address_reads(certificate)[0])
    assert tile["Cache-Control"].startswith("public")


# ---------------------------------------------------------------------------------------------------
# The masking rule itself
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("张小三", "张*三"),
        ("欧阳明哲", "欧**哲"),
        ("", ""),
        ("王", "*"),
        ("Li Lei", "L****i"),
    ],
)
def test_mask_name(name, masked):
    assert visibility.mask_name(name) == masked


def test_redact_masks_nested_fields_and_leaves_the_rest():
    body = {"owner": "张小三", "phone": "13800000000", "events": [{"actor": "u1", "comment": "ok"}], "id": 3}
    assert visibility.redact(body, False) == {
        "owner": "张*三",
        "phone": "",
        "events": [{"actor": "", "comment": "ok"}],
        "id": 3,
    }
    assert visibility.redact(body, True) is body
