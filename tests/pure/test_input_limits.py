"""Bounded work per call in the pure engines (issue 14): names, readings and queries have limits.

Timings are guards against unbounded behaviour with a generous margin, not benchmarks.
"""

from __future__ import annotations

import tracemalloc

import pytest

from geo_mz.core.limits import (
    MAX_NAME_CHARS,
    MAX_READING_CHARS,
    MAX_TEXT_CHARS,
    InputTooLong,
    ensure_length,
)
from geo_mz.placenames import romanize, rules, search
from tests.timing import best_of, raised

# Characters with several readings each: the homophone keys multiply per heteronym combination.
POLYPHONES = "行长重乐还朝差调和都着觉曾单"
HUGE_NAME = ("行长重乐" * 2_500) + "路"  # 10,001 characters


@pytest.fixture(scope="module")
def pack() -> rules.RulePack:
    return rules.RulePack.load("default")


def test_limits_are_ordered() -> None:
    assert MAX_NAME_CHARS == 50
    assert MAX_TEXT_CHARS == 200
    assert MAX_READING_CHARS == 200  # the reading columns (PlaceName, NamingCaseItem)


def test_given_text_at_and_over_limit_when_ensure_length_then_only_the_longer_one_fails() -> None:
    assert ensure_length("路" * 50, 50) == "路" * 50

    with pytest.raises(InputTooLong) as caught:
        ensure_length("路" * 51, 50, "name")

    assert (caught.value.length, caught.value.limit, caught.value.field) == (51, 50, "name")
    assert "50" in str(caught.value) and "51" in str(caught.value)


def test_given_10000_character_name_when_checked_then_bounded_input_error_fast(pack: rules.RulePack) -> None:
    proposal = rules.Proposal(name=HUGE_NAME, division_code="421281")

    for call in (
        lambda: rules.check(proposal, [], pack),
        lambda: rules.candidate_keys(proposal, pack),
        lambda: rules.search_keys(HUGE_NAME, HUGE_NAME[:-1]),
    ):
        error, elapsed = best_of(lambda call=call: raised(call, InputTooLong))
        assert elapsed < 0.1, f"{elapsed:.3f} s"
        assert isinstance(error, InputTooLong) and error.field == "name"


def test_given_huge_reading_when_checked_then_bounded_input_error(pack: rules.RulePack) -> None:
    proposal = rules.Proposal(name="中山路", division_code="421281", reading="zhong " * 2_000)

    with pytest.raises(InputTooLong) as caught:
        rules.check(proposal, [], pack)

    assert caught.value.field == "reading"


def test_given_50_character_name_of_polyphones_when_checked_then_time_and_memory_bounded(
    pack: rules.RulePack,
) -> None:
    name = (POLYPHONES * 5)[: MAX_NAME_CHARS - 1] + "路"
    assert len(name) == MAX_NAME_CHARS
    proposal = rules.Proposal(name=name, division_code="421281")
    existing = [
        rules.ExistingName(id=1, name="中山路", specific="中山", generic="路", division_code="421281")
    ]

    def cold_check() -> tuple[list[rules.Finding], list[str]]:
        rules.clear_caches()  # no help from an earlier run's pinyin caches
        return rules.check(proposal, existing, pack), rules.candidate_keys(proposal, pack)

    (findings, keys), elapsed = best_of(cold_check)
    tracemalloc.start()  # memory in a separate run: tracing slows Python down several times
    try:
        cold_check()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert findings and keys  # it did the work: length findings, homophone keys
    assert elapsed < 0.5, f"{elapsed:.3f} s"
    assert peak < 50 * 2**20, f"{peak / 2**20:.1f} MiB"


def test_given_10000_characters_when_romanized_then_bounded_input_error_fast() -> None:
    for call in (
        lambda: romanize.romanize(HUGE_NAME),
        lambda: romanize.readings("中山路", override="zhong " * 2_000),
    ):
        error, elapsed = best_of(lambda call=call: raised(call, InputTooLong))
        assert elapsed < 0.1, f"{elapsed:.3f} s"


def test_given_50_character_name_when_romanized_then_it_works() -> None:
    assert romanize.romanize("中" * 49 + "路").startswith("Zhongzhong")


def test_given_10000_character_query_when_search_planned_then_bounded_input_error_fast() -> None:
    error, elapsed = best_of(lambda: raised(lambda: search.plan(HUGE_NAME), InputTooLong))
    assert elapsed < 0.1, f"{elapsed:.3f} s"
    assert isinstance(error, InputTooLong) and error.field == "q"
    assert search.plan("中山" * 25).mode == "han"
