"""Tests for geo_mz.placenames.romanize (pure: no Django, no database).

Expected spellings follow the 1984 《中国地名汉语拼音字母拼写规则（汉语地名部分）》 and
GB/T 16159; rows marked "standard" are the examples printed in the 1984 rules themselves.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from geo_mz.placenames.romanize import (
    DEFAULT_GENERICS,
    KINDS,
    chinese_numeral_value,
    readings,
    romanize,
    split_name,
)

ROOT = Path(__file__).resolve().parents[2]

# (rule, name, keyword arguments for romanize, expected)
ROWS: list[tuple[str, str, dict[str, Any], str]] = [
    # --- rule 1: specific and generic written separately, each capitalised
    ("1-separate", "南京路", {}, "Nanjing Lu"),  # acceptance, standard
    ("1-separate", "长安街", {}, "Chang'an Jie"),  # acceptance, standard
    ("1-separate", "门框胡同", {}, "Menkuang Hutong"),  # acceptance, standard
    ("1-separate", "横街", {}, "Heng Jie"),  # standard
    ("1-separate", "大马路", {}, "Dama Lu"),  # standard
    ("1-separate", "东大街", {}, "Dong Dajie"),
    ("1-separate", "渤海湾", {"kind": "water"}, "Bohai Wan"),  # standard
    # 赤壁市 (Hubei)
    ("1-separate", "赤壁大道", {}, "Chibi Dadao"),
    ("1-separate", "蒲圻路", {}, "Puqi Lu"),
    ("1-separate", "金鸾大道", {}, "Jinluan Dadao"),
    ("1-separate", "河北大道", {}, "Hebei Dadao"),
    ("1-separate", "沿河大道", {}, "Yanhe Dadao"),
    ("1-separate", "人民路", {}, "Renmin Lu"),
    ("1-separate", "北站路", {}, "Beizhan Lu"),
    ("1-separate", "官塘驿镇", {"kind": "township"}, "Guantangyi Zhen"),
    # --- rule 2: one-syllable modifiers join, multi-syllable modifiers stay separate
    ("2-modifier", "朝阳门内南小街", {}, "Chaoyangmennei Nanxiaojie"),  # acceptance, standard
    ("2-modifier", "景山后街", {}, "Jingshan Houjie"),  # acceptance, standard
    ("2-modifier", "中山东路", {}, "Zhongshan Donglu"),
    ("2-modifier", "南京西路", {}, "Nanjing Xilu"),
    ("2-modifier", "造币左路", {}, "Zaobi Zuolu"),  # standard
    ("2-modifier", "清波门直街", {}, "Qingbomen Zhijie"),  # standard
    ("2-modifier", "南横东街", {}, "Nanheng Dongjie"),  # standard
    ("2-modifier", "修文西小巷", {}, "Xiuwen Xixiaoxiang"),  # standard
    ("2-modifier", "东直门外南后街", {}, "Dongzhimenwai Nanhoujie"),  # standard
    ("2-modifier", "潮白新河", {"kind": "water"}, "Chaobai Xinhe"),  # standard
    ("2-modifier", "西辽河", {"kind": "water"}, "Xiliao He"),  # standard
    ("2-modifier", "山东北路", {}, "Shandong Beilu"),  # two-character place word is kept
    ("2-modifier", "解放东北街", {}, "Jiefang Dongbei Jie"),  # two-syllable modifier separate
    ("2-modifier", "广安门北滨河路", {"specific": "广安门 北滨河"}, "Guang'anmen Beibinhe Lu"),  # standard
    (
        "2-modifier",
        "第二松花江",
        {"specific": "第二 松花", "kind": "water"},
        "Di'er Songhua Jiang",
    ),  # standard
    # --- rule 3: natural villages and towns are one word
    ("3-one-word", "王村", {"kind": "village"}, "Wangcun"),  # acceptance, standard
    ("3-one-word", "周口店", {"kind": "town"}, "Zhoukoudian"),  # acceptance, standard
    ("3-one-word", "羊楼洞村", {"kind": "village"}, "Yangloudongcun"),
    ("3-one-word", "官塘驿镇", {"kind": "town"}, "Guantangyizhen"),
    ("3-one-word", "南王家荡", {"kind": "natural_village"}, "Nanwangjiadang"),  # standard
    ("3-one-word", "三岔河", {"kind": "village"}, "Sanchahe"),  # standard
    # --- rule 4: a generic that became part of the specific counts as specific
    ("4-generic-in-specific", "解放路南小街", {}, "Jiefanglu Nanxiaojie"),  # acceptance, standard
    ("4-generic-in-specific", "陆水湖路", {}, "Lushuihu Lu"),
    ("4-generic-in-specific", "赤马港路", {}, "Chimagang Lu"),
    ("4-generic-in-specific", "温泉路", {}, "Wenquan Lu"),
    ("4-generic-in-specific", "青泉路", {}, "Qingquan Lu"),
    ("4-generic-in-specific", "黑龙江省", {"kind": "province"}, "Heilongjiang Sheng"),  # standard
    ("4-generic-in-specific", "景德镇市", {"kind": "city"}, "Jingdezhen Shi"),  # standard
    ("4-generic-in-specific", "包头胡同东巷", {}, "Baotouhutong Dongxiang"),  # standard
    # --- rule 5: a person's name inside a place name is joined
    ("5-person", "张之洞路", {}, "Zhangzhidong Lu"),  # acceptance, standard
    ("5-person", "中山路", {}, "Zhongshan Lu"),
    ("5-person", "左权县", {"kind": "county"}, "Zuoquan Xian"),  # standard
    ("5-person", "欧阳海水库", {"kind": "water"}, "Ouyanghai Shuiku"),  # standard
    ("5-person", "鲁迅路", {}, "Luxun Lu"),
    # --- rule 6: numerals spelled out
    ("6-numeral", "五一广场", {"kind": "square"}, "Wuyi Guangchang"),  # acceptance, standard
    ("6-numeral", "三八路", {}, "Sanba Lu"),  # acceptance, standard
    ("6-numeral", "八一路", {}, "Bayi Lu"),
    ("6-numeral", "五四大街", {}, "Wusi Dajie"),
    ("6-numeral", "一二九路", {}, "Yi'erjiu Lu"),
    ("6-numeral", "三眼井胡同", {}, "Sanyanjing Hutong"),  # standard
    ("6-numeral", "八角场东街", {}, "Bajiaochang Dongjie"),  # standard
    ("6-numeral", "五指山", {"kind": "mountain"}, "Wuzhi Shan"),  # standard
    ("6-numeral", "第六屯", {"kind": "village"}, "Diliutun"),  # standard
    # --- rule 7: ordinals and codes in street names as Arabic digits
    ("7-ordinal", "经五路", {}, "Jing 5 Lu"),  # acceptance, standard
    ("7-ordinal", "东四十二条", {}, "Dongsi 12 Tiao"),  # acceptance, standard
    ("7-ordinal", "大川淀一巷", {}, "Dachuandian 1 Xiang"),  # acceptance, standard
    ("7-ordinal", "第九弄", {}, "Di-9 Long"),  # standard
    ("7-ordinal", "天宁寺西里一巷", {}, "Tianningsi Xili 1 Xiang"),  # standard
    ("7-ordinal", "二马路", {"specific": "二", "generic": "马路"}, "2 Malu"),  # standard
    ("7-ordinal", "纬十二路", {}, "Wei 12 Lu"),
    ("7-ordinal", "东四十条", {}, "Dongsi 10 Tiao"),
    ("7-ordinal", "北二十巷", {}, "Bei 20 Xiang"),
    ("7-ordinal", "解放路一百零五巷", {}, "Jiefanglu 105 Xiang"),
    # --- rule 8: apostrophe before a non-initial a/o/e syllable
    ("8-apostrophe", "西安路", {}, "Xi'an Lu"),  # acceptance
    ("8-apostrophe", "天安门广场", {"kind": "square"}, "Tian'anmen Guangchang"),
    ("8-apostrophe", "建瓯路", {}, "Jian'ou Lu"),
    ("8-apostrophe", "天峨路", {}, "Tian'e Lu"),
    ("8-apostrophe", "延安路", {}, "Yan'an Lu"),
    ("8-apostrophe", "茶庵岭镇", {"kind": "town"}, "Cha'anlingzhen"),
    ("8-apostrophe", "台儿庄路", {}, "Tai'erzhuang Lu"),
    # --- rule 9: toneless standard readings, place-name polyphones, overrides, ü
    ("9-reading", "十里堡", {"kind": "village", "override": "shi li pu"}, "Shilipu"),  # acceptance
    ("9-reading", "吴堡路", {"override": "wu bu lu"}, "Wubu Lu"),
    ("9-reading", "十里堡", {"kind": "village", "override": "shí lǐ pù"}, "Shilipu"),
    ("9-reading", "六安路", {}, "Lu'an Lu"),
    ("9-reading", "重庆路", {}, "Chongqing Lu"),
    ("9-reading", "朝阳路", {}, "Chaoyang Lu"),
    ("9-reading", "长宁路", {}, "Changning Lu"),
    ("9-reading", "宁都县", {"kind": "county"}, "Ningdu Xian"),
    ("9-reading", "盆儿胡同", {"override": "pen r hu tong"}, "Penr Hutong"),  # 儿化, standard
    ("9-u-umlaut", "绿园路", {}, "Lüyuan Lu"),
    ("9-u-umlaut", "绿园路", {"ascii_u": True}, "Lvyuan Lu"),
    ("9-u-umlaut", "女贞路", {}, "Nüzhen Lu"),
    ("9-u-umlaut", "女贞路", {"ascii_u": True}, "Nvzhen Lu"),
    ("9-u-umlaut", "吕梁路", {}, "Lüliang Lu"),
    ("9-u-umlaut", "略阳路", {}, "Lüeyang Lu"),
    ("9-u-umlaut", "聚贤路", {}, "Juxian Lu"),  # ü after j is written u
    ("9-u-umlaut", "曲阜路", {}, "Qufu Lu"),
    ("9-u-umlaut", "徐州路", {}, "Xuzhou Lu"),
]


@pytest.mark.parametrize(
    ("rule", "name", "kwargs", "expected"),
    ROWS,
    ids=[f"{rule}:{name}{'+' + ','.join(sorted(kw)) if kw else ''}" for rule, name, kw, _ in ROWS],
)
def test_given_place_name_when_romanized_then_matches_standard(
    rule: str, name: str, kwargs: dict[str, Any], expected: str
) -> None:
    # given a place name (and optional kind / split / override), when romanised
    result = romanize(name, **kwargs)
    # then the written form is the standard one
    assert result == expected, rule


def test_given_table_then_it_covers_every_rule_at_least_three_times() -> None:
    # given the table, when counted per rule, then every rule has three rows or more
    counts: dict[str, int] = {}
    for rule, *_ in ROWS:
        key = rule.split("-")[0]
        counts[key] = counts.get(key, 0) + 1
    assert len(ROWS) >= 45
    assert sorted(counts) == [str(n) for n in range(1, 10)]
    assert min(counts.values()) >= 3, counts


def test_given_both_split_designs_when_romanized_then_same_result() -> None:
    # given 解放路南小街 split by the splitter or explicitly by an officer
    auto = romanize("解放路南小街")
    explicit = romanize("解放路南小街", specific="解放路", generic="南小街")
    only_generic = romanize("解放路南小街", generic="南小街")
    # then all designs agree
    assert auto == explicit == only_generic == "Jiefanglu Nanxiaojie"


def test_given_explicit_split_when_romanized_then_no_modifier_peeling() -> None:
    # given an officer who decides 中山东 is the whole specific
    result = romanize("中山东路", specific="中山东", generic="路")
    # then the split is respected literally
    assert result == "Zhongshandong Lu"


def test_given_auto_split_of_ordinal_road_when_no_explicit_split_then_spelled() -> None:
    # given 二马路 without an explicit split (马 is not a generic)
    # then the numeral is part of the spelled specific; the officer passes the split for "2 Malu"
    assert romanize("二马路") == "Erma Lu"
    assert romanize("十二条") == "12 Tiao"  # an all-numeral canonical specific is an ordinal


def test_given_bare_generic_when_romanized_then_one_capitalised_word() -> None:
    assert romanize("路") == "Lu"
    assert romanize("大街") == "Dajie"


def test_given_name_without_generic_when_romanized_then_one_word() -> None:
    assert romanize("东四", kind="area") == "Dongsi"


def test_given_outer_whitespace_when_romanized_then_stripped() -> None:
    assert romanize("  南京路\n") == "Nanjing Lu"


# --------------------------------------------------------------------------- split_name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("南京路", ("南京", "路")),
        ("东大街", ("东", "大街")),  # longest generic wins over 街
        ("解放路南小街", ("解放路南", "小街")),  # stacked generics: only the last one
        ("陆水湖路", ("陆水湖", "路")),
        ("赤壁大道", ("赤壁", "大道")),
        ("门框胡同", ("门框", "胡同")),
        ("大街", ("", "大街")),  # bare generic
        ("路", ("", "路")),
        ("东四", ("东四", "")),  # no generic
        ("周口店", ("周口店", "")),
    ],
)
def test_given_name_when_split_then_longest_generic_suffix(name: str, expected: tuple[str, str]) -> None:
    assert split_name(name) == expected


def test_given_custom_generics_when_split_then_list_is_used_longest_first() -> None:
    # given a caller-supplied list in arbitrary order
    generics = ["街", "南小街"]
    # then the longest matching suffix wins and unknown generics are ignored
    assert split_name("解放路南小街", generics) == ("解放路", "南小街")
    assert split_name("南京路", generics) == ("南京路", "")
    assert romanize("解放路南小街", generics=generics) == "Jiefanglu Nanxiaojie"


def test_default_generics_are_longest_first() -> None:
    lengths = [len(g) for g in DEFAULT_GENERICS]
    assert lengths == sorted(lengths, reverse=True)
    assert {"大道", "大街", "胡同", "路", "街", "巷", "村", "镇", "广场"} <= set(DEFAULT_GENERICS)
    assert len(set(DEFAULT_GENERICS)) == len(DEFAULT_GENERICS)


def test_given_bad_generics_when_split_then_error() -> None:
    with pytest.raises(TypeError):
        split_name("南京路", "路")  # a str is not a list of generics
    with pytest.raises(ValueError, match="generics"):
        split_name("南京路", ["路", ""])


# --------------------------------------------------------------------------- readings


def test_given_text_when_read_then_one_toneless_syllable_per_character() -> None:
    assert readings("南京路") == ["nan", "jing", "lu"]
    assert readings("朝阳门") == ["chao", "yang", "men"]  # place-name table
    assert readings("绿园") == ["lü", "yuan"]
    assert readings("居") == ["ju"]


def test_given_override_when_read_then_override_wins_and_is_normalised() -> None:
    # given officer overrides with spaces, tone marks, tone digits, v for ü and '*'
    assert readings("十里堡", override="shi li pu") == ["shi", "li", "pu"]
    assert readings("十里堡", override="Shí LI3  pù") == ["shi", "li", "pu"]
    assert readings("绿园", override="lv yuan") == ["lü", "yuan"]
    assert readings("绿园", override="lu: *") == ["lü", "yuan"]
    assert readings("大黄堡", override="* * bu") == ["da", "huang", "bu"]


def test_given_wrong_length_override_when_read_then_bilingual_error() -> None:
    with pytest.raises(ValueError, match=r"2 个音节.*3 个汉字.*2 syllable\(s\).*3 Chinese character") as err:
        readings("十里堡", override="shi li")
    assert "override" in str(err.value)
    with pytest.raises(ValueError, match="4 syllable"):
        romanize("十里堡", kind="village", override="shi li pu zi")


def test_given_invalid_override_syllable_when_read_then_error() -> None:
    with pytest.raises(ValueError, match="not a valid pinyin syllable"):
        readings("十里堡", override="shi lii pu")
    with pytest.raises(ValueError, match="erhua"):
        readings("十里堡", override="shi r pu")
    with pytest.raises(TypeError):
        readings("十里堡", override=["shi", "li", "pu"])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("Nanjing路", "'N'"),
        ("南京路1号", "'1'"),
        ("南京 路", "' '"),
        ("南京路！", "'！'"),
        ("南京路-", "'-'"),
    ],
)
def test_given_non_chinese_character_when_romanized_then_precise_error(name: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="non-Chinese character") as err:
        romanize(name)
    message = str(err.value)
    assert fragment in message and "不是汉字" in message and "position" in message


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_given_empty_name_when_romanized_then_error(name: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        romanize(name)
    with pytest.raises(ValueError, match="empty"):
        split_name(name)
    with pytest.raises(ValueError, match="empty"):
        readings(name)


def test_given_unknown_kind_when_romanized_then_error_lists_kinds() -> None:
    with pytest.raises(ValueError, match="unknown kind 'raod'"):
        romanize("南京路", kind="raod")
    assert {"road", "village", "town", "natural_village", "township"} <= KINDS


def test_given_inconsistent_split_when_romanized_then_error() -> None:
    with pytest.raises(ValueError, match="does not spell"):
        romanize("南京路", specific="南京", generic="街")
    with pytest.raises(ValueError, match="not the start"):
        romanize("南京路", specific="北京")
    with pytest.raises(ValueError, match="not the end"):
        romanize("南京路", generic="街")
    with pytest.raises(ValueError, match="non-Chinese"):
        romanize("南京路", specific="Nanjing", generic="路")


def test_given_non_string_name_when_romanized_then_type_error() -> None:
    with pytest.raises(TypeError):
        romanize(None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- numerals


@pytest.mark.parametrize(
    ("text", "value"),
    [("一", 1), ("十", 10), ("十二", 12), ("二十", 20), ("四十二", 42), ("一百零五", 105),
     ("一百一十", 110), ("一千零一十", 1010), ("三八", None), ("五一", None), ("十十", None), ("零", None)],
)  # fmt: skip
def test_given_chinese_numeral_when_parsed_then_canonical_value(text: str, value: int | None) -> None:
    assert chinese_numeral_value(text) == value


# --------------------------------------------------------------------------- purity


def test_given_clean_interpreter_when_module_imported_then_no_django() -> None:
    code = (
        "import sys, geo_mz.placenames.romanize; "
        "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]; assert not bad, bad"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
