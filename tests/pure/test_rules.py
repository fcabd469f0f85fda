"""Tests for geo_mz.placenames.rules (pure: no Django, no database)."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypinyin import Style, pinyin
from pypinyin.constants import PHRASES_DICT

from geo_mz.placenames.rules import (
    DEFAULT_SEVERITIES,
    RULE_IDS,
    ExistingName,
    Finding,
    NameIndex,
    Proposal,
    RulePack,
    RulePackError,
    candidate_keys,
    check,
    has_errors,
    initials,
    search_keys,
    split_name,
    toneless_variants,
)

ROOT = Path(__file__).resolve().parents[2]
COUNTY = "421281"  # 赤壁市
OTHER_COUNTY = "421202"  # 咸安区, same city 4212
NAMES = {"421281": "赤壁市", "421202": "咸安区"}


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return RulePack.load("default")


def pack_with(**overrides: Any) -> RulePack:
    data = json.loads((ROOT / "geo_mz/placenames/rulepacks/default.json").read_text(encoding="utf-8"))
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return RulePack.from_dict(data)


_ids = itertools.count(1)


def existing(name: str, specific: str | None = None, generic: str | None = None, **kw: Any) -> ExistingName:
    if specific is None or generic is None:
        specific, generic = split_name(name, RulePack.load("default"))
    kw.setdefault("division_code", COUNTY)
    return ExistingName(id=kw.pop("id", next(_ids)), name=name, specific=specific, generic=generic, **kw)


def run(
    name: str, names: list[ExistingName] | NameIndex | None = None, pack: RulePack | None = None, **kw: Any
) -> list[Finding]:
    kw.setdefault("division_code", COUNTY)
    return check(Proposal(name, **kw), names or [], pack or RulePack.load("default"), division_names=NAMES)


def rule_ids(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings}


def only(findings: list[Finding], rule_id: str) -> Finding:
    hits = [f for f in findings if f.rule_id == rule_id]
    assert len(hits) == 1, findings
    return hits[0]


# --------------------------------------------------------------------------- purity, pack


def test_given_a_clean_interpreter_when_importing_rules_then_django_is_not_loaded() -> None:
    code = (
        "import sys, geo_mz.placenames.rules as r; r.RulePack.load('default'); "
        "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]; assert not bad, bad"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_given_the_default_pack_when_loaded_then_it_is_complete_and_generics_are_longest_first(
    pack: RulePack,
) -> None:
    assert pack.name == "default"
    assert [len(g) for g in pack.generics] == sorted((len(g) for g in pack.generics), reverse=True)
    assert {"大道", "大街", "路", "街", "巷", "里", "弄", "坊", "胡同", "条", "道", "桥", "广场"} <= set(
        pack.generics
    )
    assert set(pack.severities) == set(DEFAULT_SEVERITIES) == set(RULE_IDS)
    assert pack.scope.kind == "county" and pack.scope.radius_m == 15000
    assert not pack.dialect.enabled
    assert {d.rule_id for d in pack.dictionaries} == {
        "forbidden.exaggerated",
        "forbidden.foreign",
        "forbidden.person",
        "forbidden.enterprise",
    }
    assert all(t != s for t, s in pack.traditional.items())
    assert pack.road_generics["大道"].min_width_m == 40 and pack.road_generics["巷"].max_width_m == 12


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "pack.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d["scope"].update(radius_m=-5), "scope.radius_m"),
        (lambda d: d["scope"].update(kind="province"), "scope.kind"),
        (lambda d: d["dictionaries"][1].update(severity="fatal"), "dictionaries[1].severity"),
        (lambda d: d["dictionaries"][0]["words"].append(3), "dictionaries[0].words[27]"),
        (lambda d: d["dictionaries"][0].update(rule_id="bad"), "dictionaries[0].rule_id"),
        (lambda d: d["road_generics"]["大道"].update(min_width_m="40"), "road_generics.大道.min_width_m"),
        (lambda d: d["road_generics"].update(大路={"min_width_m": 10}), "road_generics.大路"),
        (lambda d: d["severities"].update(homophone="loud"), "severities.homophone"),
        (lambda d: d["severities"].update(nonsense="error"), "severities.nonsense"),
        (lambda d: d["length"].update(max_specific=True), "length.max_specific"),
        (lambda d: d["length"].update(min_total=20), "length.min_total"),
        (lambda d: d["script"]["traditional"].update(东="东"), "script.traditional.东"),
        (lambda d: d["dialect"]["initials"].update(n="L"), "dialect.initials.n"),
        (lambda d: d.update(generics=[]), "generics"),
        (lambda d: d.update(generics=["路", "路"]), "generics[1]"),
        (lambda d: d.update(colour="red"), "colour"),
        (lambda d: d.pop("version"), "version"),
        (lambda d: d["structure"].update(stacking_generics=["楼"]), "structure.stacking_generics[0]"),
    ],
)
def test_given_a_bad_value_when_loading_a_pack_then_the_error_names_the_key_path(
    tmp_path: Path, mutate: Any, path: str
) -> None:
    data = json.loads((ROOT / "geo_mz/placenames/rulepacks/default.json").read_text(encoding="utf-8"))
    mutate(data)
    with pytest.raises(RulePackError) as exc:
        RulePack.load(_write(tmp_path, data))
    assert exc.value.path == path
    assert str(exc.value).startswith(path + ": ")


def test_given_broken_json_or_missing_file_when_loading_then_rule_pack_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x",\n "version": }', encoding="utf-8")
    with pytest.raises(RulePackError, match="第 2 行") as exc:
        RulePack.load(bad)
    assert exc.value.path == "$"
    with pytest.raises(RulePackError):
        RulePack.load("no_such_pack")
    with pytest.raises(RulePackError):
        RulePack.load("../etc")
    with pytest.raises(RulePackError) as exc2:
        RulePack.from_dict([1, 2])
    assert exc2.value.path == "$"


# --------------------------------------------------------------------------- names and pinyin


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("中山路", ("中山", "路")),
        ("人民大道", ("人民", "大道")),
        ("东大街", ("东", "大街")),
        ("人民大道路", ("人民大道", "路")),
        ("解放路南小街", ("解放路南小", "街")),
        ("大道", ("", "大道")),
        ("人民公园", ("人民公园", "")),
        (" 中山路 ", ("中山", "路")),
    ],
)
def test_given_a_name_when_split_then_specific_and_longest_generic(
    pack: RulePack, name: str, expected: tuple[str, str]
) -> None:
    assert split_name(name, pack) == expected


def test_given_polyphones_when_expanding_then_every_reading_is_kept() -> None:
    assert toneless_variants("长") == {"chang", "zhang"}
    assert toneless_variants("中山") == {"zhongshan"}
    assert "changle" in toneless_variants("常乐")
    assert toneless_variants("长乐", reading="Zhǎng Lè") == {"zhangle"}
    assert toneless_variants("长乐", reading="zhang3 le4") == {"zhangle"}
    assert toneless_variants("绿") == {"lv", "lu"}
    assert len(toneless_variants("乐乐乐乐乐乐乐", limit=5)) == 5
    assert len(toneless_variants("乐乐乐乐乐乐乐")) == 64  # 2**7 combinations, capped
    assert "lelelelelelele" in toneless_variants("乐乐乐乐乐乐乐")  # primary reading kept first


def test_given_names_when_taking_initials_then_first_letters() -> None:
    assert initials("中山路") == "zsl"
    assert initials("长乐路", reading="zhang le lu") == "zll"


_HANZI_POOL = "东西南北中新华建设人民解放和平长乐常重庆行知朝阳银行乐山调和都会"
_PHRASES = [p for p in itertools.islice(PHRASES_DICT, 0, 40000, 97) if len(p) <= 4]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_HANZI_POOL), st.sampled_from(_PHRASES)), min_size=1, max_size=4))
def test_given_hanzi_text_when_expanding_then_same_readings_as_pypinyin(parts: list[str]) -> None:
    text = "".join(parts)
    combos = itertools.islice(itertools.product(*pinyin(text, style=Style.NORMAL, heteronym=True)), 64)
    assert toneless_variants(text) == {"".join(c) for c in combos}


# --------------------------------------------------------------------------- structure


def test_given_an_empty_or_blank_name_when_checked_then_only_structure_empty() -> None:
    for name in ("", "   ", "\u3000"):
        findings = run(name, [existing("人民路")])
        assert [(f.rule_id, f.severity) for f in findings] == [("structure.empty", "error")]
    assert "structure.empty" not in rule_ids(run("人民路"))


def test_given_an_unknown_generic_when_checked_then_error() -> None:
    f = only(run("人民公园"), "structure.unknown_generic")
    assert f.severity == "error" and "人民公园" in f.message
    assert "structure.unknown_generic" not in rule_ids(run("人民路"))


def test_given_a_bare_generic_when_checked_then_error() -> None:
    assert only(run("大道"), "structure.bare_generic").severity == "error"
    assert "structure.bare_generic" not in rule_ids(run("东大道"))


@pytest.mark.parametrize("name", ["中山路街", "人民大道路", "东街路", "解放大街巷"])
def test_given_stacked_generics_when_checked_then_error(name: str) -> None:
    assert only(run(name), "structure.stacked_generic").severity == "error"


@pytest.mark.parametrize("name", ["解放路南小街", "马路街", "石桥路", "万里路", "花园路", "广场路"])
def test_given_a_generic_inside_the_specific_or_allow_listed_when_checked_then_not_stacked(name: str) -> None:
    assert "structure.stacked_generic" not in rule_ids(run(name))


@pytest.mark.parametrize("name", ["一路", "二街", "第三巷", "十一路"])
def test_given_a_bare_ordinal_when_checked_then_error(name: str) -> None:
    assert only(run(name), "structure.bare_ordinal").severity == "error"


@pytest.mark.parametrize("name", ["东一路", "建设二街", "纬三路"])
def test_given_an_ordinal_with_a_specific_when_checked_then_no_bare_ordinal(name: str) -> None:
    assert "structure.bare_ordinal" not in rule_ids(run(name))


def test_given_a_given_split_that_does_not_rebuild_the_name_when_checked_then_split_mismatch() -> None:
    assert only(run("人民路", specific="人", generic="街"), "structure.split_mismatch").severity == "error"
    assert "structure.split_mismatch" not in rule_ids(run("人民路", specific="人民", generic="路"))
    assert "structure.split_mismatch" not in rule_ids(run("人民路", generic="路"))


# --------------------------------------------------------------------------- duplicates


def test_given_the_same_name_in_the_same_county_when_checked_then_duplicate_exact_error() -> None:
    old = existing("人民路", x=500_000.0, y=3_290_000.0, lon=113.9, lat=29.7)
    findings = run("人民路", [old], x=501_200.0, y=3_290_000.0)
    f = only(findings, "duplicate.exact")
    assert f.severity == "error" and has_errors(findings)
    assert f.conflicts[0].id == old.id and f.conflicts[0].distance_m == pytest.approx(1200)
    assert "“人民路”（赤壁市，距离 1.2 公里）" in f.message
    assert findings[0].rule_id == "duplicate.exact"  # errors first


def test_given_the_same_name_in_another_county_when_checked_then_no_duplicate() -> None:
    assert "duplicate.exact" not in rule_ids(run("人民路", [existing("人民路", division_code=OTHER_COUNTY)]))


def test_given_city_scope_when_the_same_name_is_in_a_sibling_county_then_duplicate(pack: RulePack) -> None:
    city = pack_with(scope={"kind": "city"})
    names = [existing("人民路", division_code=OTHER_COUNTY + "001")]
    assert "duplicate.exact" in rule_ids(run("人民路", names, city, division_code=COUNTY + "002"))
    assert "duplicate.exact" not in rule_ids(run("人民路", names, city, division_code="420111"))


def test_given_radius_scope_when_the_same_name_is_20_km_away_then_no_duplicate_but_10_km_is() -> None:
    radius = pack_with(scope={"kind": "radius", "radius_m": 15000})
    far = existing("人民路", x=520_000.0, y=3_290_000.0)
    near = existing("人民路", x=510_000.0, y=3_290_000.0, division_code=OTHER_COUNTY)
    assert "duplicate.exact" not in rule_ids(run("人民路", [far], radius, x=500_000.0, y=3_290_000.0))
    f = only(run("人民路", [near], radius, x=500_000.0, y=3_290_000.0), "duplicate.exact")
    assert "15 公里范围内" in f.message and "距离 10.0 公里" in f.message


def test_given_radius_scope_without_points_when_checked_then_county_fallback() -> None:
    radius = pack_with(scope={"kind": "radius", "radius_m": 15000})
    far_no_point = existing("人民路")
    other_county = existing("人民路", division_code=OTHER_COUNTY)
    assert "duplicate.exact" in rule_ids(run("人民路", [far_no_point], radius, x=500_000.0, y=3_290_000.0))
    assert "duplicate.exact" not in rule_ids(run("人民路", [other_county], radius))


def test_given_the_same_specific_with_another_generic_when_checked_then_duplicate_specific_warning() -> None:
    f = only(run("人民大道", [existing("人民路")]), "duplicate.specific")
    assert f.severity == "warning" and "人民" in f.message
    assert "duplicate.specific" not in rule_ids(run("新民大道", [existing("人民路")]))


def test_given_a_retired_name_when_duplicated_then_info_only() -> None:
    findings = run(
        "人民路", [existing("人民路", status="retired"), existing("人民街", status="retired")], width_m=20
    )
    assert {(f.rule_id, f.severity) for f in findings} == {("duplicate.retired", "info")}
    assert len(findings) == 2 and not has_errors(findings)
    assert "曾用名" in findings[0].message
    assert (
        run("钟山路", [existing("中山路", status="retired")], width_m=20) == []
    )  # no homophone with retired


def test_given_other_kinds_when_checked_then_ignored_unless_configured() -> None:
    bridge = existing("人民桥", kind="bridge")
    assert "duplicate.exact" not in rule_ids(run("人民桥", [bridge]))
    assert "duplicate.exact" in rule_ids(run("人民桥", [bridge], pack_with(compare_across_kinds=True)))


def test_given_excluded_ids_when_checked_then_those_names_are_ignored() -> None:
    old = existing("人民路")
    assert run("人民路", [old], exclude_ids=frozenset({old.id}), width_m=20) == []
    assert run("人民路", [old], exclude_ids=frozenset({str(old.id)}), width_m=20) == []


# --------------------------------------------------------------------------- homophones and near-duplicates


def test_given_zhongshan_road_exists_when_proposing_zhongshan_homophone_then_warning_with_location() -> None:
    old = existing("中山路", x=500_000.0, y=3_290_000.0, lon=113.912345, lat=29.716789)
    findings = run("钟山路", [old], x=500_000.0, y=3_291_200.0)
    f = only(findings, "homophone")
    assert f.severity == "warning"
    assert f.message == "与现有道路“中山路”（赤壁市，距离 1.2 公里）同音（zhongshan）"
    (c,) = f.conflicts
    assert (c.name, c.lon, c.lat) == ("中山路", 113.912345, 29.716789)
    assert f.as_dict()["conflicts"][0]["lon"] == 113.912345
    json.dumps([x.as_dict() for x in findings], ensure_ascii=False)


def test_given_no_shared_reading_when_checked_then_no_homophone() -> None:
    assert "homophone" not in rule_ids(run("中华路", [existing("中山路")]))


def test_given_a_polyphone_when_checked_then_any_reading_combination_matches() -> None:
    assert only(run("长乐路", [existing("常乐路")]), "homophone").severity == "warning"
    assert "homophone" in rule_ids(run("长路", [existing("张路")]))  # 长: chang / zhang
    assert "homophone" in rule_ids(run("长路", [existing("常路")]))


def test_given_an_officer_reading_when_checked_then_the_override_wins() -> None:
    old = existing("长乐路", reading="zhang le lu")
    assert "homophone" in rule_ids(run("张乐路", [old]))
    assert "homophone" not in rule_ids(run("常乐路", [old]))
    assert "homophone" not in rule_ids(run("常乐路", [existing("长乐路", reading="zhang le")]))


def test_given_a_bad_reading_when_checked_then_info_and_dictionary_reading() -> None:
    f = only(run("长乐路", reading="a b c d"), "reading.mismatch")
    assert f.severity == "info"
    assert "reading.mismatch" not in rule_ids(run("长乐路", reading="chang le lu"))
    assert "reading.mismatch" not in rule_ids(run("长乐路", reading="chang le"))  # 专名 only


def test_given_homophone_severity_configured_when_checked_then_it_is_used() -> None:
    strict = pack_with(severities={"homophone": "error"})
    assert only(run("钟山路", [existing("中山路")], strict), "homophone").severity == "error"
    off = pack_with(severities={"homophone": "off"})
    assert "homophone" not in rule_ids(run("钟山路", [existing("中山路")], off))


def test_given_a_dialect_table_when_enabled_then_merged_syllables_are_homophones() -> None:
    dialect = pack_with(dialect={"enabled": True})
    f = only(run("南山路", [existing("蓝山路")], dialect), "homophone.dialect")
    assert f.severity == "warning" and "（lansan）" in f.message  # n→l, sh→s
    assert "homophone.dialect" in rule_ids(run("知山路", [existing("紫山路")], dialect))  # zh → z
    assert "homophone.dialect" not in rule_ids(run("南山路", [existing("蓝山路")]))
    assert "homophone.dialect" not in rule_ids(run("南山路", [existing("北山路")], dialect))


def test_given_one_character_differs_when_checked_then_near_duplicate_chars() -> None:
    assert only(run("解放大路", [existing("解放路")]), "near_duplicate.chars").severity == "warning"
    assert "near_duplicate.chars" in rule_ids(run("解放东路", [existing("解放西路")]))
    assert "near_duplicate.chars" not in rule_ids(run("建设大路", [existing("解放路")]))


def test_given_the_pinyin_differs_by_one_letter_when_checked_then_near_duplicate_pinyin() -> None:
    f = only(run("中山大道", [existing("钟三路")]), "near_duplicate.pinyin")
    assert f.severity == "info" and "zhongshan / zhongsan" in f.message
    assert "near_duplicate.pinyin" not in rule_ids(run("人民路", [existing("解放路")]))
    # too short for the default pinyin_min_length 4: "li" vs "ji"
    assert "near_duplicate.pinyin" not in rule_ids(run("李街", [existing("吉路")]))


def test_given_one_existing_name_when_several_relations_hold_then_only_the_strongest_is_reported() -> None:
    assert rule_ids(run("钟山路", [existing("中山路")], width_m=20)) == {"homophone"}
    assert rule_ids(run("人民路", [existing("人民路")], width_m=20)) == {"duplicate.exact"}


def test_given_many_conflicts_when_checked_then_capped_per_rule_with_a_summary() -> None:
    capped = pack_with(max_conflicts_per_rule=3)
    names = [existing("人民路", x=500_000.0 + i, y=3_290_000.0) for i in range(7)]
    findings = [
        f for f in run("人民路", names, capped, x=500_000.0, y=3_290_000.0) if f.rule_id == "duplicate.exact"
    ]
    assert len(findings) == 4
    assert [f.conflicts[0].distance_m for f in findings[:3]] == [0.0, 1.0, 2.0]
    assert findings[3].conflicts == () and "另有 4 处" in findings[3].message


# --------------------------------------------------------------------------- words


def test_given_an_exaggerated_word_when_checked_then_flagged_for_review() -> None:
    f = only(run("国际大道", width_m=60), "forbidden.exaggerated")
    assert f.severity == "warning" and "国际" in f.message
    assert "forbidden.exaggerated" not in rule_ids(run("建设大道", width_m=60))


def test_given_a_traditional_exaggerated_word_when_checked_then_both_rules() -> None:
    assert {"forbidden.exaggerated", "script.traditional"} <= rule_ids(run("國際大道", width_m=60))


def test_given_a_foreign_place_name_when_checked_then_flagged() -> None:
    assert only(run("威尼斯路"), "forbidden.foreign").severity == "warning"
    assert "forbidden.foreign" not in rule_ids(run("汉阳路"))


def test_given_a_state_leader_name_when_checked_then_error() -> None:
    f = only(run("邓小平路"), "forbidden.person")
    assert f.severity == "error" and "邓小平" in f.message
    assert "forbidden.person" not in rule_ids(run("小平路"))


def test_given_a_local_person_list_when_checked_then_warning() -> None:
    data = json.loads((ROOT / "geo_mz/placenames/rulepacks/default.json").read_text(encoding="utf-8"))
    next(d for d in data["dictionaries"] if d["id"] == "local_persons")["words"] = ["张三丰"]
    local = RulePack.from_dict(data)
    assert only(run("张三丰路", pack=local), "forbidden.person").severity == "warning"


def test_given_an_enterprise_name_when_checked_then_flagged() -> None:
    assert only(run("万达路"), "forbidden.enterprise").severity == "warning"
    assert "forbidden.enterprise" not in rule_ids(run("万福路"))


# --------------------------------------------------------------------------- script and length


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("A区路", {"script.latin"}),
        ("1号路", {"script.digit"}),
        ("１号路", {"script.digit", "script.fullwidth"}),
        ("Ｂ区路", {"script.latin", "script.fullwidth"}),
        ("人民·路", {"script.punctuation"}),
        ("人民 路", {"script.punctuation"}),
        ("人民（东）路", {"script.punctuation", "script.fullwidth"}),
        ("さくら路", {"script.other"}),
        ("䶮山路", {"script.rare"}),
        ("東山路", {"script.traditional"}),
    ],
)
def test_given_bad_characters_when_checked_then_script_rules(name: str, expected: set[str]) -> None:
    script = {r for r in rule_ids(run(name)) if r.startswith("script.")}
    assert script == expected


@pytest.mark.parametrize("name", ["人民路", "堃山路", "〇号路", "东山路"])
def test_given_standard_characters_when_checked_then_no_script_rule(name: str) -> None:
    assert not {r for r in rule_ids(run(name)) if r.startswith("script.")}


def test_given_script_errors_and_warnings_when_checked_then_severities() -> None:
    findings = run("東1路")
    assert only(findings, "script.digit").severity == "error"
    assert only(findings, "script.traditional").severity == "warning"
    assert "“東”→“东”" in only(findings, "script.traditional").message


def test_given_a_long_specific_when_checked_then_length_specific() -> None:
    findings = run("青山绿水白云蓝天路")
    assert only(findings, "length.specific").severity == "warning"
    assert "length.total" not in rule_ids(findings)
    assert "length.specific" not in rule_ids(run("青山绿水白云路"))


def test_given_a_long_or_short_name_when_checked_then_length_total() -> None:
    assert "length.total" in rule_ids(run("青山绿水白云蓝天碧海路"))
    assert "length.total" in rule_ids(run("路"))
    assert "length.total" in rule_ids(run("东路", pack=pack_with(length={"min_total": 3})))
    assert "length.total" not in rule_ids(run("东路"))


# --------------------------------------------------------------------------- road class


def test_given_a_narrow_avenue_when_checked_then_warning_with_numbers() -> None:
    f = only(run("建设大道", width_m=20, length_m=1200), "generic.road_class")
    assert f.severity == "warning"
    assert (
        "40 米" in f.message
        and "5000 米" in f.message
        and "宽 20 米" in f.message
        and "长 1200 米" in f.message
    )


def test_given_a_wide_or_long_avenue_when_checked_then_no_road_class_finding() -> None:
    assert "generic.road_class" not in rule_ids(run("建设大道", width_m=50))
    assert "generic.road_class" not in rule_ids(run("建设大道", width_m=20, length_m=6000))
    assert "generic.road_class" not in rule_ids(run("建设巷", width_m=6))


def test_given_unknown_width_when_checked_then_info() -> None:
    assert only(run("建设大道"), "generic.road_class").severity == "info"
    assert only(run("建设巷"), "generic.road_class").severity == "info"


def test_given_a_wide_lane_or_a_wrong_road_class_when_checked_then_warning() -> None:
    assert only(run("建设巷", width_m=15), "generic.road_class").severity == "warning"
    classes = pack_with(road_generics={"大道": {"min_width_m": 40, "road_classes": ["主干路", "快速路"]}})
    f = only(run("建设大道", pack=classes, width_m=50, road_class="支路"), "generic.road_class")
    assert f.severity == "warning" and "支路" in f.message


# --------------------------------------------------------------------------- protection


def test_given_a_rename_of_a_protected_name_when_checked_then_error_unless_measures_on_file() -> None:
    protected = existing("汉阳路", protected=True)
    f = only(run("新汉路", [protected], replaces=protected.id), "protection.listed")
    assert f.severity == "error" and f.conflicts[0].name == "汉阳路"
    with_measures = existing("汉阳路", protected=True, protection_measures_on_file=True)
    assert (
        only(run("新汉路", [with_measures], replaces=with_measures.id), "protection.listed").severity
        == "info"
    )
    plain = existing("汉阳路")
    assert "protection.listed" not in rule_ids(run("新汉路", [plain], replaces=plain.id))
    assert "protection.listed" not in rule_ids(run("新汉路", [protected]))  # not a rename


def test_given_a_rename_when_checked_then_the_renamed_name_is_not_a_conflict() -> None:
    old = existing("汉阳路")
    assert run("汉阳大道", [old], replaces=old.id, width_m=50) == []
    assert "duplicate.specific" in rule_ids(run("汉阳大道", [old], width_m=50))


def test_given_a_rename_whose_old_name_is_not_supplied_when_checked_then_info() -> None:
    assert only(run("新汉路", [], replaces=999_999), "protection.unchecked").severity == "info"
    old = existing("汉阳路")
    assert "protection.unchecked" not in rule_ids(run("新汉路", NameIndex([old]), replaces=old.id))


# --------------------------------------------------------------------------- ordering, index, keys


def test_given_findings_when_returned_then_sorted_by_severity_then_rule() -> None:
    findings = run("國際1路", [existing("国际一路")])
    ranks = [("error", "warning", "info").index(f.severity) for f in findings]
    assert ranks == sorted(ranks)
    for a, b in itertools.pairwise(findings):
        if a.severity == b.severity:
            assert a.rule_id <= b.rule_id


_POOL = "中钟忠山三珊人仁民敏解放建设新华长常张乐和平东西南北蓝兰路街"
_GEN = ["路", "街", "大道", "巷", "桥"]


def _random_names(rng: random.Random, n: int) -> list[ExistingName]:
    out = []
    for i in range(n):
        spec = "".join(rng.choice(_POOL[:-2]) for _ in range(rng.choice([1, 2, 2, 3])))
        gen = rng.choice(_GEN)
        out.append(
            ExistingName(
                id=i,
                name=spec + gen,
                specific=spec,
                generic=gen,
                division_code=rng.choice(["421281", "421202", "420111"]) + "001",
                kind=rng.choice(["road", "road", "road", "bridge"]),
                status=rng.choice(["active", "active", "approved", "proposed", "retired"]),
                x=rng.uniform(480_000, 520_000) if rng.random() < 0.8 else None,
                y=rng.uniform(3_270_000, 3_310_000),
                reading=None,
            )
        )
    return out


@pytest.mark.parametrize(
    "pack_overrides",
    [
        {},
        {"scope": {"kind": "radius", "radius_m": 15000}, "dialect": {"enabled": True}},
        {"scope": {"kind": "city"}, "compare_across_kinds": True, "max_conflicts_per_rule": 3},
    ],
)
def test_given_random_names_when_checking_via_index_or_iterable_then_identical_findings(
    pack_overrides: dict,
) -> None:
    rng = random.Random(7)
    names = _random_names(rng, 400)
    index = NameIndex(names)
    pk = pack_with(**pack_overrides)

    def variant(name: str) -> str:
        roll = rng.random()
        if roll < 0.3:
            return name  # exact / retired duplicates
        if roll < 0.7:  # one character changed: homophones, near-duplicates, 专名 duplicates
            i = rng.randrange(len(name))
            return name[:i] + rng.choice(_POOL) + name[i + 1 :]
        return "".join(rng.choice(_POOL) for _ in range(rng.choice([2, 3, 4])))

    proposals = [
        Proposal(
            name=variant(n.name),
            division_code=rng.choice(["421281", "421202"]) + "002",
            kind=rng.choice(["road", "bridge"]),
            x=500_000.0,
            y=3_290_000.0,
            replaces=rng.choice([None, n.id]),
        )
        for n in rng.sample(names, 120)
    ]
    compared = 0
    seen: set[str] = set()
    for p in proposals:
        via_index = check(p, index, pk)
        via_list = check(p, names, pk)
        assert via_index == via_list
        compared += sum(1 for f in via_list if f.conflicts)
        seen |= {f.rule_id for f in via_list if f.conflicts}
    # the sample really exercises the comparisons
    assert compared > 40
    assert {"duplicate.exact", "duplicate.specific", "homophone", "near_duplicate.chars"} <= seen


_name_strategy = st.builds(
    lambda spec, gen: spec + gen,
    st.text(alphabet=_POOL[:-2], min_size=1, max_size=3),
    st.sampled_from(_GEN),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_name_strategy, min_size=1, max_size=30), _name_strategy, st.booleans())
def test_given_any_names_when_prefiltering_by_keys_then_every_naive_conflict_is_a_candidate(
    existing_names: list[str], proposed: str, dialect: bool
) -> None:
    pk = pack_with(dialect={"enabled": dialect}, compare_across_kinds=True)
    default = RulePack.load("default")
    names = [
        ExistingName(
            id=i,
            name=n,
            specific=split_name(n, default)[0],
            generic=split_name(n, default)[1],
            division_code="421281",
        )
        for i, n in enumerate(existing_names)
    ]
    proposal = Proposal(proposed, "421281")
    naive = {c.id for f in check(proposal, names, pk) for c in f.conflicts}
    # in-memory index
    assert naive <= {e.id for e in NameIndex(names).candidates(proposal, pk)}
    # database-style prefilter: stored search_keys && candidate_keys
    wanted = set(candidate_keys(proposal, pk))
    stored = {
        e.id: set(search_keys(e.name, e.specific, e.reading, dialect=pk.dialect if dialect else None))
        for e in names
    }
    prefiltered = [e for e in names if stored[e.id] & wanted]
    assert naive <= {e.id for e in prefiltered}
    assert check(proposal, prefiltered, pk) == check(proposal, names, pk)


def test_given_a_name_when_computing_search_keys_then_documented_prefixes_and_order() -> None:
    keys = search_keys("中山路", "中山")
    assert keys[:3] == ["n:中山路", "s:中山", "p:zhongshan"]
    assert "f:zhongshanlu" in keys and "dc:中山" in keys and "dp:zhongsan" in keys
    assert keys == search_keys("中山路", "中山")
    assert {"p:chang", "p:zhang"} <= set(search_keys("长路", "长"))
    assert "p:zhangle" not in search_keys("长乐路", "长乐")  # the phrase 长乐 reads chang le only
    assert "n:钟山路" in candidate_keys(Proposal("钟山路", COUNTY), RulePack.load("default"))
