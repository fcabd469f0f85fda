"""Two officers approving the same case at the same moment, on two real database connections.

The test commits its own rows (it needs two connections to see them) and deletes them afterwards,
instead of using a transactional test case, whose flush would drop the session's demo county.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from geo_mz.core.errors import ConflictError


def test_two_simultaneous_approvals_one_wins_one_gets_a_clear_refusal(django_db_blocker):
    from django.db import connection, connections

    from geo_mz.core.models import DecisionDocument
    from geo_mz.placenames import services
    from geo_mz.placenames.models import NamedFeature, NamingCase, PlaceName
    from tests.placenames.test_cases import DAY0, _line

    with django_db_blocker.unblock():
        services.feature_kinds_ensure()
        case = services.naming_case_create(
            kind="new",
            division_code="421281002",
            title="并发测试路命名",
            applicant="测试",
            items=[{"name": "并发测试路", "geom": _line([(113.95, 29.70), (113.955, 29.70)])}],
            today=DAY0,
        )
        try:
            services.naming_case_transition(case.pk, "accept", today=DAY0)
            services.naming_case_transition(case.pk, "start_notice", today=DAY0)
            case = services.naming_case_transition(case.pk, "submit", today=DAY0 + dt.timedelta(days=10))
            barrier = threading.Barrier(2)
            outcomes: list[object] = []

            def approve(number: str) -> None:
                try:
                    barrier.wait()
                    services.naming_case_transition(
                        case.pk,
                        "approve",
                        expected_version=case.version,
                        today=DAY0 + dt.timedelta(days=12),
                        payload={
                            "decision_number": number,
                            "decided_on": DAY0 + dt.timedelta(days=12),
                            "approving_body": "赤壁市人民政府",
                        },
                    )
                    outcomes.append("ok")
                except ConflictError as exc:
                    outcomes.append(exc)
                finally:
                    connections.close_all()

            threads = [threading.Thread(target=approve, args=(f"并发测试〔2026〕{i}号",)) for i in (1, 2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)

            assert sorted(map(str, outcomes)).count("ok") == 1, outcomes
            refusal = next(o for o in outcomes if isinstance(o, ConflictError))
            assert refusal.code in ("stale", "invalid_transition") and "案件" in refusal.message
            # exactly one approval was written: one name record, one decision
            assert PlaceName.objects.filter(case_id=case.pk).count() == 1
            assert DecisionDocument.objects.filter(number__startswith="并发测试").count() == 1
        finally:
            case = NamingCase.objects.get(pk=case.pk)
            names = list(PlaceName.objects.filter(case=case))
            features = [n.feature_id for n in names] + [
                i.feature_id for i in case.items.all() if i.feature_id
            ]
            case.items.update(result_name=None, feature=None)
            PlaceName.objects.filter(pk__in=[n.pk for n in names]).delete()
            case.delete()
            NamedFeature.objects.filter(pk__in=features).delete()
            DecisionDocument.objects.filter(number__startswith="并发测试").delete()
            connection.close()


@pytest.fixture(autouse=True)
def _no_leftovers(django_db_blocker):
    yield
    from geo_mz.placenames.models import NamingCase

    with django_db_blocker.unblock():
        assert not NamingCase.objects.filter(title="并发测试路命名").exists()


def _ready_case(services, division, name: str, day: dt.date):
    """A new-road case in `division`, through notice, ready for approval (committed)."""
    from django.conf import settings
    from django.contrib.gis.geos import LineString

    inner = division.geom.point_on_surface
    line = LineString((inner.x - 15, inner.y), (inner.x + 15, inner.y), srid=settings.GEO_MZ_SRID)
    case = services.naming_case_create(
        kind="new",
        division_code=division.code,
        title="并发重名测试",
        applicant="测试",
        items=[{"name": name, "geom": line}],
        today=day,
    )
    services.naming_case_transition(case.pk, "accept", today=day)
    services.naming_case_transition(case.pk, "start_notice", today=day)
    return services.naming_case_transition(case.pk, "submit", today=day + dt.timedelta(days=10))


def test_eight_townships_approving_the_same_new_name_at_once_give_one_name(django_db_blocker):
    """不得重名 under concurrency: eight cases in eight townships propose the same road name and are
    approved at the same moment on eight connections. Exactly one wins; seven get a clear refusal
    naming the duplicate (before the county lock, 2–5 duplicates were approved)."""
    from django.core.exceptions import ValidationError
    from django.db import connection, connections

    from geo_mz.core.models import DecisionDocument, LifecycleStatus
    from geo_mz.divisions.models import Division, Level
    from geo_mz.placenames import services
    from geo_mz.placenames.models import NamedFeature, NamingCase, PlaceName
    from tests.placenames.test_cases import DAY0

    name = "同名并发测试路"
    with django_db_blocker.unblock():
        services.feature_kinds_ensure()
        towns = list(Division.objects.filter(level=Level.TOWNSHIP, geom__isnull=False).order_by("code")[:8])
        assert len(towns) == 8
        cases = []
        try:
            cases = [_ready_case(services, town, name, DAY0) for town in towns]
            barrier = threading.Barrier(len(cases))
            outcomes: list[object] = []

            def approve(case, i: int) -> None:
                try:
                    barrier.wait()
                    services.naming_case_transition(
                        case.pk,
                        "approve",
                        today=DAY0 + dt.timedelta(days=12),
                        payload={
                            "decision_number": f"重名并发〔2026〕{i}号",
                            "decided_on": DAY0 + dt.timedelta(days=12),
                            "approving_body": "赤壁市人民政府",
                        },
                    )
                    outcomes.append("ok")
                except ValidationError as exc:
                    outcomes.append(exc)
                finally:
                    connections.close_all()

            threads = [threading.Thread(target=approve, args=(c, i)) for i, c in enumerate(cases)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
            assert outcomes.count("ok") == 1, outcomes
            refusals = [o for o in outcomes if isinstance(o, ValidationError)]
            assert len(refusals) == 7
            assert all(name in str(r) for r in refusals)
            live = PlaceName.objects.filter(name=name).exclude(status=LifecycleStatus.RETIRED)
            assert live.count() == 1
        finally:
            ids = [c.pk for c in cases]
            names = list(PlaceName.objects.filter(case_id__in=ids))
            features = {n.feature_id for n in names} | {
                i.feature_id
                for c in NamingCase.objects.filter(pk__in=ids)
                for i in c.items.all()
                if i.feature_id
            }
            for c in NamingCase.objects.filter(pk__in=ids):
                c.items.update(result_name=None, feature=None)
            PlaceName.objects.filter(pk__in=[n.pk for n in names]).delete()
            NamingCase.objects.filter(pk__in=ids).delete()
            NamedFeature.objects.filter(pk__in=features).delete()
            DecisionDocument.objects.filter(number__startswith="重名并发").delete()
            connection.close()


def test_twenty_concurrent_case_creations_through_the_api_all_succeed(django_db_blocker):
    """20 officers file a naming case at the same moment: 20 × 201 with 20 different case numbers
    (MAX()+1 numbering gave 12 × 500)."""
    from django.contrib.auth import get_user_model
    from django.db import connection, connections
    from rest_framework.test import APIClient

    from geo_mz.core import roles
    from geo_mz.core.services import user_create
    from geo_mz.placenames.models import NamingCase

    line = {"type": "LineString", "coordinates": [[113.930, 29.740], [113.936, 29.741]]}
    with django_db_blocker.unblock():
        user = user_create(
            "concurrent_officer",
            password="pw-Test-12345",
            role=roles.PLACENAME_OFFICER,
            jurisdiction_code="421281",
        )
        barrier = threading.Barrier(20)
        responses: list[object] = []
        lock = threading.Lock()

        def create(i: int) -> None:
            try:
                client = APIClient()
                client.force_authenticate(user)
                barrier.wait()
                r = client.post(
                    "/api/naming-cases/",
                    {
                        "kind": "new",
                        "division_code": "421281002",
                        "title": "并发创建测试",
                        "applicant": "测试",
                        "items": [
                            {
                                "name": f"并发创建{'甲乙丙丁戊己庚辛壬癸'[i % 10]}{'东西'[i // 10]}路",
                                "geometry": line,
                            }
                        ],
                    },
                    format="json",
                )
                with lock:
                    responses.append((r.status_code, r.json()))
            finally:
                connections.close_all()

        try:
            threads = [threading.Thread(target=create, args=(i,)) for i in range(20)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
            assert [code for code, _ in responses] == [201] * 20, [b for c, b in responses if c != 201][:2]
            assert len({body["number"] for _, body in responses}) == 20
        finally:
            NamingCase.objects.filter(title="并发创建测试").delete()
            get_user_model().objects.filter(username="concurrent_officer").delete()
            connection.close()
