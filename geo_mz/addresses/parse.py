"""Chinese address strings -> structured house-number addresses (门牌地址).

Pure module: standard library only, no Django (DESIGN §1). Used to read addresses typed by the
public, copied from property / land / household / business-licence records, or imported from
spreadsheets, and to match them against the standard addresses.

Three address kinds are recognised (DOMAIN §2):

* road address: 道路 + 门牌号 (``人民路15号``, ``人民路15号之一``, ``甲15号``, ``15-1号``, ``15A号``);
* compound address: 小区 + 幢 + 单元 + 室 (``金鸾花园3幢2单元301室``, ``金鸾花园15#楼1单元``,
  ``金鸾花园3-2-301``);
* rural address: 村（社区） + 组 or 自然村 + 号 (``石坡村3组15号``, ``羊楼洞村张家湾12号``).

Infill suffixes use the numbering engine's text forms: ``之一``/``之二``…, ``-1``, ``甲``/``乙``…
(the stem is written before the number) and ``A``/``B``….

**Normalisation** (:func:`normalize`): NFKC (full-width digits, letters, ``＃`` and ``－`` become
ASCII), whitespace removed, every dash written ``-``, ``#`` after a number read as ``号``
(``15#楼`` -> ``15号楼``), ``第`` dropped before a numbered unit (``第三组`` -> ``3组``), and a
Chinese numeral that directly precedes a unit word (号 号楼 幢 栋 楼 单元 室 户 组 层) written in
Arabic digits (``十五号`` -> ``15号``, ``三单元`` -> ``3单元``, ``一二三号`` -> ``123号``). Numerals
inside names are kept (``人民二巷``, ``三元路``, ``十里铺路``), and so is a number that is part of a
road or village name (``二号路``, ``三号村``: the unit word is followed by a road or division word).

**Front of the string.** Divisions are taken off the front in order: province (dropped), county
level (市 县 区 旗 …; the last one wins, so ``湖北省咸宁市赤壁市`` gives ``赤壁市``), township
(街道 镇 乡, 开发区, 林场 …) and village (村 社区 …). ``known_places`` (official names) are
preferred; otherwise the suffixes decide. A suffix is not taken as a division when the text after
it is a road generic (``新市路``) or when it belongs to a compound (``金鸾小区``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from geo_mz.addresses.parse_tokens import (
    CN_NUMERAL_CHARS,
    NAMES_AFTER_UNIT,
    STEMS,
    UNIT_WORDS,
    Token,
    tail_tokens,
)
from geo_mz.core.limits import MAX_TEXT_CHARS, ensure_length

__all__ = [
    "MAX_CN_NUMBER",
    "MISSING_NUMBER_WARNING",
    "MIXED_NUMERALS_WARNING",
    "ParsedAddress",
    "cn_to_int",
    "format_house_number",
    "int_to_cn",
    "normalize",
    "parse_address",
]

# --------------------------------------------------------------------------- Chinese numerals

#: Largest value :func:`int_to_cn` writes (house, building, unit and room numbers stay below it).
MAX_CN_NUMBER: Final = 9999

_CN_DIGITS: Final = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS: Final = {"十": 10, "百": 100, "千": 1000}
_CN: Final = CN_NUMERAL_CHARS  # every numeral character, for regexes
_WRITE_DIGITS: Final = "零一二三四五六七八九"
_WRITE_POSITIONAL: Final = "〇一二三四五六七八九"


def cn_to_int(text: str) -> int:
    """Value of a Chinese numeral.

    * with units: ``十五`` -> 15, ``二十`` -> 20, ``一百零三`` -> 103, ``两千`` -> 2000, and the
      colloquial short form ``一百三`` -> 130;
    * without 十百千, digit by digit: ``一二三`` -> 123, ``三〇一`` -> 301, ``〇`` / ``零`` -> 0.

    Raises :class:`ValueError` (Chinese message) for anything else: empty text, Arabic digits or
    other characters (``1十5``), units out of order (``十百``), two digits in a row (``一二十``).
    """
    s = text.strip()
    if not s:
        raise ValueError("中文数字为空")
    for ch in s:
        if ch not in _CN_DIGITS and ch not in _CN_UNITS:
            raise ValueError(f"“{text}”不是中文数字：含有“{ch}”")
    if not any(ch in _CN_UNITS for ch in s):
        value = 0
        for ch in s:
            value = value * 10 + _CN_DIGITS[ch]
        return value

    def invalid(reason: str) -> ValueError:
        return ValueError(f"“{text}”不是有效的中文数字：{reason}")

    total = 0
    pending: int | None = None  # digit waiting for its unit
    last_unit = 10 * max(_CN_UNITS.values())
    after_zero = False  # a 零 stood for skipped units
    for i, ch in enumerate(s):
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
            if pending is not None:
                raise invalid("两个数字相连")
            if digit == 0:
                if i == 0 or after_zero:
                    raise invalid("“零”的位置不对")
                after_zero = True
            else:
                pending = digit
            continue
        unit = _CN_UNITS[ch]
        if unit >= last_unit:
            raise invalid("数位顺序错误")
        if pending is None:
            if i != 0 or unit != 10:  # only a leading 十 stands without its digit (十五)
                raise invalid(f"“{ch}”前缺少数字")
            pending = 1
        total += pending * unit
        pending, last_unit, after_zero = None, unit, False
    if pending is not None:
        # 一百零三 -> 3; 一百三 (no 零) is the short form of 一百三十
        total += pending if after_zero or last_unit == 10 else pending * (last_unit // 10)
    elif after_zero:
        raise invalid("以“零”结尾")
    return total


def int_to_cn(n: int, *, positional: bool = False) -> str:
    """Chinese numeral of ``0 <= n <= 9999``: 15 -> ``十五``, 103 -> ``一百零三``, 110 -> ``一百一十``.

    ``positional=True`` writes digit by digit, as room numbers often are: 301 -> ``三〇一``.
    :func:`cn_to_int` reads both forms back.
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_CN_NUMBER:
        raise ValueError(f"只能写 0–{MAX_CN_NUMBER} 的中文数字，不能写 {n!r}")
    if positional:
        return "".join(_WRITE_POSITIONAL[int(d)] for d in str(n))
    if n == 0:
        return _WRITE_DIGITS[0]
    parts: list[str] = []
    gap = False  # zeros between written digits become one 零
    for place, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // place % 10
        if digit == 0:
            gap = gap or bool(parts)
            continue
        if gap:
            parts.append(_WRITE_DIGITS[0])
            gap = False
        parts.append(_WRITE_DIGITS[digit] + unit)
    text = "".join(parts)
    return text[1:] if 10 <= n <= 19 else text  # 十五, not 一十五


# --------------------------------------------------------------------------- vocabulary

_STEMS: Final = STEMS  # prefix suffixes: 甲15号
_ROAD_GENERICS: Final = ("大道", "大街", "胡同", "路", "街", "巷", "弄", "里", "道", "坊")
_COMPOUND_GENERICS: Final = (
    "小区",
    "花园",
    "家园",
    "公寓",
    "新村",
    "大厦",
    "山庄",
    "庄园",
    "华庭",
    "公馆",
    "广场",
    "苑",
)
#: A division suffix directly followed by one of these is part of a road name (新市路, 扬州大道).
_ROAD_STARTS: Final = ("大道", "大街", "胡同", "路", "街", "巷", "弄")

_PROVINCE, _COUNTY, _TOWNSHIP, _VILLAGE = range(4)
_FIELD_OF_LEVEL: Final = {_COUNTY: "county", _TOWNSHIP: "township", _VILLAGE: "village"}
_MIN_STEM: Final = {_PROVINCE: 2, _COUNTY: 2, _TOWNSHIP: 2, _VILLAGE: 1}
#: Division suffixes and their level; ``None`` marks a 区 that is no division (小区, 园区 …).
_DIVISION_SUFFIXES: Final[tuple[tuple[str, int | None], ...]] = tuple(
    sorted(
        (
            *((s, _PROVINCE) for s in ("特别行政区", "自治区", "省")),
            *(
                (s, _COUNTY)
                for s in ("自治州", "自治县", "自治旗", "地区", "林区", "市", "县", "旗", "州", "盟", "区")
            ),
            *(
                (s, _TOWNSHIP)
                for s in (
                    "街道办事处",
                    "街道",
                    "民族乡",
                    "镇",
                    "乡",
                    "苏木",
                    "经济开发区",
                    "开发区",
                    "工业园区",
                    "工业园",
                    "高新区",
                    "管理区",
                    "风景区",
                    "林场",
                    "茶场",
                    "农场",
                    "渔场",
                )
            ),
            *((s, _VILLAGE) for s in ("村民委员会", "社区居委会", "居委会", "村委会", "社区", "村")),
            *((s, None) for s in ("小区", "园区", "片区", "校区", "街区", "景区")),
        ),
        key=lambda item: -len(item[0]),
    )
)

_UNITS: Final = "|".join(UNIT_WORDS)
#: A unit word followed by one of these belongs to a name: 二号路, 三号村, 五号桥.
_NAME_AFTER_UNIT: Final = "|".join(NAMES_AFTER_UNIT)
_UNIT_RE: Final = rf"(?:{_UNITS})(?!{_NAME_AFTER_UNIT})"

_DASHES: Final = str.maketrans(dict.fromkeys("‐‑‒–—―−－﹣", "-"))
_HASH_AS_HAO: Final = re.compile(rf"(?<=[0-9{_CN}])#")
_ORDINAL_DI: Final = re.compile(rf"第(?=(?:[0-9]+|[{_CN}]+){_UNIT_RE})")
_CN_BEFORE_UNIT: Final = re.compile(
    rf"(?<![0-9{_CN}])(?P<n>[{_CN}]+)(?:-(?P<dash>[{_CN}]+|[0-9]+))?"
    rf"(?=(?:[A-Za-z]|之[{_CN}]+)?{_UNIT_RE})"
)
MIXED_NUMERALS_WARNING: Final = "阿拉伯数字与中文数字混用，已统一为阿拉伯数字"
MISSING_NUMBER_WARNING: Final = "门牌号缺失"


# --------------------------------------------------------------------------- normalisation


def _normalize(text: str) -> tuple[str, int]:
    """:func:`normalize` plus the number of Chinese numerals it converted."""
    s = unicodedata.normalize("NFKC", text)
    s = "".join(s.split()).translate(_DASHES)
    s = _HASH_AS_HAO.sub("号", s)
    s = _ORDINAL_DI.sub("", s)
    converted = 0

    def arabic(m: re.Match[str]) -> str:
        nonlocal converted
        try:
            number = str(cn_to_int(m["n"]))
            dash = m["dash"]
            if dash:
                number += "-" + (dash if dash[0].isascii() else str(cn_to_int(dash)))
        except ValueError:  # not a numeral after all (十十号): leave it, the parser reports it
            return m[0]
        converted += 1
        return number

    return _CN_BEFORE_UNIT.sub(arabic, s), converted


def normalize(text: str) -> str:
    """Canonical spelling of an address string (see the module docstring).

    ``"人民路　十五号"`` -> ``"人民路15号"``, ``"人民路１５－１号"`` -> ``"人民路15-1号"``,
    ``"金鸾花园15#楼"`` -> ``"金鸾花园15号楼"``, ``"石坡村第二组"`` -> ``"石坡村2组"``;
    ``"人民二巷"`` and ``"十里铺路"`` are unchanged.
    """
    return _normalize(text)[0]


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """An address string split into its parts. Numbers are ``None`` and texts ``""`` when absent.

    ``kind`` is ``"compound"`` when a compound, building or unit is present, else ``"road"`` when
    a road is present, else ``"rural"`` for a village / group address, else ``""``. ``warnings``
    (Chinese) list what was normalised, unreadable or missing.
    """

    raw: str
    normalized: str
    county: str = ""  # 赤壁市
    township: str = ""  # 赤马港街道, 新店镇, 官塘驿林场
    village: str = ""  # 石坡村, 金鸾社区
    group: str = ""  # 3组, or a natural village (自然村) such as 张家湾
    road: str = ""  # 人民路, 人民二巷
    compound: str = ""  # 金鸾花园
    number: int | None = None  # 门牌号
    suffix: str = ""  # 之一, -1, 甲, A
    building: int | None = None  # 幢 / 栋 / 楼 / 号楼
    unit: int | None = None  # 单元
    room: str = ""  # 301, 1502
    kind: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def number_label(self) -> str:
        """The house number as written on the plate: ``15号``, ``15号之一``, ``甲15号``, ``15-1号``; or ``""``."""
        return "" if self.number is None else format_house_number(self.number, self.suffix)


def format_house_number(number: int, suffix: str = "") -> str:
    """House number with 号 in the usual position for its suffix.

    ``(15, "")`` -> ``15号``; ``(15, "之一")`` -> ``15号之一``; ``(15, "-1")`` -> ``15-1号``;
    ``(15, "甲")`` -> ``甲15号``; ``(15, "A")`` -> ``15A号``. :func:`parse_address` reads all of them back.
    """
    if not suffix:
        return f"{number}号"
    if suffix.startswith("之"):
        return f"{number}号{suffix}"
    if suffix in _STEMS:
        return f"{suffix}{number}号"
    if re.fullmatch(r"-[0-9]+|[A-Z]", suffix):
        return f"{number}{suffix}号"
    raise ValueError(f"不可识别的门牌后缀：{suffix!r}（可用形式如 之一、-1、甲、A）")


@dataclass(slots=True)
class _Parts:
    """Mutable working state of :func:`parse_address`."""

    county: str = ""
    township: str = ""
    village: str = ""
    group: str = ""
    road: str = ""
    compound: str = ""
    number: int | None = None
    suffix: str = ""
    building: int | None = None
    unit: int | None = None
    room: str = ""
    number_unreadable: bool = False
    warnings: list[str] = field(default_factory=list)

    def leftover(self, text: str) -> None:
        self.warnings.append(f"未能识别的内容：{text}")


# --------------------------------------------------------------------------- divisions


def _division_suffix(name: str) -> tuple[str, int | None] | None:
    """Longest division suffix of ``name`` with its level (level ``None`` for 小区 and the like)."""
    for suffix, level in _DIVISION_SUFFIXES:
        if name.endswith(suffix):
            return suffix, level
    return None


def _divisions(s: str, known_places: frozenset[str], parts: _Parts) -> str:
    """Take province, county, township and village off the front of ``s``; return the rest."""
    pos, level = 0, -1
    while level < _VILLAGE:
        found = _next_division(s[pos:], known_places, level)
        if found is None:
            break
        name, level = found
        if level != _PROVINCE:
            setattr(parts, _FIELD_OF_LEVEL[level], name)
        pos += len(name)
    return s[pos:]


def _next_division(rest: str, known_places: frozenset[str], level: int) -> tuple[str, int] | None:
    """The division at the start of ``rest`` below ``level`` (a second county level is allowed)."""

    def fits(name: str, new_level: int | None) -> bool:
        if new_level is None or new_level < level or (new_level == level != _COUNTY):
            return False
        after = rest[len(name) :]
        if after.startswith(_ROAD_STARTS) or after in _ROAD_GENERICS + _COMPOUND_GENERICS:
            return False
        return not (after[:1].isdigit() and new_level < _TOWNSHIP)

    for end in range(len(rest), 0, -1):  # the longest official name first
        if rest[:end] in known_places:
            suffix = _division_suffix(rest[:end])
            known_level = None if suffix is None else suffix[1]
            if known_level is not None and fits(rest[:end], known_level):
                return rest[:end], known_level

    head = re.split(r"[0-9]", rest, maxsplit=1)[0]
    for end in range(1, len(head) + 1):
        suffix = _division_suffix(head[:end])
        if suffix is None:
            continue
        text, new_level = suffix
        if new_level is None:
            return None  # 金鸾小区: the rest is a compound
        if end - len(text) < _MIN_STEM[new_level]:
            continue  # 新市镇: 新市 is too short for a county, read on
        if not fits(head[:end], new_level):
            return None  # 新市路: the suffix is part of a name
        return head[:end], new_level
    return None


# --------------------------------------------------------------------------- the rest


def _split_road_compound(name: str) -> tuple[str, str]:
    """``人民路金鸾花园`` -> (``人民路``, ``金鸾花园``); ("", name) when no road ends inside it."""
    for end in range(len(name) - 1, 0, -1):
        head, tail = name[:end], name[end:]
        road_generic = next((g for g in _ROAD_GENERICS if head.endswith(g)), None)
        compound_generic = next((g for g in _COMPOUND_GENERICS if tail.endswith(g)), "")
        if road_generic and len(head) > len(road_generic) and len(tail) - len(compound_generic) >= 2:
            return head, tail
    return "", name


def _take_name(parts: _Parts, name: str) -> None:
    """Place a run of non-numeric text: road, compound, group / natural village."""
    if name.endswith(_COMPOUND_GENERICS) and not parts.compound:
        if parts.road:
            parts.compound = name
        else:
            parts.road, parts.compound = _split_road_compound(name)
    elif name.endswith(_ROAD_GENERICS) and not parts.road:
        parts.road = name
    elif name.endswith("组") and not parts.group:
        parts.group = name
    elif parts.village and not (parts.group or parts.road or parts.compound):
        parts.group = name  # 自然村: 羊楼洞村张家湾12号
    elif not (parts.road or parts.compound):
        parts.road = name
        parts.warnings.append(f"“{name}”不是常见的道路或小区名称")
    else:
        parts.leftover(name)


def _suffix_of(m: Token) -> list[str]:
    """The infill suffixes written in a number token (normally none or one)."""
    found: list[str] = []
    if m.stem:
        found.append(m.stem)
    if m.dash:
        found.append(f"-{int(m.dash)}")
    if m.letter:
        found.append(m.letter.upper())
    for zhi in (m.zhi, m.zhi_after):
        if zhi:
            value = int(zhi) if zhi.isascii() else cn_to_int(zhi)
            if value < 1:
                raise ValueError(f"门牌后缀“之{zhi}”无效")
            found.append("之" + int_to_cn(value))
    return found


def _is_building_number(parts: _Parts, following: Token | None) -> bool:
    """A 号 in a compound is a building when a unit or room follows: 金鸾花园15号1单元."""
    if not parts.compound or parts.building is not None or following is None:
        return False
    return following.n is not None and following.unit in ("单元", "室", "户", None)


def _take_number(parts: _Parts, m: Token, following: Token | None) -> None:
    """Place one number token by its unit word."""
    if m.triple:  # 3-2-301: building, unit, room -- not after a bare road (人民路15-1-2)
        free = parts.building is None and parts.unit is None and not parts.room
        if free and (parts.compound or not parts.road):
            parts.building, parts.unit, parts.room = int(m.triple[0]), int(m.triple[1]), m.triple[2]
        else:
            parts.leftover(m.text)
        return
    try:
        suffixes = _suffix_of(m)
    except ValueError as exc:  # 15号之零: keep the number, report the suffix
        parts.warnings.append(f"“{m.text}”的后缀无法识别：{exc}")
        suffixes = []
    n, unit = int(m.n), m.unit
    if unit == "号" and _is_building_number(parts, following) and not suffixes:
        parts.building = n
    elif unit == "号" or (
        unit is None and parts.number is None and not parts.compound and parts.building is None
    ):
        if parts.number is not None:
            parts.leftover(m.text)
            return
        parts.number = n
        if len(suffixes) > 1:
            parts.warnings.append(f"门牌号“{m.text}”有多个后缀，只保留“{suffixes[0]}”")
        parts.suffix = suffixes[0] if suffixes else ""
    elif unit in ("号楼", "幢", "栋", "楼") and parts.building is None and not suffixes:
        parts.building = n
    elif unit == "单元" and parts.unit is None and not suffixes:
        parts.unit = n
    elif unit in ("室", "户") and not parts.room and not m.zhi and not m.zhi_after:
        parts.room = m.n + "".join(suffixes)
    elif unit is None and parts.building is not None and not parts.room:
        parts.room = m.n + "".join(suffixes)  # 3栋2单元1502
    elif unit == "组" and not parts.group and not suffixes:
        parts.group = f"{n}组"
    else:
        parts.leftover(m.text)


def _tail(parts: _Parts, tail: str) -> None:
    """Read road / compound / group names and the numbers after the divisions."""
    matches = tail_tokens(tail)
    pos = 0
    for i, m in enumerate(matches):
        if m.start > pos:
            _take_name(parts, tail[pos : m.start])
        pos = m.end
        if m.bad:
            parts.warnings.append(f"“{m.text}”中的数字无法识别（阿拉伯数字与中文数字混用或写法有误）")
            parts.number_unreadable = parts.number_unreadable or m.bad_unit == "号"
        else:
            following = matches[i + 1] if i + 1 < len(matches) else None
            if following is not None and following.start != m.end:
                following = None  # a name stands between them
            _take_number(parts, m, following)
    if pos < len(tail):
        _take_name(parts, tail[pos:])


def parse_address(text: str, *, known_places: Iterable[str] = ()) -> ParsedAddress:
    """Parse an address string (see the module docstring for what is recognised).

    ``known_places`` are official division names (``赤壁市``, ``赤马港街道``, ``官塘驿林场``,
    village names) preferred over the suffix heuristics when splitting the front of the string.
    Never raises for odd input except empty text (:class:`ValueError`) and text longer than
    :data:`~geo_mz.core.limits.MAX_TEXT_CHARS` characters (:class:`~geo_mz.core.limits.InputTooLong`,
    a guard: no address is that long, and the caller turns it into a field error): parts that
    cannot be read are reported in ``warnings`` (``门牌号缺失``, ``“1十5号”中的数字无法识别…``).
    Time and memory are linear in the length of ``text`` (see :mod:`.parse_tokens`).
    """
    ensure_length(text, MAX_TEXT_CHARS)
    normalized, converted = _normalize(text)
    if not normalized:
        raise ValueError("地址为空")
    parts = _Parts()
    known = frozenset(p.strip() for p in known_places if p.strip())
    _tail(parts, _divisions(normalized, known, parts))

    numbered_building = parts.building is not None or parts.unit is not None
    if (
        parts.village.endswith("新村")
        and numbered_building
        and not (parts.compound or parts.road or parts.group)
    ):
        parts.compound, parts.village = parts.village, ""  # 电力新村3栋: a compound, not a village
    if converted and re.search(r"[0-9]", unicodedata.normalize("NFKC", text)):
        parts.warnings.insert(0, MIXED_NUMERALS_WARNING)
    if parts.number is None and parts.building is None and not parts.number_unreadable:
        parts.warnings.append(MISSING_NUMBER_WARNING)

    if parts.compound or numbered_building:
        kind = "compound"
    elif parts.road:
        kind = "road"
    elif parts.village or parts.group:
        kind = "rural"
    else:
        kind = ""
    return ParsedAddress(
        raw=text,
        normalized=normalized,
        county=parts.county,
        township=parts.township,
        village=parts.village,
        group=parts.group,
        road=parts.road,
        compound=parts.compound,
        number=parts.number,
        suffix=parts.suffix,
        building=parts.building,
        unit=parts.unit,
        room=parts.room,
        kind=kind,
        warnings=tuple(parts.warnings),
    )
