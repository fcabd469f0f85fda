"""Chinese administrative division codes (统计用区划代码) and division names.

Pure module: standard library only, no Django, no geometry.  Nothing here
deals with coordinates, so there is no CRS or unit involved; codes are
strings of ASCII digits and names are Chinese strings.

Code structure (GB/T 2260 for the first 6 digits, NBS 统计用区划代码 for the
rest)::

    42 12 81 001 001
    │  │  │  │   └── 村级 village segment      (12-digit codes)
    │  │  │  └────── 乡级 township segment     (9-digit codes)
    │  │  └───────── 县级 county segment       (6-digit codes, not "00")
    │  └──────────── 地级 city segment         (6-digit codes ending "00", not "0000")
    └─────────────── 省级 province segment     (6-digit codes ending "0000")

Codes are always written in their *short* form here: 6 digits for province,
city and county, 9 for township, 12 for village.  The NBS publishes every
code padded to 12 digits (e.g. ``421281001000`` for the township
``421281001``); use :func:`normalize_code` to convert such padded codes.

Structural rules enforced by :func:`validate_code` on top of "6/9/12 digits":

* no segment may be all zeros at the code's own level (province ``00``,
  township ``000``, village ``000``), and a 6-digit code with city segment
  ``00`` must also have county segment ``00`` (i.e. be a province code);
* a 9-digit (township) code must start with a county code, or with a city
  code for the few prefecture-level cities without counties (不设区的地级市,
  e.g. 东莞 441900, 中山 442000, 儋州 460400, 嘉峪关 620200);
* a 12-digit (village) code must start with a valid township code.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final, Literal

__all__ = [
    "LEVEL_LABELS_ZH",
    "CodeError",
    "Level",
    "child_level",
    "clean_village_name",
    "code_level",
    "level_rank",
    "normalize_code",
    "parent_code_of",
    "parent_level",
    "short_name",
    "validate_code",
]


class Level(StrEnum):
    """Administrative level of a division, ordered from the top (province) down."""

    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"

    @property
    def label_zh(self) -> str:
        """Chinese label of the level, e.g. ``"县级"``."""
        return LEVEL_LABELS_ZH[self]


#: Chinese labels of the levels.  Keys are :class:`Level` members, which are
#: ``str`` instances, so plain strings such as ``"county"`` work as keys too.
LEVEL_LABELS_ZH: Final[dict[str, str]] = {
    Level.PROVINCE: "省级",
    Level.CITY: "地级",
    Level.COUNTY: "县级",
    Level.TOWNSHIP: "乡级",
    Level.VILLAGE: "村级",
}

_ORDER: Final[tuple[Level, ...]] = (
    Level.PROVINCE,
    Level.CITY,
    Level.COUNTY,
    Level.TOWNSHIP,
    Level.VILLAGE,
)

ErrorField = Literal["code", "parent_code", "level"]


class CodeError(ValueError):
    """An invalid division code, parent code or level.

    Attributes:
        field: which input is wrong: ``"code"``, ``"parent_code"`` or ``"level"``
            (suitable for attaching the error to a form/serializer field).
        message: bilingual message, Chinese first, then `` / `` and English.
    """

    def __init__(self, field: ErrorField, message: str) -> None:
        super().__init__(message)
        self.field: ErrorField = field
        self.message: str = message


def _as_level(level: str) -> Level:
    """Coerce ``level`` (a :class:`Level` or its string value) to :class:`Level`."""
    try:
        return Level(level)
    except ValueError:
        allowed = ", ".join(lv.value for lv in Level)
        raise CodeError(
            "level",
            f"级别 {level!r} 无效：必须为 {allowed} 之一 / level {level!r} is invalid: must be one of {allowed}",
        ) from None


def level_rank(level: str) -> int:
    """Rank of ``level``: 0 for province, 1 city, 2 county, 3 township, 4 village.

    Raises:
        CodeError: (``field="level"``) if ``level`` is not a known level.
    """
    return _ORDER.index(_as_level(level))


def child_level(level: str) -> Level | None:
    """The level directly below ``level``, or ``None`` for village (the lowest level).

    Raises:
        CodeError: (``field="level"``) if ``level`` is not a known level.
    """
    rank = level_rank(level)
    return _ORDER[rank + 1] if rank + 1 < len(_ORDER) else None


def parent_level(level: str) -> Level | None:
    """The level directly above ``level``, or ``None`` for province (the top level).

    Raises:
        CodeError: (``field="level"``) if ``level`` is not a known level.
    """
    rank = level_rank(level)
    return _ORDER[rank - 1] if rank > 0 else None


# --------------------------------------------------------------------------- codes

_DIGITS_RE: Final = re.compile(r"[0-9]+")


def _bad_format(code: str) -> str:
    return f"代码 {code} 无效：必须为 6/9/12 位数字 / code must be 6, 9 or 12 digits"


def _structure_problem(code: str) -> tuple[Level | None, str | None]:
    """Return ``(level, None)`` for a structurally valid code, else ``(None, reason)``."""
    if not isinstance(code, str) or _DIGITS_RE.fullmatch(code) is None or len(code) not in (6, 9, 12):
        return None, _bad_format(str(code))
    if len(code) == 6:
        if code[:2] == "00":
            return None, (
                f"代码 {code} 无效：省级段（前 2 位）不能为 00 / "
                f"code {code} is invalid: the province part (digits 1-2) must not be 00"
            )
        if code[2:] == "0000":
            return Level.PROVINCE, None
        if code[2:4] == "00":
            return None, (
                f"代码 {code} 无效：地级段（第 3-4 位）为 00 时县级段（第 5-6 位）也必须为 00 / "
                f"code {code} is invalid: when the city part (digits 3-4) is 00 "
                "the county part (digits 5-6) must be 00 too"
            )
        return (Level.CITY if code[4:] == "00" else Level.COUNTY), None
    if len(code) == 9:
        prefix_level, _ = _structure_problem(code[:6])
        if prefix_level not in (Level.COUNTY, Level.CITY):
            return None, (
                f"代码 {code} 无效：前 6 位 {code[:6]} 不是有效的县级代码 / "
                f"code {code} is invalid: its first 6 digits {code[:6]} are not a valid county code"
            )
        if code[6:] == "000":
            return None, (
                f"代码 {code} 无效：乡级段（第 7-9 位）不能为 000 / "
                f"code {code} is invalid: the township part (digits 7-9) must not be 000"
            )
        return Level.TOWNSHIP, None
    # 12 digits
    prefix_level, _ = _structure_problem(code[:9])
    if prefix_level is not Level.TOWNSHIP:
        hint_zh = hint_en = ""
        if code[9:] == "000":
            hint_zh = "（末 3 位为 000，可能是国家统计局 12 位补零格式，请先用 normalize_code 转换）"
            hint_en = (
                " (it ends in 000: probably an NBS zero-padded code, convert it with normalize_code first)"
            )
        return None, (
            f"代码 {code} 无效：前 9 位 {code[:9]} 不是有效的乡级代码{hint_zh} / "
            f"code {code} is invalid: its first 9 digits {code[:9]} are not a valid township code{hint_en}"
        )
    if code[9:] == "000":
        return None, (
            f"代码 {code} 无效：村级段（第 10-12 位）不能为 000（可能是国家统计局 12 位补零格式的乡级代码 "
            f"{code[:9]}，请先用 normalize_code 转换） / "
            f"code {code} is invalid: the village part (digits 10-12) must not be 000 "
            f"(probably the NBS zero-padded form of township {code[:9]}; use normalize_code)"
        )
    return Level.VILLAGE, None


def code_level(code: str) -> Level:
    """Level of a structurally valid division code.

    >>> code_level("421281"), code_level("421281001")
    (<Level.COUNTY: 'county'>, <Level.TOWNSHIP: 'township'>)

    Raises:
        CodeError: (``field="code"``) if ``code`` is not a valid code (see module docstring).
    """
    level, problem = _structure_problem(code)
    if level is None:
        raise CodeError("code", problem or _bad_format(str(code)))
    return level


def normalize_code(code: str) -> str:
    """Convert an NBS 12-digit zero-padded code to its short form; other codes pass through.

    ``"420000000000"`` → ``"420000"``, ``"421200000000"`` → ``"421200"``,
    ``"421281000000"`` → ``"421281"``, ``"421281001000"`` → ``"421281001"``,
    ``"421281001001"`` → ``"421281001001"``.  Leading/trailing whitespace is
    removed.  The result is validated.

    Raises:
        CodeError: (``field="code"``) if the result is not a valid code.
    """
    code = code.strip()
    if len(code) == 12 and code.isascii() and code.isdigit():
        if code[6:] == "000000":
            code = code[:6]
        elif code[9:] == "000":
            code = code[:9]
    code_level(code)
    return code


def parent_code_of(code: str) -> str | None:
    """Canonical parent code derived from the code itself.

    village → first 9 digits; township → first 6 digits; county → first 4
    digits + ``"00"`` (for 省直辖县级 counties such as 仙桃 429004 this is the
    "省直辖县级行政区划" pseudo-city 429000); city → first 2 digits + ``"0000"``;
    province → ``None``.

    Raises:
        CodeError: (``field="code"``) if ``code`` is invalid.
    """
    level = code_level(code)
    if level is Level.VILLAGE:
        return code[:9]
    if level is Level.TOWNSHIP:
        return code[:6]
    if level is Level.COUNTY:
        return code[:4] + "00"
    if level is Level.CITY:
        return code[:2] + "0000"
    return None


def validate_code(code: str, level: str | None = None, parent_code: str | None = None) -> None:
    """Validate a division code, optionally against its declared level and parent code.

    Rules:

    * ``code`` is 6, 9 or 12 ASCII digits and structurally valid (module docstring);
    * if ``level`` is given it must be a known level equal to ``code_level(code)``;
    * if ``parent_code`` is given (``None`` and ``""`` mean "not given"):

      - a province has no parent;
      - a city's parent is its province ``code[:2] + "0000"``;
      - a county's parent is its city (a city-level code sharing the first 4
        digits, i.e. ``code[:4] + "00"``; this also covers the 省直辖县级
        pseudo-cities such as 429000) or directly its province
        ``code[:2] + "0000"``;
      - a township's parent is the county ``code[:6]`` (or, for 不设区的地级市
        such as 东莞, the city ``code[:6]``);
      - a village's parent is the township ``code[:9]``.

    Raises:
        CodeError: with ``field`` ``"code"``, ``"level"`` or ``"parent_code"``
            naming the offending input, and a bilingual message.
    """
    actual = code_level(code)
    if level is not None:
        declared = _as_level(level)
        if declared is not actual:
            raise CodeError(
                "level",
                f"代码 {code} 为{actual.label_zh}代码，与所填级别“{declared.label_zh}”不符 / "
                f"code {code} is a {actual.value}-level code, not {declared.value}",
            )
    if parent_code is None or parent_code == "":
        return
    if actual is Level.PROVINCE:
        raise CodeError(
            "parent_code",
            f"省级代码 {code} 不能有上级代码（填写了 {parent_code}） / "
            f"province code {code} cannot have a parent (got {parent_code})",
        )
    p_level, p_problem = _structure_problem(parent_code)
    if p_level is None:
        raise CodeError("parent_code", f"上级{p_problem}")

    expected = parent_level(actual)
    assert expected is not None  # actual is not province
    allowed_levels: tuple[Level, ...] = (expected,)
    if actual is Level.COUNTY:
        allowed_levels = (Level.CITY, Level.PROVINCE)
    elif actual is Level.TOWNSHIP:
        allowed_levels = (Level.COUNTY, Level.CITY)
    if p_level not in allowed_levels:
        want_zh = "或".join(lv.label_zh for lv in allowed_levels)
        want_en = " or ".join(lv.value for lv in allowed_levels)
        raise CodeError(
            "parent_code",
            f"上级代码 {parent_code} 为{p_level.label_zh}代码，{actual.label_zh}代码 {code} 的上级必须为{want_zh} / "
            f"parent code {parent_code} is {p_level.value}-level; the parent of {actual.value} code {code} "
            f"must be {want_en}-level",
        )

    if p_level is Level.PROVINCE:
        ok = parent_code[:2] == code[:2]
    elif p_level is Level.CITY and actual is Level.COUNTY:
        ok = parent_code[:4] == code[:4]
    else:
        ok = code.startswith(parent_code)
    if not ok:
        canonical = parent_code_of(code)
        raise CodeError(
            "parent_code",
            f"上级代码 {parent_code} 与代码 {code} 不匹配：代码应以上级代码的有效部分开头（应为 {canonical}） / "
            f"parent code {parent_code} does not match code {code}: "
            f"the code must start with the parent's significant digits (expected {canonical})",
        )


# --------------------------------------------------------------------------- names

#: Names ending with one of these are kept whole by :func:`short_name`
#: (they are not administrative suffixes but part of the proper name).
KEEP_WHOLE_SUFFIXES: Final[tuple[str, ...]] = (
    "林场",
    "茶场",
    "农场",
    "牧场",
    "渔场",
    "果场",
    "盐场",
    "场",
    "开发区",
    "工业园区",
    "工业园",
    "产业园",
    "园区",
    "工业区",
    "示范区",
    "管理区",
    "实验区",
    "试验区",
    "风景区",
    "景区",
    "度假区",
    "保税区",
    "高新区",
)

#: Administrative suffixes stripped by :func:`short_name`, per level, longest first.
_LEVEL_SUFFIXES: Final[dict[Level, tuple[str, ...]]] = {
    Level.PROVINCE: ("特别行政区", "自治区", "省", "市"),
    Level.CITY: ("自治州", "地区", "林区", "盟", "市"),
    Level.COUNTY: ("自治县", "自治旗", "特区", "林区", "新区", "县", "区", "市", "旗"),
    Level.TOWNSHIP: (
        "街道办事处",
        "地区办事处",
        "民族苏木",
        "民族乡",
        "民族镇",
        "办事处",
        "街道",
        "苏木",
        "镇",
        "乡",
    ),
    Level.VILLAGE: (
        "社区居民委员会",
        "嘎查村民委员会",
        "社区居委会",
        "村民委员会",
        "居民委员会",
        "村委会",
        "居委会",
        "社区",
        "嘎查",
        "村",
    ),
}

_AUTONOMY_SUFFIXES: Final[frozenset[str]] = frozenset({"自治区", "自治州", "自治县", "自治旗"})

#: The 55 ethnic minorities (plus 汉 and 各), used to strip 自治州/自治县 names.
_ETHNIC_GROUPS_TEXT: Final[str] = (
    "蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 "
    "东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 "
    "俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺 汉 各"
)
_ETHNIC_GROUPS: Final[tuple[str, ...]] = tuple(sorted(_ETHNIC_GROUPS_TEXT.split(), key=len, reverse=True))


def _strip_ethnic(stem: str, *, bare: bool) -> str:
    """Strip trailing ethnic-group names (``苗族``, ``土家族``…) while >= 2 characters remain.

    With ``bare=True`` (names of 自治区/州/县/旗) multi-character group names
    without ``族`` are stripped as well (新疆维吾尔 → 新疆), but never down to
    fewer than 2 characters (内蒙古 stays 内蒙古, 西藏 stays 西藏).
    """
    changed = True
    while changed:
        changed = False
        for group in _ETHNIC_GROUPS:
            candidates = [group + "族"]
            if bare and len(group) >= 2:
                candidates.append(group)
            for cand in candidates:
                if stem.endswith(cand) and len(stem) - len(cand) >= 2:
                    stem = stem[: -len(cand)]
                    changed = True
                    break
            if changed:
                break
    if stem.endswith("族") and len(stem) >= 3:
        # e.g. 鄂温克族(自治旗): the whole stem is an ethnic name; drop just "族".
        stem = stem[:-1]
    return stem


def short_name(name: str, level: str) -> str:
    """Short name of a division, as used in boundary-line names (e.g. "赤壁—临湘线").

    Strips the administrative suffix for ``level`` (省/市/自治区, 市/地区/盟/自治州,
    县/区/市/旗/林区/自治县, 镇/乡/街道/苏木, 村/社区/居委会/村委会/…) and, for
    autonomous and ethnic divisions, the ethnic-group names before it::

        赤壁市→赤壁  咸安区→咸安  湖北省→湖北  内蒙古自治区→内蒙古
        恩施土家族苗族自治州→恩施  神农架林区→神农架  赵李桥镇→赵李桥
        蒲圻街道→蒲圻  营里社区居委会→营里  金潭村委会→金潭  泉口村→泉口

    Names ending in :data:`KEEP_WHOLE_SUFFIXES` (林场, 茶场, 开发区, 工业园…)
    are returned unchanged.  If stripping would leave fewer than 2 characters
    the original (whitespace-trimmed) name is returned, so the result is never
    empty.

    Raises:
        ValueError: if ``name`` is empty or only whitespace.
        CodeError: (``field="level"``) if ``level`` is not a known level.
    """
    lv = _as_level(level)
    original = name.strip()
    if not original:
        raise ValueError("名称不能为空 / name must not be empty")
    if original.endswith(KEEP_WHOLE_SUFFIXES):
        return original
    stem = original
    stripped_suffix = ""
    for suffix in _LEVEL_SUFFIXES[lv]:
        if original.endswith(suffix):
            stem = original[: -len(suffix)]
            stripped_suffix = suffix
            break
    if len(stem) < 2:
        return original
    autonomous = stripped_suffix in _AUTONOMY_SUFFIXES
    if autonomous or stem.endswith("族"):
        stem = _strip_ethnic(stem, bare=autonomous)
    return stem if len(stem) >= 2 else original


#: (NBS suffix, display suffix) rewrites applied by :func:`clean_village_name`, longest first.
_VILLAGE_REWRITES: Final[tuple[tuple[str, str], ...]] = (
    # "XX村村民委员会" is the committee of XX村: the 村 is not doubled.
    ("村村民委员会", "村"),
    ("村村委会", "村"),
    ("社区居民委员会", "社区"),
    ("嘎查村民委员会", "嘎查"),
    ("社区居委会", "社区"),
    ("村民委员会", "村"),
    ("居民委员会", "社区"),
    ("村委会", "村"),
    ("居委会", "社区"),
)


def clean_village_name(name: str) -> str:
    """Normalise an NBS village-level name (村级) for display.

    ``营里社区居委会``→``营里社区``, ``西街社区居民委员会``→``西街社区``,
    ``凤凰山居委会``→``凤凰山社区``, ``金潭村委会``→``金潭村``,
    ``泉口村民委员会``→``泉口村``; names without a committee suffix
    (``泉口村``) are returned unchanged (whitespace-trimmed).  A name that is
    nothing but a suffix (``居委会``) is returned unchanged.
    """
    text = name.strip()
    for suffix, replacement in _VILLAGE_REWRITES:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)] + replacement
    return text
