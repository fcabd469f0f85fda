"""Search planning and tokens (pure): short Chinese queries, initials, pinyin."""

from __future__ import annotations

from geo_mz.placenames import search


def test_tokens_cover_specific_chars_name_bigrams_and_initial_substrings():
    tokens = search.name_tokens("中山路", "中山", "zsl")
    assert {"中", "山", "中山", "山路", "i:z", "i:zs", "i:zsl", "i:sl"} <= set(tokens)
    assert "路" not in tokens  # a bare generic query would match most of the gazetteer


def test_plans_for_one_two_and_three_characters():
    assert search.plan("中").tokens == ("中",)
    assert search.plan("中山").tokens == ("中山",)
    three = search.plan("中山路")
    assert set(three.tokens) == {"中山", "山路"} and three.substring == "中山路"
    assert "zhongshan" in search.plan("钟山").pinyin_prefixes
    assert search.plan("钟").pinyin_prefixes == ()  # one syllable: too many homophones to be useful
    assert search.plan("z").tokens == () and search.plan("z").pinyin_prefixes == ("z",)


def test_latin_plans_use_initials_and_pinyin():
    plan = search.plan(" ZSL ")
    assert plan.mode == "latin" and plan.tokens == ("i:zsl",) and plan.pinyin_prefixes == ("zsl",)
    assert search.plan("Zhong Shan").pinyin_prefixes == ("zhongshan",)
    assert search.plan("ｚｓｌ").query == "zsl"  # full-width letters are folded
    assert search.plan("xi'an").query == "xian"


def test_mixed_or_empty_queries_plan_nothing():
    assert search.plan("").mode == "empty"
    assert search.plan("中a1").mode == "empty"
