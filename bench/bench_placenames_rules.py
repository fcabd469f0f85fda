"""Place-name rule engine benchmarks: one proposal against 100,000 synthetic road names.

The names are generated deterministically (seeded): specifics of 1–4 characters drawn from a pool of
common place-name characters, a weighted road generic, a division code among a few counties of
咸宁市, and a projected EPSG:4547 point around (500 000, 3 290 000) ± 30 km.
"""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import Callable, Sequence

from pypinyin import Style, pinyin

from bench.runner import Case
from geo_mz.placenames.rules import (
    ExistingName,
    NameIndex,
    Proposal,
    RulePack,
    check,
    clear_caches,
    split_name,
)

N_NAMES = 100_000

_POOL = (
    "东西南北中新华建设人民解放和平胜利幸福长江黄河金银龙凤花园山水湖海春秋文明光明正义朝阳向阳红星"
    "团结友谊复兴振兴兴隆安康富强民主自由青年工农学府桂花桃李杨柳松柏竹梅兰菊荷莲石桥沙洲滨江河岸"
    "港湾塘堰坝堤渡口岭坡岗冈峰岩泉溪潭湾源田畈垸畔庄寨堡铺店集市镇乡村城关门楼台阁亭寺庙观宫殿"
    "云霞霄虹晴雨雪霜风雷电光辉耀明亮清秀丽美嘉祥瑞福寿康宁泰安平顺昌盛隆兴旺茂荣华富贵"
)
_GENERICS = ("路", "街", "巷", "大道", "大街", "里", "弄", "桥")
_GENERIC_WEIGHTS = (50, 20, 14, 4, 4, 3, 2, 3)
_COUNTIES = ("421202", "421221", "421222", "421223", "421224", "421281", "420111", "420115")
_STATUSES = ("active", "approved", "proposed", "retired")
_STATUS_WEIGHTS = (88, 4, 3, 5)


def _lonlat(x: float, y: float) -> tuple[float, float]:
    """Rough display coordinates (the engine only carries them through)."""
    return 114.0 + (x - 500_000) / 96_500.0, y / 110_850.0


@functools.cache
def synthetic_names(n: int = N_NAMES, seed: int = 20240501) -> tuple[ExistingName, ...]:
    rng = random.Random(seed)
    out: list[ExistingName] = []
    for i in range(n):
        k = rng.choices((1, 2, 3, 4), weights=(5, 62, 25, 8))[0]
        specific = "".join(rng.choice(_POOL) for _ in range(k))
        generic = rng.choices(_GENERICS, weights=_GENERIC_WEIGHTS)[0]
        x = 500_000 + rng.uniform(-30_000, 30_000)
        y = 3_290_000 + rng.uniform(-30_000, 30_000)
        lon, lat = _lonlat(x, y)
        out.append(
            ExistingName(
                id=i + 1,
                name=specific + generic,
                specific=specific,
                generic=generic,
                division_code=rng.choice(_COUNTIES) + f"{rng.randint(1, 12):03d}",
                status=rng.choices(_STATUSES, weights=_STATUS_WEIGHTS)[0],
                x=x,
                y=y,
                lon=lon,
                lat=lat,
            )
        )
    return tuple(out)


# The runner warms up on the first proposal and times the next `repeat` ones: the trivial one
# (no candidates) is first so the timed median is over the proposals with the most candidates.
PROPOSALS: tuple[Proposal, ...] = (
    Proposal("国际大道", "421202003", x=505_000, y=3_295_000, width_m=50),
    Proposal("人民路", "421281002", x=499_000, y=3_288_000, width_m=30),
    Proposal("钟山路", "421281001", x=501_000, y=3_291_000, width_m=24),
    Proposal("新华街", "421223002", x=490_000, y=3_300_000, width_m=15),
    Proposal("长乐路", "421281004", x=498_000, y=3_285_000),
    Proposal("解放路南小街", "421221001", x=510_000, y=3_280_000, width_m=10),
    Proposal("桂花巷", "421224001", x=495_000, y=3_275_000, width_m=6),
)


def _toneless_combos(text: str) -> set[str]:
    return {"".join(c) for c in itertools.product(*pinyin(text, style=Style.NORMAL, heteronym=True))}


def naive_check(
    proposal: Proposal, names: Sequence[ExistingName], pack: RulePack
) -> list[tuple[str, int | str]]:
    """What a straightforward implementation does: walk every name, compute its pinyin, compare."""
    specific = split_name(proposal.name, pack)[0]
    mine = _toneless_combos(specific)
    out: list[tuple[str, int | str]] = []
    for e in names:
        theirs = _toneless_combos(e.specific)
        if e.division_code[:6] != proposal.division_code[:6] or e.status == "retired":
            continue
        if e.name == proposal.name:
            out.append(("duplicate.exact", e.id))
        elif e.specific == specific:
            out.append(("duplicate.specific", e.id))
        elif mine & theirs:
            out.append(("homophone", e.id))
    return out


def _cycle(fn: Callable[[Proposal], object]) -> Callable[[], object]:
    """One proposal per call, cycling, so the runner's median is a per-proposal median."""
    it = itertools.cycle(PROPOSALS)
    return lambda: fn(next(it))


def case_check() -> Case:
    names = synthetic_names()
    pack = RulePack.load("default")
    index = NameIndex(names)
    return Case(
        f"placenames: rule check 1 proposal vs {N_NAMES // 1000}k names (NameIndex, median of 3)",
        _cycle(lambda p: check(p, index, pack)),
        _cycle(lambda p: naive_check(p, names, pack)),
        "naive loop: pinyin() of every name + exact/专名 compare",
        repeat=3,
    )


def case_build() -> Case:
    names = synthetic_names()
    return Case(
        f"placenames: NameIndex build, {N_NAMES // 1000}k names (pinyin + search keys)",
        lambda: (clear_caches(), NameIndex(names)),  # cold: no pinyin cached from the warm-up
        lambda: [pinyin(e.name, style=Style.NORMAL, heteronym=True) for e in names],
        "pypinyin.pinyin(heteronym) per name only",
        repeat=1,
    )


def cases() -> list[Case]:
    return [case_build(), case_check()]
