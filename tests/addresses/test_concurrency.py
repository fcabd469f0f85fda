"""Twenty officers numbering on the same road at the same moment, on real parallel connections.

The test commits its own rows (each thread needs its own connection to see them) and deletes them
afterwards, instead of a transactional test case whose flush would drop the session's demo county.
"""

from __future__ import annotations

import datetime as dt
import threading

from django.core.exceptions import ValidationError

from geo_mz.core.errors import ConflictError

N = 20


def _run_parallel(fn, n: int) -> list[object]:
    from django.db import connections

    barrier = threading.Barrier(n)
    outcomes: list[object] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        try:
            barrier.wait()
            result = fn(i)
        except Exception as exc:  # noqa: BLE001 - every outcome is asserted below
            result = exc
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def _setup_road():
    from django.conf import settings
    from django.contrib.gis.geos import LineString

    from geo_mz.core import crs
    from geo_mz.placenames import services as placenames
    from geo_mz.placenames.models import FeatureKind, NamedFeature

    for stale in NamedFeature.objects.filter(code="TCONC1"):  # left by an interrupted run
        _cleanup(stale)
    placenames.feature_kinds_ensure()
    coords = [
        crs.lonlat_to_projected(lon, lat, settings.GEO_MZ_SRID)
        for lon, lat in ((113.945, 29.702), (113.955, 29.702))
    ]
    road = placenames.feature_create(
        kind=FeatureKind.objects.get(code="road"),
        geom=LineString(coords, srid=settings.GEO_MZ_SRID),
        code="TCONC1",
        status="active",
    )
    placenames.name_register(road, name="鹭并发路", decision=None, valid_from=dt.date(2020, 1, 1))
    return road


def _cleanup(road) -> None:
    from geo_mz.addresses.models import Address
    from geo_mz.placenames.models import NamedFeature, PlaceName

    Address.history.filter(feature_id=road.pk).delete()
    Address.objects.filter(feature=road).delete()
    PlaceName.objects.filter(feature=road).delete()
    NamedFeature.objects.filter(pk=road.pk).delete()


def test_twenty_parallel_numberings_of_one_road_never_duplicate(django_db_blocker):
    from geo_mz.addresses import services
    from geo_mz.addresses.models import Address
    from tests.addresses.conftest import offset_point

    with django_db_blocker.unblock():
        road = _setup_road()
        try:
            # each officer captures one entrance at nearly the same spot, then numbers it
            entrances = [
                services.entrance_add(
                    kind="road", point=offset_point(road, 100 + i * 0.5, 12 if i % 2 else -12), feature=road
                )
                for i in range(N)
            ]
            outcomes = _run_parallel(
                lambda i: services.road_numbering_commit(road.pk, only=[entrances[i].pk]), N
            )
            wins = [o for o in outcomes if isinstance(o, list)]
            # an entrance committed after both its neighbours may find no number left between them
            # (e.g. between 10 and 10之一): that is a clear refusal, never a duplicate
            others = [o for o in outcomes if not isinstance(o, list)]
            assert all(isinstance(o, ValidationError) and "没有可用号码" in str(o) for o in others), others[
                :3
            ]
            # how many find a number depends on the order the commits land in (9 to 14 seen); what
            # is guaranteed is the first commit on each side, which has no same-parity neighbour yet
            sides = {a.side for w in wins for a in w}
            assert len(wins) >= 2 and sides == {1, -1}, (len(wins), sides)
            active = list(Address.objects.filter(feature=road, status="active"))
            labels = [(a.number, a.suffix) for a in active]
            assert len(active) == len(wins) and len(set(labels)) == len(active)
            assert all((a.number % 2 == 1) == (a.side == 1) for a in active if a.side is not None)
        finally:
            _cleanup(road)


def test_twenty_parallel_claims_of_the_same_number_one_wins(django_db_blocker):
    from geo_mz.addresses import services
    from geo_mz.addresses.models import Address
    from tests.addresses.conftest import offset_point

    with django_db_blocker.unblock():
        road = _setup_road()
        try:
            entrances = [
                services.entrance_add(kind="road", point=offset_point(road, 300 + i, 12), feature=road)
                for i in range(N)
            ]
            outcomes = _run_parallel(
                lambda i: services.road_numbering_commit(
                    road.pk, only=[entrances[i].pk], adjustments={entrances[i].pk: "31"}
                ),
                N,
            )
            wins = [o for o in outcomes if isinstance(o, list)]
            refusals = [o for o in outcomes if not isinstance(o, list)]
            assert len(wins) == 1
            assert all(isinstance(o, (ConflictError, Exception)) for o in refusals)
            assert all(
                "31" in str(getattr(o, "message", o)) or "已在使用" in str(o) or "duplicate" in str(o)
                for o in refusals
            ), refusals[:3]
            assert Address.objects.filter(feature=road, status="active", number=31).count() == 1
        finally:
            _cleanup(road)


def test_a_certificate_reissued_twice_at_once_is_reissued_once(django_db_blocker):
    from geo_mz.addresses import services
    from geo_mz.addresses.models import Certificate
    from tests.addresses.conftest import offset_point

    with django_db_blocker.unblock():
        road = _setup_road()
        try:
            a = services.entrance_add(kind="road", point=offset_point(road, 50, 12), feature=road)
            services.road_numbering_commit(road.pk)
            a.refresh_from_db()
            cert = services.certificate_issue(a, owner="并发测试")
            outcomes = _run_parallel(
                lambda i: services.certificate_reissue(cert.pk, reason="遗失", expected_version=cert.version),
                2,
            )
            assert sum(isinstance(o, Certificate) for o in outcomes) == 1
            refusal = next(o for o in outcomes if not isinstance(o, Certificate))
            assert isinstance(refusal, ConflictError) and cert.serial in refusal.message
            assert Certificate.objects.filter(address=a, status="valid").count() == 1
        finally:
            from geo_mz.addresses.models import Certificate as C

            C.objects.filter(address__feature=road).update(replaces=None)
            C.objects.filter(address__feature=road).delete()
            _cleanup(road)


def test_a_road_commit_racing_five_case_issuances_never_changes_a_reviewed_number(django_db_blocker):
    """Entrances in open house-number cases belong to their cases: a road commit at the same moment
    numbers only the other pending entrances, each certificate carries the number review approved,
    and no active number is ever changed in place (before: 4 of 5 reviewed numbers overwritten)."""
    from geo_mz.addresses import services
    from geo_mz.addresses.models import Address, AddressCase, Certificate
    from tests.addresses.conftest import offset_point

    with django_db_blocker.unblock():
        road = _setup_road()
        try:
            cases = []
            for i in range(5):
                case = services.address_case_create(
                    owner=f"并发户{i}",
                    point=offset_point(road, 120 + i * 40, 12 if i % 2 else -12),
                    feature=road,
                )
                services.address_case_transition(case.pk, "accept")
                cases.append(services.address_case_transition(case.pk, "submit"))
            reviewed = {c.pk: (c.address.number, c.address.suffix) for c in cases}
            assert all(n for n, _ in reviewed.values())
            plain = [
                services.entrance_add(kind="road", point=offset_point(road, 140 + i * 40, 12), feature=road)
                for i in range(3)
            ]

            def act(i: int):
                if i == 0:
                    return services.road_numbering_commit(road.pk)
                return services.address_case_transition(cases[i - 1].pk, "issue")

            outcomes = _run_parallel(act, 6)
            assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
            committed = next(o for o in outcomes if isinstance(o, list))
            assert {a.pk for a in committed} == {p.pk for p in plain}  # the cases' entrances untouched
            for case in AddressCase.objects.filter(pk__in=reviewed).select_related("address"):
                assert (case.address.number, case.address.suffix) == reviewed[case.pk]
                assert case.address.status == "active" and case.state == "issued"
                cert = Certificate.objects.get(case=case)
                assert cert.address_id == case.address_id
            # history: once a number is active it never changes in place
            for address in Address.objects.filter(feature=road):
                rows = list(address.history.order_by("history_date", "history_id"))
                active = [(h.number, h.suffix) for h in rows if h.status == "active"]
                assert len(set(active)) <= 1, (address.pk, active)
        finally:
            Certificate.objects.filter(address__feature=road).delete()
            AddressCase.objects.filter(address__feature=road).delete()
            _cleanup(road)
