"""Tests for geo_mz.divisions.codes (pure: no Django, no database)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo_mz.divisions.codes import (
    LEVEL_LABELS_ZH,
    CodeError,
    Level,
    child_level,
    clean_village_name,
    code_level,
    level_rank,
    normalize_code,
    parent_code_of,
    parent_level,
    short_name,
    validate_code,
)

# --------------------------------------------------------------------------- levels


def test_level_values_and_labels() -> None:
    assert [lv.value for lv in Level] == ["province", "city", "county", "township", "village"]
    assert LEVEL_LABELS_ZH == {
        "province": "省级",
        "city": "地级",
        "county": "县级",
        "township": "乡级",
        "village": "村级",
    }
    assert LEVEL_LABELS_ZH["county"] == "县级"
    assert LEVEL_LABELS_ZH[Level.TOWNSHIP] == "乡级"
    assert Level.VILLAGE.label_zh == "村级"
    assert Level("city") is Level.CITY
    assert isinstance(Level.COUNTY, str)
    assert str(Level.COUNTY) == "county"
    assert "county" in LEVEL_LABELS_ZH


def test_level_rank_and_neighbours() -> None:
    assert [level_rank(lv) for lv in Level] == [0, 1, 2, 3, 4]
    assert level_rank("township") == 3
    assert child_level("province") is Level.CITY
    assert child_level(Level.CITY) is Level.COUNTY
    assert child_level("county") is Level.TOWNSHIP
    assert child_level("township") is Level.VILLAGE
    assert child_level("village") is None
    assert parent_level("province") is None
    assert parent_level("village") is Level.TOWNSHIP


@pytest.mark.parametrize("func", [level_rank, child_level, parent_level])
def test_unknown_level_raises(func: Callable[[str], object]) -> None:
    with pytest.raises(CodeError) as exc:
        func("district")
    assert exc.value.field == "level"
    assert isinstance(exc.value, ValueError)


# --------------------------------------------------------------------------- code_level


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("420000", Level.PROVINCE),
        ("110000", Level.PROVINCE),
        ("421200", Level.CITY),
        ("429000", Level.CITY),  # 省直辖县级行政区划
        ("421281", Level.COUNTY),
        ("429004", Level.COUNTY),  # 仙桃市, directly under the province
        ("421281001", Level.TOWNSHIP),
        ("441900003", Level.TOWNSHIP),  # 东莞 (不设区的地级市) township
        ("421281001001", Level.VILLAGE),
    ],
)
def test_code_level(code: str, level: Level) -> None:
    assert code_level(code) is level
    validate_code(code)
    validate_code(code, level=level.value)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "42128",
        "4212810",
        "42128100",
        "4212810010",
        "42128100100",
        "4212810010010",
        "42128100A",
        "42128l",
        " 421281",
        "421281 ",
        "４２１２８１",  # full-width digits
        "-42128",
    ],
)
def test_bad_format(code: str) -> None:
    with pytest.raises(CodeError) as exc:
        code_level(code)
    assert exc.value.field == "code"
    assert "必须为 6/9/12 位数字" in str(exc.value)
    assert "code must be 6, 9 or 12 digits" in str(exc.value)


def test_bad_format_message_exact() -> None:
    with pytest.raises(CodeError) as exc:
        validate_code("42128100A")
    assert str(exc.value) == "代码 42128100A 无效：必须为 6/9/12 位数字 / code must be 6, 9 or 12 digits"
    assert exc.value.message == str(exc.value)
    assert exc.value.field == "code"


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("000000", "省级段"),
        ("001200", "省级段"),
        ("420012", "地级段"),  # city part 00 but county part not 00
        ("420000001", "前 6 位"),  # township under a province code
        ("421281000", "乡级段"),
        ("420012001", "前 6 位"),
        ("421281000001", "前 9 位"),
        ("421281001000", "村级段"),
    ],
)
def test_structural_errors(code: str, fragment: str) -> None:
    with pytest.raises(CodeError) as exc:
        validate_code(code)
    assert exc.value.field == "code"
    assert fragment in str(exc.value)
    assert " / " in str(exc.value)  # bilingual


# --------------------------------------------------------------------------- validate_code


def test_level_mismatch() -> None:
    with pytest.raises(CodeError) as exc:
        validate_code("421281", level="township")
    assert exc.value.field == "level"
    assert "县级" in str(exc.value) and "乡级" in str(exc.value)
    with pytest.raises(CodeError) as exc:
        validate_code("421281", level="town")
    assert exc.value.field == "level"
    validate_code("421281", level=Level.COUNTY)


def test_invalid_code_reported_before_level() -> None:
    with pytest.raises(CodeError) as exc:
        validate_code("12345", level="county", parent_code="421200")
    assert exc.value.field == "code"


@pytest.mark.parametrize(
    ("code", "parent"),
    [
        ("421200", "420000"),  # city → province
        ("421281", "421200"),  # county → city
        ("429004", "429000"),  # 省直辖县级市 → 省直辖县级行政区划
        ("429004", "420000"),  # 省直辖县级市 → province directly
        ("421281", "420000"),  # county → province is accepted
        ("421281001", "421281"),  # township → county
        ("441900003", "441900"),  # township → 不设区的地级市
        ("421281001001", "421281001"),  # village → township
    ],
)
def test_valid_parents(code: str, parent: str) -> None:
    validate_code(code, parent_code=parent)
    validate_code(code, level=code_level(code), parent_code=parent)


def test_empty_parent_means_not_given() -> None:
    validate_code("421281", parent_code=None)
    validate_code("421281", parent_code="")
    validate_code("420000", parent_code="")


@pytest.mark.parametrize(
    ("code", "parent", "fragment"),
    [
        ("420000", "420000", "不能有上级"),  # province has no parent
        ("421200", "430000", "不匹配"),  # wrong province
        ("421200", "421100", "上级必须为省级"),  # city under city
        ("421281", "421100", "不匹配"),  # other city
        ("421281", "430000", "不匹配"),  # other province
        ("421281", "421282", "上级必须为地级或省级"),  # county under county
        ("421281001", "421282", "不匹配"),
        ("421281001", "421200", "不匹配"),  # city code that is not the prefix
        ("421281001", "420000", "上级必须为县级或地级"),
        ("421281001", "421281002", "上级必须为县级或地级"),
        ("421281001001", "421281", "上级必须为乡级"),  # village directly under county
        ("421281001001", "421281002", "不匹配"),
        ("421281001001", "421281001002", "上级必须为乡级"),
    ],
)
def test_invalid_parents(code: str, parent: str, fragment: str) -> None:
    with pytest.raises(CodeError) as exc:
        validate_code(code, parent_code=parent)
    assert exc.value.field == "parent_code"
    assert fragment in str(exc.value)
    assert " / " in str(exc.value)


def test_malformed_parent_is_a_parent_error() -> None:
    with pytest.raises(CodeError) as exc:
        validate_code("421281001", parent_code="42128X")
    assert exc.value.field == "parent_code"
    assert str(exc.value).startswith("上级代码 42128X 无效")


def test_mismatch_message_names_expected_parent() -> None:
    with pytest.raises(CodeError) as exc:
        validate_code("421281001001", parent_code="421281002")
    assert "421281001" in str(exc.value)
    assert "expected 421281001" in str(exc.value)


# --------------------------------------------------------------------------- parent_code_of / normalize


@pytest.mark.parametrize(
    ("code", "parent"),
    [
        ("421281001001", "421281001"),
        ("421281001", "421281"),
        ("421281", "421200"),
        ("429004", "429000"),
        ("421200", "420000"),
        ("420000", None),
    ],
)
def test_parent_code_of(code: str, parent: str | None) -> None:
    assert parent_code_of(code) == parent


def test_parent_code_of_invalid() -> None:
    with pytest.raises(CodeError) as exc:
        parent_code_of("4212")
    assert exc.value.field == "code"


@pytest.mark.parametrize(
    ("raw", "short"),
    [
        ("420000000000", "420000"),
        ("421200000000", "421200"),
        ("421281000000", "421281"),
        ("421281001000", "421281001"),
        ("421281001001", "421281001001"),
        (" 421281 ", "421281"),
        ("421281001", "421281001"),
    ],
)
def test_normalize_code(raw: str, short: str) -> None:
    assert normalize_code(raw) == short


def test_normalize_code_rejects_garbage() -> None:
    with pytest.raises(CodeError):
        normalize_code("000000000000")


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "level", "short"),
    [
        ("赤壁市", "county", "赤壁"),
        ("嘉鱼县", "county", "嘉鱼"),
        ("咸安区", "county", "咸安"),
        ("湖北省", "province", "湖北"),
        ("临湘市", "county", "临湘"),
        ("赵李桥镇", "township", "赵李桥"),
        ("余家桥乡", "township", "余家桥"),
        ("蒲圻街道", "township", "蒲圻"),
        ("营里社区居委会", "village", "营里"),
        ("金潭村委会", "village", "金潭"),
        ("西街社区居民委员会", "village", "西街"),
        ("凤凰山居委会", "village", "凤凰山"),
        ("泉口村", "village", "泉口"),
        ("泉口村民委员会", "village", "泉口"),
        ("官塘驿林场", "township", "官塘驿林场"),
        ("官塘驿林场", "village", "官塘驿林场"),
        ("羊楼洞茶场", "township", "羊楼洞茶场"),
        ("赤壁经济开发区", "township", "赤壁经济开发区"),
        ("赤壁经济开发区", "county", "赤壁经济开发区"),
        ("中伙铺工业园", "township", "中伙铺工业园"),
        ("内蒙古自治区", "province", "内蒙古"),
        ("恩施土家族苗族自治州", "city", "恩施"),
        ("神农架林区", "county", "神农架"),
        ("神农架林区", "city", "神农架"),
        # more real-world cases
        ("北京市", "province", "北京"),
        ("香港特别行政区", "province", "香港"),
        ("广西壮族自治区", "province", "广西"),
        ("新疆维吾尔自治区", "province", "新疆"),
        ("宁夏回族自治区", "province", "宁夏"),
        ("西藏自治区", "province", "西藏"),
        ("咸宁市", "city", "咸宁"),
        ("阿里地区", "city", "阿里"),
        ("锡林郭勒盟", "city", "锡林郭勒"),
        ("海西蒙古族藏族自治州", "city", "海西"),
        ("长阳土家族自治县", "county", "长阳"),
        ("长白朝鲜族自治县", "county", "长白"),
        ("积石山保安族东乡族撒拉族自治县", "county", "积石山"),
        ("鄂伦春自治旗", "county", "鄂伦春"),
        ("鄂温克族自治旗", "county", "鄂温克"),
        ("杭锦旗", "county", "杭锦"),
        ("浦东新区", "county", "浦东"),
        ("六枝特区", "county", "六枝"),
        ("芭蕉侗族乡", "township", "芭蕉"),
        ("车埠镇", "township", "车埠"),
        ("东城街道办事处", "township", "东城"),
        ("高镇村", "village", "高镇"),  # only the village suffix is stripped
        ("  嘉鱼县 ", "county", "嘉鱼"),
    ],
)
def test_short_name(name: str, level: str, short: str) -> None:
    assert short_name(name, level) == short


@pytest.mark.parametrize(
    ("name", "level"),
    [("东村", "village"), ("矿区", "county"), ("城区", "county"), ("乡", "township"), ("村", "village")],
)
def test_short_name_keeps_too_short_results(name: str, level: str) -> None:
    assert short_name(name, level) == name


def test_short_name_errors() -> None:
    with pytest.raises(ValueError):
        short_name("   ", "county")
    with pytest.raises(CodeError) as exc:
        short_name("嘉鱼县", "district")
    assert exc.value.field == "level"


@given(name=st.text(min_size=1, max_size=12).filter(str.strip), level=st.sampled_from(list(Level)))
def test_short_name_never_empty(name: str, level: Level) -> None:
    result = short_name(name, level)
    assert result
    assert result.strip() == result
    assert len(result) >= 2 or result == name.strip()
    assert name.strip().startswith(result)


@pytest.mark.parametrize(
    ("name", "clean"),
    [
        ("营里社区居委会", "营里社区"),
        ("西街社区居民委员会", "西街社区"),
        ("凤凰山居委会", "凤凰山社区"),
        ("凤凰山居民委员会", "凤凰山社区"),
        ("金潭村委会", "金潭村"),
        ("泉口村民委员会", "泉口村"),
        ("泉口村", "泉口村"),
        ("营里社区", "营里社区"),
        (" 泉口村 ", "泉口村"),
        ("居委会", "居委会"),
    ],
)
def test_clean_village_name(name: str, clean: str) -> None:
    assert clean_village_name(name) == clean


# --------------------------------------------------------------------------- properties


def _segment(width: int) -> st.SearchStrategy[str]:
    return st.integers(1, 10**width - 1).map(lambda n: f"{n:0{width}d}")


village_codes = st.builds(
    lambda p, c, x, t, v: p + c + x + t + v,
    _segment(2),
    _segment(2),
    _segment(2),
    _segment(3),
    _segment(3),
)


@given(code=village_codes)
def test_parent_chain_property(code: str) -> None:
    chain = [code]
    while (parent := parent_code_of(chain[-1])) is not None:
        chain.append(parent)
    assert [code_level(c) for c in chain] == [
        Level.VILLAGE,
        Level.TOWNSHIP,
        Level.COUNTY,
        Level.CITY,
        Level.PROVINCE,
    ]
    assert [len(c) for c in chain] == [12, 9, 6, 6, 6]
    for child, parent in zip(chain, chain[1:], strict=False):
        validate_code(child, level=code_level(child), parent_code=parent)
        validate_code(child, parent_code=parent_code_of(child))
        assert child_level(code_level(parent)) is code_level(child)
    validate_code(chain[-1], level="province")
    # The province is also an accepted parent of the county.
    validate_code(chain[2], parent_code=chain[4])


@given(code=village_codes, other=village_codes)
def test_wrong_parent_property(code: str, other: str) -> None:
    other_township = other[:9]
    if other_township == code[:9]:
        return
    with pytest.raises(CodeError) as exc:
        validate_code(code, parent_code=other_township)
    assert exc.value.field == "parent_code"


@given(code=st.text(max_size=14), level=st.none() | st.sampled_from([*Level, "bogus"]))
def test_validate_only_raises_code_error(code: str, level: str | None) -> None:
    try:
        validate_code(code, level=level)
    except CodeError as exc:
        assert exc.field in ("code", "level")
        assert " / " in exc.message
    else:
        assert code_level(code) == level or level is None


@given(code=st.text(alphabet="0123456789", min_size=6, max_size=12))
def test_digit_strings_property(code: str) -> None:
    try:
        level = code_level(code)
    except CodeError as exc:
        assert exc.field == "code"
        return
    assert len(code) in (6, 9, 12)
    parent = parent_code_of(code)
    if parent is not None:
        assert code_level(parent) is not level
        validate_code(code, parent_code=parent)


def test_given_committee_of_a_village_named_cun_when_cleaned_then_cun_is_not_doubled() -> None:
    assert clean_village_name("测试村村民委员会") == "测试村"
    assert clean_village_name("西湾村村委会") == "西湾村"
