"""Place-name rule engine (地名审核规则引擎): checks one proposed name against the rules of
《地名管理条例》(2022) and 《地名管理条例实施办法》(2024) and against existing names.

Pure module: standard library + pypinyin only, no Django, no database, no geometry library.

**Name model.**  A name is 专名 (specific) + 通名 (generic); the generic is the longest suffix
found in the rule pack's ``generics`` list (:func:`split_name`).

**Rule pack.**  Every list, threshold and severity lives in a JSON rule pack
(``geo_mz/placenames/rulepacks/<name>.json``, loaded and validated by :meth:`RulePack.load`).
Severities are ``"error"``, ``"warning"``, ``"info"`` or ``"off"`` (rule disabled).

**Coordinates.**  ``x``/``y`` are projected metres in one storage CRS (e.g. EPSG:4547); distances
are plain Euclidean distances between those points.  ``lon``/``lat`` are only carried into the
findings for display.  Nothing here reprojects.

**Scope** (pack ``scope``) limits the comparison with existing names (duplicates, homophones,
near-duplicates): ``county`` = same first 6 digits of the division code, ``city`` = same first 4,
``radius`` = within ``radius_m`` metres (falls back to ``county`` when either point is missing).
Names of another ``kind`` are ignored unless ``compare_across_kinds`` is true.  Retired names
(``status="retired"``) never conflict; an identical name or 专名 among them is reported as info.

**One relation per existing name.**  Each existing name yields at most one comparison finding, the
strongest of: ``duplicate.exact`` > ``duplicate.specific`` > ``homophone`` (专名, then 全称) >
``homophone.dialect`` > ``near_duplicate.chars`` > ``near_duplicate.pinyin``.

**Pinyin.**  Toneless pinyin follows ``pypinyin.pinyin(text, style=Style.NORMAL,
heteronym=True)`` exactly (same word segmentation and dictionaries; reimplemented with caches
because the public call costs ~90 µs); every heteronym combination is expanded, the first
:data:`VARIANT_LIMIT` combinations (primary reading first) are kept.  An officer's ``reading``
(space-separated syllables, tone marks/digits tolerated) overrides the dictionary.

**Fast candidate lookup.**  :func:`search_keys` gives the index keys of an existing name and
:func:`candidate_keys` the keys to look up for a proposal; any existing name that can produce a
comparison finding shares at least one key with the proposal (edit-distance-1 relations use
symmetric deletion neighbourhoods).  :class:`NameIndex` keeps them in a dict; a database can store
the same keys in a GIN-indexed ``text[]`` column and prefilter with ``keys && candidate_keys``,
then pass the candidates (plus the renamed name, see ``Proposal.replaces``) to :func:`check`.

**Rule ids** (:data:`RULE_IDS`; plus one ``forbidden.*`` id per pack dictionary).
"""

from __future__ import annotations

import gc
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

from pypinyin import Style
from pypinyin.constants import PHRASES_DICT, PINYIN_DICT, RE_HANS
from pypinyin.converter import DefaultConverter
from pypinyin.seg.mmseg import p_set as _PHRASE_PREFIXES
from pypinyin.seg.simpleseg import seg as _pypinyin_seg

from geo_mz.core.limits import MAX_NAME_CHARS, MAX_READING_CHARS, ensure_length

__all__ = [
    "DEFAULT_SEVERITIES",
    "PACK_DIR",
    "RULE_IDS",
    "SEVERITIES",
    "VARIANT_LIMIT",
    "Conflict",
    "Dialect",
    "ExistingName",
    "Finding",
    "GenericRule",
    "NameIndex",
    "Proposal",
    "RulePack",
    "RulePackError",
    "Scope",
    "WordDictionary",
    "candidate_keys",
    "check",
    "clear_caches",
    "has_errors",
    "initials",
    "search_keys",
    "split_name",
    "toneless_variants",
]

Severity = Literal["error", "warning", "info"]
SEVERITIES: Final[tuple[str, ...]] = ("error", "warning", "info")
_SEVERITY_RANK: Final[dict[str, int]] = {"error": 0, "warning": 1, "info": 2}

#: Maximum number of heteronym combinations kept per text (primary reading first).
VARIANT_LIMIT: Final[int] = 64

#: Folder of the bundled rule packs (``RulePack.load("default")``).
PACK_DIR: Final[Path] = Path(__file__).resolve().parent / "rulepacks"

#: Default severity of every built-in rule; a pack's ``severities`` overrides them.  Rules with a
#: secondary outcome use ``info`` for it (``generic.road_class`` with unknown width/length,
#: ``protection.listed`` when protection measures are on file).
DEFAULT_SEVERITIES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "structure.empty": "error",
        "structure.unknown_generic": "error",
        "structure.bare_generic": "error",
        "structure.stacked_generic": "error",
        "structure.bare_ordinal": "error",
        "structure.split_mismatch": "error",
        "duplicate.exact": "error",
        "duplicate.specific": "warning",
        "duplicate.retired": "info",
        "homophone": "warning",
        "homophone.dialect": "warning",
        "near_duplicate.chars": "warning",
        "near_duplicate.pinyin": "info",
        "script.latin": "error",
        "script.digit": "error",
        "script.punctuation": "error",
        "script.fullwidth": "error",
        "script.other": "error",
        "script.rare": "warning",
        "script.traditional": "warning",
        "length.specific": "warning",
        "length.total": "warning",
        "generic.road_class": "warning",
        "protection.listed": "error",
        "protection.unchecked": "info",
        "reading.mismatch": "info",
    }
)
RULE_IDS: Final[tuple[str, ...]] = tuple(DEFAULT_SEVERITIES)

_STATUSES: Final[frozenset[str]] = frozenset({"proposed", "approved", "active", "retired"})
_STATUS_ZH: Final[dict[str, str]] = {
    "active": "现有",
    "approved": "已批准的",
    "proposed": "在审的",
    "retired": "已注销的",
}
_DIGITS: Final[frozenset[str]] = frozenset("0123456789０１２３４５６７８９")


# =========================================================================== data classes


@dataclass(frozen=True, slots=True)
class ExistingName:
    """A name already in the register (or in the approval pipeline).

    ``x``/``y`` are projected metres (storage CRS), ``lon``/``lat`` only for display.
    ``reading``: officer's pronunciation override, space-separated toneless syllables of the
    whole name (or of the 专名 only).  ``status``: proposed / approved / active / retired.
    """

    id: int | str
    name: str
    specific: str
    generic: str
    division_code: str
    kind: str = "road"
    status: str = "active"
    x: float | None = None
    y: float | None = None
    lon: float | None = None
    lat: float | None = None
    protected: bool = False
    protection_measures_on_file: bool = False
    reading: str | None = None


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposed name (new name or rename).

    ``specific``/``generic`` override :func:`split_name` when given (their concatenation must be
    the name).  ``replaces``: id of the name being renamed, excluded from the conflicts and checked
    against the protection list; ids listed in ``exclude_ids`` are ignored too (ids are compared
    as ``str(id)``).  ``width_m``/``length_m`` in metres.
    """

    name: str
    division_code: str
    kind: str = "road"
    specific: str | None = None
    generic: str | None = None
    x: float | None = None
    y: float | None = None
    road_class: str | None = None
    width_m: float | None = None
    length_m: float | None = None
    reading: str | None = None
    replaces: int | str | None = None
    exclude_ids: frozenset[int | str] = frozenset()


@dataclass(frozen=True, slots=True)
class Conflict:
    """An existing name involved in a finding (``distance_m`` in projected metres, or None)."""

    id: int | str
    name: str
    division_code: str
    status: str
    lon: float | None
    lat: float | None
    distance_m: float | None
    kind: str = "road"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "division_code": self.division_code,
            "status": self.status,
            "kind": self.kind,
            "lon": self.lon,
            "lat": self.lat,
            "distance_m": None if self.distance_m is None else round(self.distance_m, 1),
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule outcome: stable ``rule_id``, ``severity`` (error/warning/info), Chinese message."""

    rule_id: str
    severity: str
    message: str
    conflicts: tuple[Conflict, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "rule_id": self.rule_id,
            "severity": self.severity,
            "message": self.message,
            "conflicts": [c.as_dict() for c in self.conflicts],
        }


# =========================================================================== rule pack


class RulePackError(ValueError):
    """Invalid rule pack; ``path`` is the JSON key path of the bad value (``"$"`` = whole file)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True)
class Scope:
    """Comparison scope: ``county`` (6-digit prefix), ``city`` (4-digit prefix) or ``radius``."""

    kind: Literal["county", "city", "radius"] = "county"
    radius_m: float = 15000.0


@dataclass(frozen=True, slots=True)
class WordDictionary:
    """One flagged-word list; ``message`` may use ``{words}`` (the matched words, joined by 、)."""

    id: str
    rule_id: str
    severity: str
    label: str
    message: str
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GenericRule:
    """Road-size requirement of one generic (metres); ``road_classes``: allowed road classes."""

    min_width_m: float | None = None
    or_min_length_m: float | None = None
    max_width_m: float | None = None
    min_length_m: float | None = None
    road_classes: tuple[str, ...] | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Dialect:
    """Syllable merges for dialect homophones: whole ``syllables`` first, else ``initials`` and
    ``finals`` (e.g. n→l, zh→z, ing→in)."""

    enabled: bool = False
    syllables: Mapping[str, str] = field(default_factory=dict)
    initials: Mapping[str, str] = field(default_factory=dict)
    finals: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[tuple[tuple[str, str], ...], ...]:
        """Hashable identity of the merge table (for caches)."""
        return (
            tuple(sorted(self.syllables.items())),
            tuple(sorted(self.initials.items())),
            tuple(sorted(self.finals.items())),
        )


@dataclass(frozen=True)
class RulePack:
    """Validated, read-only rule pack (see ``rulepacks/default.json`` for every key)."""

    name: str
    version: int
    generics: tuple[str, ...]  # longest first
    description: str = ""
    notes: tuple[str, ...] = ()
    stacking_generics: tuple[str, ...] = ()
    stacked_allow: frozenset[str] = frozenset()
    ordinal_chars: frozenset[str] = frozenset("一二三四五六七八九十百千零〇两")
    scope: Scope = Scope()
    compare_across_kinds: bool = False
    severities: Mapping[str, str] = field(default_factory=lambda: DEFAULT_SEVERITIES)
    compare_full_name: bool = True
    dialect: Dialect = Dialect()
    chars_min_length: int = 3
    pinyin_min_length: int = 4
    max_specific_length: int = 6
    max_total_length: int = 10
    min_total_length: int = 2
    common_chars_extra: frozenset[str] = frozenset()
    traditional: Mapping[str, str] = field(default_factory=dict)
    dictionaries: tuple[WordDictionary, ...] = ()
    road_generics: Mapping[str, GenericRule] = field(default_factory=dict)
    kind_labels: Mapping[str, str] = field(default_factory=dict)
    max_conflicts_per_rule: int = 20
    _generic_set: frozenset[str] = field(init=False, repr=False, compare=False)
    _words: Mapping[str, tuple[int, ...]] = field(init=False, repr=False, compare=False)
    _max_word_len: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        words: dict[str, list[int]] = {}
        for i, d in enumerate(self.dictionaries):
            for w in d.words:
                words.setdefault(w, []).append(i)
        object.__setattr__(self, "_generic_set", frozenset(self.generics))
        object.__setattr__(self, "_words", MappingProxyType({w: tuple(v) for w, v in words.items()}))
        object.__setattr__(self, "_max_word_len", max((len(w) for w in words), default=0))

    def severity(self, rule_id: str) -> str:
        """Configured severity of a built-in rule (``"off"`` = disabled)."""
        return self.severities.get(rule_id) or DEFAULT_SEVERITIES.get(rule_id, "warning")

    def kind_label(self, kind: str) -> str:
        return self.kind_labels.get(kind, "地名")

    @classmethod
    def load(cls, path_or_name: str | Path = "default") -> RulePack:
        """Load a pack by name (``rulepacks/<name>.json``) or by file path; raise RulePackError."""
        if isinstance(path_or_name, Path) or "/" in path_or_name or path_or_name.endswith(".json"):
            path = Path(path_or_name)
        else:
            if not re.fullmatch(r"[A-Za-z0-9_-]+", path_or_name):
                raise RulePackError("$", f"规则包名称无效：{path_or_name!r}")
            path = PACK_DIR / f"{path_or_name}.json"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RulePackError("$", f"无法读取规则包文件 {path}：{exc.strerror or exc}") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RulePackError(
                "$", f"JSON 语法错误（第 {exc.lineno} 行第 {exc.colno} 列）：{exc.msg}"
            ) from exc
        if isinstance(data, dict) and "name" not in data:
            data = {**data, "name": path.stem}
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, d: Any) -> RulePack:
        """Validate a decoded JSON pack; unknown keys are errors (they are usually typos)."""
        return _parse_pack(d)


# --------------------------------------------------------------------------- pack validation


def _fail(path: str, message: str) -> RulePackError:
    return RulePackError(path, message)


def _obj(v: Any, path: str, allowed: Iterable[str], required: Iterable[str] = ()) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise _fail(path, "应为 JSON 对象")
    allowed_set = set(allowed)
    for k in v:
        if k not in allowed_set:
            raise _fail(
                f"{path}.{k}" if path != "$" else k,
                "未知的键（允许：" + "、".join(sorted(allowed_set)) + "）",
            )
    for k in required:
        if k not in v:
            raise _fail(f"{path}.{k}" if path != "$" else k, "缺少必填项")
    return v


def _sub(path: str, key: str) -> str:
    return key if path == "$" else f"{path}.{key}"


def _str(v: Any, path: str, *, empty: bool = False) -> str:
    if not isinstance(v, str):
        raise _fail(path, "应为字符串")
    if not empty and not v.strip():
        raise _fail(path, "不能为空字符串")
    return v


def _bool(v: Any, path: str) -> bool:
    if not isinstance(v, bool):
        raise _fail(path, "应为 true 或 false")
    return v


def _int(v: Any, path: str, minimum: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise _fail(path, "应为整数")
    if v < minimum:
        raise _fail(path, f"应不小于 {minimum}")
    return v


def _num(v: Any, path: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise _fail(path, "应为有限数值")
    if v <= 0:
        raise _fail(path, "应为正数")
    return float(v)


def _str_list(v: Any, path: str, *, max_len: int | None = None) -> tuple[str, ...]:
    if not isinstance(v, list):
        raise _fail(path, "应为字符串数组")
    out: list[str] = []
    seen: set[str] = set()
    for i, item in enumerate(v):
        p = f"{path}[{i}]"
        s = _str(item, p)
        if s != s.strip() or any(ch.isspace() for ch in s):
            raise _fail(p, "不能含空白字符")
        if max_len is not None and len(s) > max_len:
            raise _fail(p, f"长度不能超过 {max_len} 个字")
        if s in seen:
            raise _fail(p, f"重复的条目“{s}”")
        seen.add(s)
        out.append(s)
    return tuple(out)


def _severity(v: Any, path: str, *, allow_off: bool = True) -> str:
    allowed = (*SEVERITIES, "off") if allow_off else SEVERITIES
    if v not in allowed:
        raise _fail(path, "严重程度应为 " + " / ".join(allowed))
    return str(v)


def _str_map(v: Any, path: str, *, single_char: bool = False) -> dict[str, str]:
    if not isinstance(v, dict):
        raise _fail(path, "应为 JSON 对象")
    out: dict[str, str] = {}
    for k, val in v.items():
        p = f"{path}.{k}"
        s = _str(val, p)
        if single_char and (len(k) != 1 or len(s) != 1):
            raise _fail(p, "键和值都应为单个汉字")
        if single_char and k == s:
            raise _fail(p, "繁体字与简化字相同")
        out[k] = s
    return out


_PACK_KEYS: Final[tuple[str, ...]] = (
    "name",
    "version",
    "description",
    "notes",
    "generics",
    "structure",
    "scope",
    "compare_across_kinds",
    "severities",
    "homophone",
    "dialect",
    "near_duplicate",
    "length",
    "script",
    "dictionaries",
    "road_generics",
    "kind_labels",
    "max_conflicts_per_rule",
)
_SYLLABLE_RE: Final = re.compile(r"[a-z]+")


def _parse_pack(d: Any) -> RulePack:
    d = _obj(d, "$", _PACK_KEYS, required=("name", "version", "generics"))
    kw: dict[str, Any] = {
        "name": _str(d["name"], "name"),
        "version": _int(d["version"], "version", 1),
    }
    if "description" in d:
        kw["description"] = _str(d["description"], "description", empty=True)
    if "notes" in d:
        if not isinstance(d["notes"], list):
            raise _fail("notes", "应为字符串数组")
        kw["notes"] = tuple(_str(n, f"notes[{i}]") for i, n in enumerate(d["notes"]))
    generics = _str_list(d["generics"], "generics")
    if not generics:
        raise _fail("generics", "至少需要一个通名")
    kw["generics"] = tuple(sorted(generics, key=lambda g: (-len(g), g)))
    generic_set = set(generics)

    if "structure" in d:
        s = _obj(d["structure"], "structure", ("stacking_generics", "stacked_allow", "ordinal_chars"))
        if "stacking_generics" in s:
            stacking = _str_list(s["stacking_generics"], "structure.stacking_generics")
            for i, g in enumerate(stacking):
                if g not in generic_set:
                    raise _fail(f"structure.stacking_generics[{i}]", f"“{g}”不在 generics 中")
            kw["stacking_generics"] = tuple(sorted(stacking, key=lambda g: (-len(g), g)))
        if "stacked_allow" in s:
            kw["stacked_allow"] = frozenset(_str_list(s["stacked_allow"], "structure.stacked_allow"))
        if "ordinal_chars" in s:
            kw["ordinal_chars"] = frozenset(_str(s["ordinal_chars"], "structure.ordinal_chars"))

    if "scope" in d:
        s = _obj(d["scope"], "scope", ("kind", "radius_m"), required=("kind",))
        if s["kind"] not in ("county", "city", "radius"):
            raise _fail("scope.kind", "应为 county / city / radius")
        radius = _num(s["radius_m"], "scope.radius_m") if "radius_m" in s else 15000.0
        if s["kind"] == "radius" and "radius_m" not in s:
            raise _fail("scope.radius_m", "scope.kind 为 radius 时必须给出半径（米）")
        kw["scope"] = Scope(kind=s["kind"], radius_m=radius)

    if "compare_across_kinds" in d:
        kw["compare_across_kinds"] = _bool(d["compare_across_kinds"], "compare_across_kinds")

    if "severities" in d:
        sev = d["severities"]
        if not isinstance(sev, dict):
            raise _fail("severities", "应为 JSON 对象")
        merged = dict(DEFAULT_SEVERITIES)
        for k, v in sev.items():
            if k not in DEFAULT_SEVERITIES:
                raise _fail(f"severities.{k}", "未知的规则编号")
            merged[k] = _severity(v, f"severities.{k}")
        kw["severities"] = MappingProxyType(merged)

    if "homophone" in d:
        h = _obj(d["homophone"], "homophone", ("compare_full_name",))
        if "compare_full_name" in h:
            kw["compare_full_name"] = _bool(h["compare_full_name"], "homophone.compare_full_name")

    if "dialect" in d:
        dia = _obj(d["dialect"], "dialect", ("enabled", "syllables", "initials", "finals", "note"))
        maps: dict[str, dict[str, str]] = {}
        for key in ("syllables", "initials", "finals"):
            m = _str_map(dia.get(key, {}), f"dialect.{key}")
            for k, v in m.items():
                for p, s in ((f"dialect.{key}.{k}", k), (f"dialect.{key}.{k}", v)):
                    if not _SYLLABLE_RE.fullmatch(s):
                        raise _fail(p, "应为小写无调拼音字母")
            maps[key] = m
        if "note" in dia:
            _str(dia["note"], "dialect.note", empty=True)
        kw["dialect"] = Dialect(
            enabled=_bool(dia.get("enabled", False), "dialect.enabled"),
            syllables=MappingProxyType(maps["syllables"]),
            initials=MappingProxyType(maps["initials"]),
            finals=MappingProxyType(maps["finals"]),
        )

    if "near_duplicate" in d:
        n = _obj(d["near_duplicate"], "near_duplicate", ("chars_min_length", "pinyin_min_length"))
        if "chars_min_length" in n:
            kw["chars_min_length"] = _int(n["chars_min_length"], "near_duplicate.chars_min_length", 2)
        if "pinyin_min_length" in n:
            kw["pinyin_min_length"] = _int(n["pinyin_min_length"], "near_duplicate.pinyin_min_length", 2)

    if "length" in d:
        ln = _obj(d["length"], "length", ("max_specific", "max_total", "min_total"))
        if "max_specific" in ln:
            kw["max_specific_length"] = _int(ln["max_specific"], "length.max_specific", 1)
        if "max_total" in ln:
            kw["max_total_length"] = _int(ln["max_total"], "length.max_total", 2)
        if "min_total" in ln:
            kw["min_total_length"] = _int(ln["min_total"], "length.min_total", 1)
        if kw.get("min_total_length", 2) > kw.get("max_total_length", 10):
            raise _fail("length.min_total", "不能大于 length.max_total")

    if "script" in d:
        sc = _obj(d["script"], "script", ("common_chars_extra", "traditional"))
        if "common_chars_extra" in sc:
            kw["common_chars_extra"] = frozenset(
                _str(sc["common_chars_extra"], "script.common_chars_extra", empty=True)
            )
        if "traditional" in sc:
            kw["traditional"] = MappingProxyType(
                _str_map(sc["traditional"], "script.traditional", single_char=True)
            )

    if "dictionaries" in d:
        dicts = d["dictionaries"]
        if not isinstance(dicts, list):
            raise _fail("dictionaries", "应为数组")
        out: list[WordDictionary] = []
        ids: set[str] = set()
        for i, item in enumerate(dicts):
            p = f"dictionaries[{i}]"
            o = _obj(item, p, ("id", "rule_id", "severity", "label", "message", "words", "note"),
                     required=("id", "rule_id", "severity", "label", "message", "words"))  # fmt: skip
            did = _str(o["id"], f"{p}.id")
            if did in ids:
                raise _fail(f"{p}.id", f"重复的词表编号“{did}”")
            ids.add(did)
            rule_id = _str(o["rule_id"], f"{p}.rule_id")
            if not re.fullmatch(r"forbidden\.[a-z_]+", rule_id):
                raise _fail(f"{p}.rule_id", "应为 forbidden.<小写英文>（如 forbidden.exaggerated）")
            message = _str(o["message"], f"{p}.message")
            try:
                message.format(words="x")
            except (KeyError, IndexError, ValueError) as exc:
                raise _fail(f"{p}.message", "模板只能使用 {words} 占位符") from exc
            if "note" in o:
                _str(o["note"], f"{p}.note", empty=True)
            out.append(
                WordDictionary(
                    id=did,
                    rule_id=rule_id,
                    severity=_severity(o["severity"], f"{p}.severity"),
                    label=_str(o["label"], f"{p}.label"),
                    message=message,
                    words=_str_list(o["words"], f"{p}.words", max_len=8),
                )
            )
        kw["dictionaries"] = tuple(out)

    if "road_generics" in d:
        rg = d["road_generics"]
        if not isinstance(rg, dict):
            raise _fail("road_generics", "应为 JSON 对象")
        rules: dict[str, GenericRule] = {}
        for g, spec in rg.items():
            p = f"road_generics.{g}"
            if g not in generic_set:
                raise _fail(p, f"“{g}”不在 generics 中")
            o = _obj(
                spec,
                p,
                ("min_width_m", "or_min_length_m", "max_width_m", "min_length_m", "road_classes", "note"),
            )
            r = GenericRule(
                min_width_m=_num(o["min_width_m"], f"{p}.min_width_m") if "min_width_m" in o else None,
                or_min_length_m=_num(o["or_min_length_m"], f"{p}.or_min_length_m") if "or_min_length_m" in o else None,
                max_width_m=_num(o["max_width_m"], f"{p}.max_width_m") if "max_width_m" in o else None,
                min_length_m=_num(o["min_length_m"], f"{p}.min_length_m") if "min_length_m" in o else None,
                road_classes=_str_list(o["road_classes"], f"{p}.road_classes") if "road_classes" in o else None,
                note=_str(o["note"], f"{p}.note", empty=True) if "note" in o else "",
            )  # fmt: skip
            if r.or_min_length_m is not None and r.min_width_m is None:
                raise _fail(f"{p}.or_min_length_m", "只能与 min_width_m 一起使用")
            if r.min_width_m is not None and r.max_width_m is not None and r.min_width_m > r.max_width_m:
                raise _fail(f"{p}.min_width_m", "不能大于 max_width_m")
            rules[g] = r
        kw["road_generics"] = MappingProxyType(rules)

    if "kind_labels" in d:
        kw["kind_labels"] = MappingProxyType(_str_map(d["kind_labels"], "kind_labels"))
    if "max_conflicts_per_rule" in d:
        kw["max_conflicts_per_rule"] = _int(d["max_conflicts_per_rule"], "max_conflicts_per_rule", 1)
    return RulePack(**kw)


# =========================================================================== names and pinyin


def split_name(name: str, pack: RulePack) -> tuple[str, str]:
    """(专名, 通名) using the pack's generics, longest suffix first.

    ``("", name)`` for a bare generic, ``(name, "")`` when no generic matches.
    """
    name = name.strip()
    if name in pack._generic_set:
        return "", name
    for g in pack.generics:
        if len(name) > len(g) and name.endswith(g):
            return name[: -len(g)], g
    return name, ""


_CONVERTER: Final = DefaultConverter()


@lru_cache(maxsize=8192)
def _toneless(han: str, toned: str) -> str:
    return str(_CONVERTER.convert_style(han, toned, Style.NORMAL, True))


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))


@lru_cache(maxsize=16384)
def _char_readings(han: str) -> tuple[str, ...]:
    raw = PINYIN_DICT.get(ord(han))
    return _dedupe(_toneless(han, p) for p in raw.split(",")) if raw else (han,)


def _segment_positions(text: str) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for word in _pypinyin_seg(text):
        if RE_HANS.match(word):
            phrase = PHRASES_DICT.get(word)
            if phrase is not None:
                for han, item in zip(word, phrase, strict=False):
                    out.append(_dedupe(_toneless(han, p) for p in item))
            else:
                out.extend(_char_readings(han) for han in word)
        else:
            chunk = word.strip().lower()
            if chunk:
                out.append((chunk,))
    return out


@lru_cache(maxsize=131072)
def _positions(text: str) -> tuple[tuple[str, ...], ...]:
    """Toneless heteronym readings per position, as ``pinyin(text, Style.NORMAL, heteronym=True)``.

    Same segmentation (pypinyin's forward maximum matching) and dictionaries; fast path when no
    two adjacent Hanzi start a dictionary phrase (then every character is its own word).
    """
    if RE_HANS.match(text):  # all Hanzi (pypinyin's definition; the pattern is anchored)
        for i in range(len(text) - 1):
            if text[i : i + 2] in _PHRASE_PREFIXES:
                break
        else:
            return tuple(_char_readings(ch) for ch in text)
    return tuple(item for item in _segment_positions(text) if item)


def _expand(positions: Sequence[Sequence[str]], limit: int) -> tuple[tuple[str, ...], ...]:
    """Heteronym combinations, primary reading first, at most ``limit``."""
    combos: list[tuple[str, ...]] = [()]
    for options in positions:
        if len(options) == 1:
            one = (options[0],)
            combos = [c + one for c in combos]
        else:
            combos = [c + (o,) for c in combos for o in options][:limit]
    return tuple(combos)


def _normalize_syllable(token: str) -> str:
    s = unicodedata.normalize("NFD", token.lower().replace("ü", "v").replace("u:", "v"))
    s = s.replace("u\u0308", "v")
    return "".join(ch for ch in s if "a" <= ch <= "z")


def _reading_tokens(reading: str | None) -> tuple[str, ...] | None:
    if reading is None or not reading.strip():
        return None
    tokens = tuple(t for t in (_normalize_syllable(x) for x in reading.split()) if t)
    return tokens or None


def toneless_variants(text: str, reading: str | None = None, limit: int = VARIANT_LIMIT) -> frozenset[str]:
    """Joined toneless pinyin of ``text`` for every heteronym combination (at most ``limit``).

    An officer's ``reading`` (space-separated syllables) wins: ``{"".join(syllables)}``.
    """
    tokens = _reading_tokens(reading)
    if tokens is not None:
        return frozenset({"".join(tokens)})
    return frozenset("".join(c) for c in _expand(_positions(text), limit))


def initials(text: str, reading: str | None = None) -> str:
    """First letters of the primary reading: 中山路 → ``"zsl"`` (officer's reading wins)."""
    tokens = _reading_tokens(reading)
    if tokens is None:
        tokens = tuple(opts[0] for opts in _positions(text))
    return "".join(t[0] for t in tokens if t)


@dataclass(frozen=True, slots=True)
class _Info:
    """Pre-computed comparison data of one name."""

    name: str
    specific: str
    spec_syll: tuple[tuple[str, ...], ...]  # syllable tuples of the 专名, primary first
    spec: frozenset[str]  # joined toneless variants of the 专名
    full: frozenset[str]  # joined toneless variants of the whole name
    reading_ok: bool  # False if an override reading did not fit the name


@lru_cache(maxsize=262144)
def _info(name: str, specific: str, reading: str | None) -> _Info:
    tokens = _reading_tokens(reading)
    ok = True
    spec_syll: tuple[tuple[str, ...], ...]
    full_syll: tuple[tuple[str, ...], ...]
    if tokens is not None and name.startswith(specific) and len(tokens) in (len(name), len(specific)):
        n = len(specific)
        spec_syll = (tokens[:n],)
        if len(tokens) == len(name):
            full_syll = (tokens,)
        else:
            full_syll = tuple(tokens + g for g in _expand(_positions(name[n:]), VARIANT_LIMIT))
    else:
        ok = tokens is None
        spec_syll = _expand(_positions(specific), VARIANT_LIMIT) if specific else ()
        full_syll = _expand(_positions(name), VARIANT_LIMIT)
    return _Info(
        name=name,
        specific=specific,
        spec_syll=spec_syll,
        spec=frozenset("".join(s) for s in spec_syll),
        full=frozenset("".join(s) for s in full_syll),
        reading_ok=ok,
    )


def _existing_info(e: ExistingName) -> _Info:
    name = e.name.strip()
    specific = e.specific.strip() if (e.specific or e.generic) else name
    return _info(name, specific, e.reading)


@lru_cache(maxsize=65536)
def _dialect_syllable(syl: str, key: tuple[tuple[tuple[str, str], ...], ...]) -> str:
    syllables, initials_, finals = (dict(k) for k in key)
    if syl in syllables:
        return syllables[syl]
    if syl[:2] in ("zh", "ch", "sh"):
        ini, fin = syl[:2], syl[2:]
    elif syl[:1] and syl[0] in "bpmfdtnlgkhjqxrzcsyw":
        ini, fin = syl[:1], syl[1:]
    else:
        ini, fin = "", syl
    return initials_.get(ini, ini) + finals.get(fin, fin)


def _dialect_variants(info: _Info, dialect: Dialect) -> frozenset[str]:
    key = dialect.key
    return frozenset("".join(_dialect_syllable(s, key) for s in syl) for syl in info.spec_syll)


def _deletions(s: str) -> set[str]:
    return {s[:i] + s[i + 1 :] for i in range(len(s))}


def _within_one(a: str, b: str) -> bool:
    """Levenshtein distance(a, b) <= 1."""
    la, lb = len(a), len(b)
    if la > lb:
        a, b, la, lb = b, a, lb, la
    if lb - la > 1:
        return False
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    if la == lb:
        return a[i + 1 :] == b[i + 1 :]
    return a[i:] == b[i + 1 :]


@lru_cache(maxsize=65536)
def _pinyin_keys(v: str) -> tuple[str, ...]:
    """``p:`` key and ``dp:`` deletion keys of one joined 专名 reading (shared by many names)."""
    return (f"p:{v}", *{f"dp:{v[:i]}{v[i + 1 :]}" for i in range(len(v))})


def _keys_of(info: _Info, dialect: Dialect | None = None) -> set[str]:
    """The index keys of one existing name (unordered)."""
    keys = {f"n:{info.name}"}
    if info.specific:
        keys.add(f"s:{info.specific}")
    name = info.name
    keys.update([f"dc:{name[:i]}{name[i + 1 :]}" for i in range(len(name))])
    for v in info.spec:
        keys.update(_pinyin_keys(v))
    keys.update([f"f:{v}" for v in info.full])
    if dialect is not None and info.specific:
        keys.update([f"q:{v}" for v in _dialect_variants(info, dialect)])
    return keys


_KEY_ORDER: Final[dict[str, int]] = {"n": 0, "s": 1, "p": 2, "f": 3, "dc": 4, "dp": 5, "q": 6}


def search_keys(
    name: str, specific: str, reading: str | None = None, *, dialect: Dialect | None = None
) -> list[str]:
    """Index keys of an existing name: ``n:`` name, ``s:`` 专名, ``p:``/``f:`` toneless pinyin of
    the 专名/whole name per heteronym variant, ``dc:`` name with one character deleted, ``dp:``
    专名 pinyin with one letter deleted, and ``q:`` dialect-merged 专名 pinyin when ``dialect`` is
    given (store those only if the pack enables a dialect table).  Deterministic order."""
    ensure_length(reading or "", MAX_READING_CHARS, "reading")
    name = ensure_length(name.strip(), MAX_NAME_CHARS, "name")
    keys = _keys_of(_info(name, specific.strip(), reading), dialect)
    return sorted(keys, key=lambda k: (_KEY_ORDER[k.split(":", 1)[0]], k))


# =========================================================================== proposal analysis


@dataclass(frozen=True, slots=True)
class _Analysed:
    name: str
    specific: str
    generic: str
    info: _Info
    split_mismatch: bool


def _analyse(proposal: Proposal, pack: RulePack) -> _Analysed:
    # Guard (issue 14): homophone keys grow with the square of the reading's length.
    name = ensure_length(proposal.name.strip(), MAX_NAME_CHARS, "name")
    ensure_length(proposal.reading or "", MAX_READING_CHARS, "reading")
    auto_s, auto_g = split_name(name, pack)
    specific, generic = auto_s, auto_g
    mismatch = False
    if proposal.specific is not None or proposal.generic is not None:
        s = (proposal.specific or "").strip()
        g = (proposal.generic or "").strip()
        if proposal.specific is None:
            s = name[: len(name) - len(g)] if g and name.endswith(g) else ""
        elif proposal.generic is None:
            g = name[len(s) :] if name.startswith(s) else ""
        if s + g == name:
            specific, generic = s, g
        else:
            mismatch = True
    return _Analysed(name, specific, generic, _info(name, specific, proposal.reading), mismatch)


def _query_keys(a: _Analysed, pack: RulePack) -> list[str]:
    info = a.info
    keys = [f"n:{info.name}"]
    if info.specific:
        keys.append(f"s:{info.specific}")
        keys += [f"p:{v}" for v in sorted(info.spec)]
        if pack.compare_full_name:
            keys += [f"f:{v}" for v in sorted(info.full)]
        if pack.dialect.enabled:
            keys += [f"q:{v}" for v in sorted(_dialect_variants(info, pack.dialect))]
        if len(info.name) >= pack.chars_min_length:
            dels = sorted(_deletions(info.name))
            keys += [f"n:{d}" for d in dels]
            keys.append(f"dc:{info.name}")
            keys += [f"dc:{d}" for d in dels]
        for v in sorted(info.spec):
            if len(v) >= pack.pinyin_min_length:
                dels = sorted(_deletions(v))
                keys += [f"p:{d}" for d in dels]
                keys.append(f"dp:{v}")
                keys += [f"dp:{d}" for d in dels]
    return list(dict.fromkeys(keys))


def candidate_keys(proposal: Proposal, pack: RulePack) -> list[str]:
    """Keys to look up for ``proposal``: every existing name that can yield a duplicate,
    homophone or near-duplicate finding has at least one of them among its :func:`search_keys`."""
    return _query_keys(_analyse(proposal, pack), pack)


# =========================================================================== index


class NameIndex:
    """In-memory index over many existing names: search key → positions (built once)."""

    __slots__ = ("_by_id", "_dialect_maps", "_infos", "_keys", "_names")

    def __init__(self, names: Iterable[ExistingName]) -> None:
        self._names: list[ExistingName] = list(names)
        self._keys: dict[str, int | list[int]] = {}  # one position stored as a bare int
        self._by_id: dict[str, list[int]] = {}
        self._dialect_maps: dict[object, dict[str, list[int]]] = {}
        # Millions of small objects and no reference cycles: the cyclic GC would only rescan them.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._infos: list[_Info] = [_existing_info(e) for e in self._names]
            keys = self._keys
            get = keys.get
            by_id = self._by_id
            for i, info in enumerate(self._infos):
                for k in _keys_of(info):
                    bucket = get(k)
                    if bucket is None:
                        keys[k] = i
                    elif type(bucket) is int:
                        keys[k] = [bucket, i]
                    else:
                        bucket.append(i)
                by_id.setdefault(str(self._names[i].id), []).append(i)
        finally:
            if gc_was_enabled:
                gc.enable()

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[ExistingName]:
        return iter(self._names)

    def _dialect_map(self, dialect: Dialect) -> dict[str, list[int]]:
        m = self._dialect_maps.get(dialect.key)
        if m is None:
            m = {}
            for i, info in enumerate(self._infos):
                if info.specific:
                    for v in _dialect_variants(info, dialect):
                        m.setdefault(f"q:{v}", []).append(i)
            self._dialect_maps[dialect.key] = m
        return m

    def _candidate_positions(self, a: _Analysed, pack: RulePack) -> list[int]:
        found: set[int] = set()
        keys = self._keys
        dmap = self._dialect_map(pack.dialect) if pack.dialect.enabled else None
        for k in _query_keys(a, pack):
            bucket = dmap.get(k) if (dmap is not None and k.startswith("q:")) else keys.get(k)
            if bucket is None:
                continue
            if type(bucket) is int:
                found.add(bucket)
            else:
                found.update(bucket)
        return sorted(found)

    def candidates(self, proposal: Proposal, pack: RulePack) -> list[ExistingName]:
        """Existing names sharing a key with ``proposal`` (a superset of its conflicts; no scope filter)."""
        return [self._names[i] for i in self._candidate_positions(_analyse(proposal, pack), pack)]

    def by_id(self, id_: int | str) -> list[ExistingName]:
        return [self._names[i] for i in self._by_id.get(str(id_), [])]


# =========================================================================== check


def clear_caches() -> None:
    """Drop the pinyin/analysis caches (memory in long-running processes; cold benchmarks)."""
    for fn in (_info, _positions, _char_readings, _toneless, _pinyin_keys, _dialect_syllable, _in_gb2312):
        fn.cache_clear()


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


def _fmt_distance(d: float) -> str:
    return f"{d:.0f} 米" if d < 1000 else f"{d / 1000:.1f} 公里"


def _fmt_m(v: float) -> str:
    return f"{v:g}"


def _division_label(code: str, division_names: Mapping[str, str] | None) -> str:
    if division_names:
        for c in (code, code[:9], code[:6], code[:4] + "00"):
            if c in division_names:
                return division_names[c]
    return code


class _Checker:
    """State of one check() call."""

    def __init__(self, proposal: Proposal, pack: RulePack, division_names: Mapping[str, str] | None) -> None:
        self.p = proposal
        self.pack = pack
        self.division_names = division_names
        self.findings: list[Finding] = []
        self.excluded = {str(i) for i in proposal.exclude_ids}
        if proposal.replaces is not None:
            self.excluded.add(str(proposal.replaces))

    def add(
        self, rule_id: str, message: str, conflicts: tuple[Conflict, ...] = (), severity: str | None = None
    ) -> None:
        configured = self.pack.severity(rule_id)
        if configured == "off":
            return
        self.findings.append(Finding(rule_id, severity or configured, message, conflicts))

    # ------------------------------------------------------------------ single-name rules

    def structure(self, a: _Analysed) -> None:
        pack = self.pack
        if a.split_mismatch:
            self.add(
                "structure.split_mismatch",
                f"给定的专名“{self.p.specific or ''}”与通名“{self.p.generic or ''}”拼起来不是“{a.name}”，已按通名表自动拆分",
            )
        if a.generic == "":
            sample = "、".join(sorted(pack.generics, key=lambda g: (len(g), g))[:12])
            self.add(
                "structure.unknown_generic",
                f"“{a.name}”不以规则包中的通名结尾（如 {sample} 等），无法识别通名",
            )
            return
        if a.specific == "":
            self.add("structure.bare_generic", f"“{a.name}”只有通名、没有专名，不能单独作为地名")
            return
        if a.name not in pack.stacked_allow:
            for g in pack.stacking_generics:
                if a.specific.endswith(g):
                    self.add(
                        "structure.stacked_generic",
                        f"“{a.name}”通名叠用：通名“{g}”后又接通名“{a.generic}”（如确属沿用的专名，可加入规则包 structure.stacked_allow）",
                    )
                    break
        core = a.specific[1:] if a.specific.startswith("第") and len(a.specific) > 1 else a.specific
        if all(ch in pack.ordinal_chars or ch in _DIGITS for ch in core):
            self.add(
                "structure.bare_ordinal",
                f"“{a.name}”的专名“{a.specific}”只有序数，缺少表示方位或特征的专名（如“东{a.specific}{a.generic}”“建设{a.specific}{a.generic}”）",
            )

    def script(self, raw: str) -> None:
        pack = self.pack
        latin: list[str] = []
        digits: list[str] = []
        punct: list[str] = []
        full: list[str] = []
        other: list[str] = []
        rare: list[str] = []
        trad: list[str] = []
        for ch in raw:
            cp = ord(ch)
            if 0xFF01 <= cp <= 0xFF5E:
                full.append(ch)
            if ch.isspace():
                punct.append("空格" if ch in " \u3000" else f"U+{cp:04X}")
                continue
            if ch == "〇" or _is_han(ch):
                if ch in pack.traditional:
                    trad.append(ch)
                elif ch not in pack.common_chars_extra and not _in_gb2312(ch):
                    rare.append(ch)
                continue
            norm = unicodedata.normalize("NFKC", ch)
            if any(c in "0123456789" for c in norm) or unicodedata.category(ch) == "Nd":
                digits.append(ch)
            elif any("a" <= c.lower() <= "z" for c in norm) or unicodedata.name(ch, "").startswith("LATIN"):
                latin.append(ch)
            elif unicodedata.category(ch)[0] in "PSZC" or unicodedata.category(norm[:1] or ch)[0] in "PSZC":
                punct.append(ch)
            else:
                other.append(ch)

        def chars(items: list[str]) -> str:
            return "、".join(f"“{c}”" for c in dict.fromkeys(items))

        if latin:
            self.add("script.latin", f"名称含拉丁字母 {chars(latin)}：地名应使用规范汉字，不得夹用外文字母")
        if digits:
            self.add(
                "script.digit", f"名称含阿拉伯数字 {chars(digits)}：地名中的数字应使用汉字书写（如“一”“二”）"
            )
        if punct:
            self.add("script.punctuation", f"名称含标点、符号或空白 {chars(punct)}：地名中不得使用")
        if full:
            codes = "、".join(f"“{c}”(U+{ord(c):04X})" for c in dict.fromkeys(full))
            self.add("script.fullwidth", f"名称含全角字符 {codes}：地名中不得使用全角字母、数字或符号")
        if other:
            self.add(
                "script.other",
                f"名称含非汉字文字 {chars(other)}（如假名、希腊或西里尔字母）：地名应使用规范汉字",
            )
        if trad:
            fix = "、".join(f"“{c}”→“{pack.traditional[c]}”" for c in dict.fromkeys(trad))
            self.add("script.traditional", f"名称含繁体字（{fix}）：地名应使用规范汉字")
        if rare:
            self.add(
                "script.rare",
                f"名称含生僻字 {chars(rare)}（不在 GB 2312 字符集内，暂以此代替《通用规范汉字表》核对），请确认用字规范且可正常录入、显示",
            )

    def length(self, a: _Analysed) -> None:
        pack = self.pack
        if len(a.specific) > pack.max_specific_length:
            self.add(
                "length.specific",
                f"专名“{a.specific}”共 {len(a.specific)} 个字，超过规则包上限 {pack.max_specific_length} 个字，宜简短易记",
            )
        n = len(a.name)
        if n > pack.max_total_length:
            self.add(
                "length.total", f"名称“{a.name}”共 {n} 个字，超过规则包上限 {pack.max_total_length} 个字"
            )
        elif n < pack.min_total_length:
            self.add(
                "length.total", f"名称“{a.name}”只有 {n} 个字，少于规则包下限 {pack.min_total_length} 个字"
            )

    def words(self, a: _Analysed) -> None:
        pack = self.pack
        if not pack._words:
            return
        texts = [a.name]
        simplified = "".join(pack.traditional.get(c, c) for c in a.name)
        if simplified != a.name:
            texts.append(simplified)
        hits: dict[int, list[str]] = {}
        max_len = pack._max_word_len
        for text in texts:
            n = len(text)
            for i in range(n):
                for j in range(i + 1, min(n, i + max_len) + 1):
                    dict_ids = pack._words.get(text[i:j])
                    if dict_ids:
                        for di in dict_ids:
                            lst = hits.setdefault(di, [])
                            if text[i:j] not in lst:
                                lst.append(text[i:j])
        for di in sorted(hits):
            d = pack.dictionaries[di]
            if d.severity == "off":
                continue
            joined = "、".join(hits[di])
            self.findings.append(
                Finding(d.rule_id, d.severity, f"【{d.label}】" + d.message.format(words=joined))
            )

    def road_class(self, a: _Analysed) -> None:
        rule = self.pack.road_generics.get(a.generic)
        if rule is None or self.pack.severity("generic.road_class") == "off":
            return
        p = self.p
        g = a.generic
        width, length = p.width_m, p.length_m
        have = []
        have.append(f"宽 {_fmt_m(width)} 米" if width is not None else "宽度未提供")
        have.append(f"长 {_fmt_m(length)} 米" if length is not None else "长度未提供")
        facts = "，".join(have)
        if rule.min_width_m is not None:
            ok_w = width is not None and width >= rule.min_width_m
            ok_l = rule.or_min_length_m is not None and length is not None and length >= rule.or_min_length_m
            need = f"道路宽度不小于 {_fmt_m(rule.min_width_m)} 米"
            if rule.or_min_length_m is not None:
                need += f"或长度不小于 {_fmt_m(rule.or_min_length_m)} 米"
            if not (ok_w or ok_l):
                if width is None:
                    self.add("generic.road_class", f"通名“{g}”要求{need}；{facts}，无法核对", severity="info")
                else:
                    self.add("generic.road_class", f"通名“{g}”要求{need}，本道路{facts}，不符合")
        if rule.max_width_m is not None:
            if width is None:
                self.add(
                    "generic.road_class",
                    f"通名“{g}”适用于宽度不大于 {_fmt_m(rule.max_width_m)} 米的道路；宽度未提供，无法核对",
                    severity="info",
                )
            elif width > rule.max_width_m:
                self.add(
                    "generic.road_class",
                    f"通名“{g}”适用于宽度不大于 {_fmt_m(rule.max_width_m)} 米的道路，本道路宽 {_fmt_m(width)} 米，不符合",
                )
        if rule.min_length_m is not None:
            if length is None:
                self.add(
                    "generic.road_class",
                    f"通名“{g}”要求长度不小于 {_fmt_m(rule.min_length_m)} 米；长度未提供，无法核对",
                    severity="info",
                )
            elif length < rule.min_length_m:
                self.add(
                    "generic.road_class",
                    f"通名“{g}”要求长度不小于 {_fmt_m(rule.min_length_m)} 米，本道路长 {_fmt_m(length)} 米，不符合",
                )
        if (
            rule.road_classes is not None
            and p.road_class is not None
            and p.road_class not in rule.road_classes
        ):
            self.add(
                "generic.road_class",
                f"通名“{g}”适用于{'、'.join(rule.road_classes)}，本道路等级为“{p.road_class}”，不符合",
            )

    def reading(self, a: _Analysed) -> None:
        if not a.info.reading_ok:
            self.add(
                "reading.mismatch",
                f"给定读音“{self.p.reading}”的音节数与名称“{a.name}”（{len(a.name)} 字）或专名（{len(a.specific)} 字）不符，已改用词典读音",
            )

    # ------------------------------------------------------------------ comparisons

    def _in_scope(self, e: ExistingName) -> tuple[bool, float | None]:
        p = self.p
        dist = None
        if p.x is not None and p.y is not None and e.x is not None and e.y is not None:
            dist = math.hypot(p.x - e.x, p.y - e.y)
        scope = self.pack.scope
        if scope.kind == "radius" and dist is not None:
            return dist <= scope.radius_m, dist
        n = 4 if scope.kind == "city" else 6
        return p.division_code[:n] == e.division_code[:n], dist

    def _where(self, e: ExistingName, dist: float | None) -> str:
        label = _division_label(e.division_code, self.division_names)
        return f"{label}，距离 {_fmt_distance(dist)}" if dist is not None else label

    def _scope_zh(self) -> str:
        s = self.pack.scope
        if s.kind == "radius":
            return f"{_fmt_m(s.radius_m / 1000)} 公里范围内"
        return "同一设区的市内" if s.kind == "city" else "同一县级行政区域内"

    def compare(self, a: _Analysed, existing: Iterable[tuple[ExistingName, _Info]]) -> None:
        pack = self.pack
        info = a.info
        has_spec = bool(a.specific)
        dialect = pack.dialect if pack.dialect.enabled else None
        my_dialect = _dialect_variants(info, dialect) if (dialect is not None and has_spec) else frozenset()
        chars_on = len(a.name) >= pack.chars_min_length
        spec_long = [v for v in sorted(info.spec) if len(v) >= pack.pinyin_min_length]
        kind_any = pack.compare_across_kinds
        for e, ei in existing:
            if str(e.id) in self.excluded or (not kind_any and e.kind != self.p.kind):
                continue
            in_scope, dist = self._in_scope(e)
            if not in_scope:
                continue
            rule = None
            detail = ""
            if ei.name == a.name:
                rule = "duplicate.exact"
            elif has_spec and ei.specific == a.specific:
                rule = "duplicate.specific"
            if e.status == "retired":
                if rule is not None:
                    self._emit("duplicate.retired", e, dist, a, "")
                continue
            if rule is None and has_spec and ei.specific:
                common = info.spec & ei.spec
                if common:
                    rule, detail = "homophone", min(common)
                elif pack.compare_full_name and (common := info.full & ei.full):
                    rule, detail = "homophone", "全称 " + min(common)
                elif dialect is not None and (common := my_dialect & _dialect_variants(ei, dialect)):
                    rule, detail = "homophone.dialect", min(common)
                elif chars_on and _within_one(a.name, ei.name):
                    rule = "near_duplicate.chars"
                else:
                    pairs = sorted((v, w) for v in spec_long for w in ei.spec if _within_one(v, w))
                    if pairs:
                        rule, detail = "near_duplicate.pinyin", f"{pairs[0][0]} / {pairs[0][1]}"
            if rule is not None:
                self._emit(rule, e, dist, a, detail)

    def _emit(self, rule: str, e: ExistingName, dist: float | None, a: _Analysed, detail: str) -> None:
        if self.pack.severity(rule) == "off":
            return
        status = e.status if e.status in _STATUS_ZH else "active"
        who = f"{_STATUS_ZH[status]}{self.pack.kind_label(e.kind)}“{e.name}”（{self._where(e, dist)}）"
        if rule == "duplicate.exact":
            msg = f"与{who}重名：{self._scope_zh()}不得重名"
        elif rule == "duplicate.specific":
            msg = f"专名“{a.specific}”与{who}相同（通名不同），{self._scope_zh()}易混淆"
        elif rule == "duplicate.retired":
            msg = (
                f"与曾用名“{e.name}”（{self._where(e, dist)}，已注销）相同：不构成重名，请注意与历史地名区分"
            )
        elif rule == "homophone":
            msg = f"与{who}同音（{detail}）"
        elif rule == "homophone.dialect":
            msg = f"与{who}按本地方言合并规则同音（{detail}）"
        elif rule == "near_duplicate.chars":
            msg = f"与{who}仅一字之差，易混淆"
        else:
            msg = f"专名拼音与{who}仅差一个字母（{detail}），易混淆"
        conflict = Conflict(e.id, e.name, e.division_code, e.status, e.lon, e.lat, dist, e.kind)
        self.add(rule, msg, (conflict,))

    def protection(self, replaced: list[ExistingName]) -> None:
        rid = self.p.replaces
        if rid is None:
            return
        if not replaced:
            self.add(
                "protection.unchecked",
                f"被更名地名（id={rid}）不在比对数据中，未能核对地名保护名录；请一并提供该地名",
            )
            return
        for e in replaced:
            if not e.protected:
                continue
            conflict = Conflict(e.id, e.name, e.division_code, e.status, e.lon, e.lat, None, e.kind)
            if e.protection_measures_on_file:
                self.add(
                    "protection.listed",
                    f"“{e.name}”列入地名保护名录；已备案保护措施，更名前请按措施办理",
                    (conflict,),
                    severity="info",
                )
            else:
                self.add(
                    "protection.listed",
                    f"“{e.name}”列入地名保护名录，原则上不得更名；确需更名须先制定并备案保护措施",
                    (conflict,),
                )

    def result(self) -> list[Finding]:
        def conflict_key(f: Finding) -> tuple[float, str, str]:
            if not f.conflicts:
                return (-1.0, "", "")
            c = f.conflicts[0]
            return (math.inf if c.distance_m is None else c.distance_m, c.name, str(c.id))

        ordered = sorted(
            self.findings, key=lambda f: (_SEVERITY_RANK[f.severity], f.rule_id, conflict_key(f), f.message)
        )
        cap = self.pack.max_conflicts_per_rule
        out: list[Finding] = []
        counts: dict[tuple[str, str], int] = {}
        dropped: dict[tuple[str, str], int] = {}
        for f in ordered:
            if f.conflicts and f.rule_id not in ("protection.listed",):
                k = (f.severity, f.rule_id)
                counts[k] = counts.get(k, 0) + 1
                if counts[k] > cap:
                    dropped[k] = dropped.get(k, 0) + 1
                    continue
            out.append(f)
        for (sev, rid), n in dropped.items():
            # insert the summary right after the last kept finding of that rule
            idx = max(i for i, f in enumerate(out) if f.rule_id == rid and f.severity == sev) + 1
            out.insert(idx, Finding(rid, sev, f"另有 {n} 处同类冲突未逐一列出（每条规则最多列出 {cap} 处）"))
        return out


@lru_cache(maxsize=32768)
def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _is_han(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0xF900 <= cp <= 0xFAFF
        or 0x20000 <= cp <= 0x3134F
        or 0x31350 <= cp <= 0x323AF
    )


def check(
    proposal: Proposal,
    existing: NameIndex | Iterable[ExistingName],
    pack: RulePack,
    *,
    division_names: Mapping[str, str] | None = None,
) -> list[Finding]:
    """All findings for ``proposal``: errors first, then warnings, then info; by rule id within.

    ``existing``: a :class:`NameIndex` (fast) or any iterable of names compared one by one (e.g.
    candidates prefiltered by a database with :func:`candidate_keys`; include the renamed name).
    ``division_names``: optional code → name map for messages (full code, 9-, 6-digit prefixes).
    Deterministic; the index and the plain iterable give identical results. A name longer than
    ``MAX_NAME_CHARS`` (or a reading longer than ``MAX_READING_CHARS``) raises
    :class:`~geo_mz.core.limits.InputTooLong` before any pinyin work.
    """
    c = _Checker(proposal, pack, division_names)
    if not proposal.name.strip():
        c.add("structure.empty", "名称为空或只含空白字符")
        return c.result()
    a = _analyse(proposal, pack)
    c.structure(a)
    c.script(proposal.name)
    c.length(a)
    c.words(a)
    c.road_class(a)
    c.reading(a)
    if isinstance(existing, NameIndex):
        positions = existing._candidate_positions(a, pack)
        pairs: Iterable[tuple[ExistingName, _Info]] = (
            (existing._names[i], existing._infos[i]) for i in positions
        )
        replaced = existing.by_id(proposal.replaces) if proposal.replaces is not None else []
    else:
        names = list(existing)
        pairs = ((e, _existing_info(e)) for e in names)
        rid = None if proposal.replaces is None else str(proposal.replaces)
        replaced = [e for e in names if str(e.id) == rid] if rid is not None else []
    c.compare(a, pairs)
    c.protection(replaced)
    return c.result()
