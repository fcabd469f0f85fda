"""Place-name search and database rule checks over 100,000 names (real PostGIS).

The first run inserts 100,000 synthetic names (feature codes BX000001…, `synthetic=True`) into the
configured database, once; `python -m bench.bench_placenames_search --clean` removes them.
"""

from __future__ import annotations

import itertools
import random
import sys

from bench.runner import Case

N_NAMES = 100_000
PREFIX = "BX"
CHARS = "中山人民建设解放和平东西南北新华光明胜利友谊文化青年朝阳团结幸福长江黄河金水银桥龙凤春秋花园松柏竹梅兰菊安康泰丰茂盛荣昌兴隆德仁义礼智信"
GENERICS = ["路", "街", "巷", "大道", "大街", "里"]
QUERIES = [
    "中",
    "山",
    "凤",
    "兴",
    "中山",
    "建设",
    "和平",
    "金水",
    "中山路",
    "解放大道",
    "zsl",
    "js",
    "jfdd",
    "zhongshan",
    "jianshe",
    "hp",
    "heping",
    "钟山",
    "z",
    "xh",
]


def _names(count: int) -> list[str]:
    rng = random.Random(20231)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        name = "".join(rng.choice(CHARS) for _ in range(rng.choice((2, 2, 3, 4)))) + rng.choice(GENERICS)
        if name not in seen:
            seen.add(name)
            out.append(name)
    return out


def ensure_data() -> None:
    from django.contrib.gis.geos import Point
    from django.db import transaction

    from geo_mz.divisions.models import Division
    from geo_mz.placenames import services
    from geo_mz.placenames.models import FeatureKind, NamedFeature, PlaceName

    if PlaceName.objects.filter(feature__code__startswith=PREFIX).count() >= N_NAMES:
        return
    clean()
    services.feature_kinds_ensure()
    kind = FeatureKind.objects.get(code="road")
    townships = list(Division.objects.filter(level="township", code__startswith="421281").exclude(point=None))
    rng = random.Random(7)
    print(f"… inserting {N_NAMES} bench names (once)", file=sys.stderr, flush=True)
    with transaction.atomic():
        features = []
        for i in range(N_NAMES):
            town = townships[i % len(townships)]
            features.append(
                NamedFeature(
                    code=f"{PREFIX}{i:06d}",
                    kind=kind,
                    status="active",
                    point=Point(
                        town.point.x + rng.uniform(-3000, 3000),
                        town.point.y + rng.uniform(-3000, 3000),
                        srid=town.point.srid,
                    ),
                    division=town,
                    synthetic=True,
                )
            )
        NamedFeature.objects.bulk_create(features, batch_size=5000)
        features = {f.code: f for f in NamedFeature.objects.filter(code__startswith=PREFIX)}
        pack = services.rule_pack()
        from geo_mz.placenames import rules

        records = []
        for i, name in enumerate(_names(N_NAMES)):
            specific, generic = rules.split_name(name, pack)
            record = PlaceName(
                feature=features[f"{PREFIX}{i:06d}"],
                name=name,
                specific=specific,
                generic=generic,
                status="active",
            )
            for key, value in services.search_fields(name, specific).items():
                setattr(record, key, value)
            records.append(record)
        PlaceName.objects.bulk_create(records, batch_size=5000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE placenames_placename; ANALYZE placenames_namedfeature")


def clean() -> None:
    from geo_mz.placenames.models import NamedFeature, PlaceName

    PlaceName.objects.filter(feature__code__startswith=PREFIX).delete()
    NamedFeature.objects.filter(code__startswith=PREFIX).delete()


def cases() -> list[Case]:
    import django

    django.setup()
    from django.db import connection, transaction

    from geo_mz.placenames import rules, selectors, services
    from geo_mz.placenames.models import PlaceName

    ensure_data()
    queries = itertools.cycle(QUERIES)
    reference_queries = itertools.cycle(QUERIES)

    def ours() -> None:
        selectors.placename_search(next(queries))

    def reference() -> None:
        q = next(reference_queries)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_bitmapscan = off; SET LOCAL enable_indexscan = off")
            cursor.execute(
                "SELECT id, name FROM placenames_placename WHERE status <> 'retired' AND "
                "(name ILIKE %s OR pinyin ILIKE %s OR initials ILIKE %s) ORDER BY length(name), name LIMIT 20",
                [f"%{q}%"] * 3,
            )
            cursor.fetchall()

    proposals = itertools.cycle(["钟山路", "人民路", "建设大道", "和平巷", "新华街", "国际大道", "金水桥路"])
    naive_proposals = itertools.cycle(
        ["钟山路", "人民路", "建设大道", "和平巷", "新华街", "国际大道", "金水桥路"]
    )
    pack = services.rule_pack()

    def check_db() -> None:
        name = next(proposals)
        services.placename_check(services.proposal_build(name=name, division_code="421281002"))

    def check_naive() -> None:
        name = next(naive_proposals)
        spec, _ = rules.split_name(name, pack)
        keys = rules.toneless_variants(spec)
        hits = []
        for other, other_spec in PlaceName.objects.values_list("name", "specific").iterator(chunk_size=5000):
            if other == name or other_spec == spec or keys & rules.toneless_variants(other_spec):
                hits.append(other)

    return [
        Case(
            f"name search over {N_NAMES:,} names (1–2 chars, initials, pinyin, homophones; GIN tokens)",
            ours,
            reference,
            "ILIKE '%q%' on name/pinyin/initials, no index",
            repeat=200,
            statistic="p95",
        ),
        Case(
            f"rule check of 1 proposal vs {N_NAMES:,} names in PostGIS (GIN key prefilter + rules)",
            check_db,
            check_naive,
            "naive loop over all names from the DB comparing pinyin",
            repeat=7,
        ),
    ]


if __name__ == "__main__":
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_mz.settings")
    django.setup()
    if "--clean" in sys.argv:
        clean()
    else:
        from bench.runner import run, table

        print(table([run(c) for c in cases()]))
