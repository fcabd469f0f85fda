"""Chinese place-name romanisation (汉语拼音地名拼写), pure Python: no Django.

Implements the 1984 《中国地名汉语拼音字母拼写规则（汉语地名部分）》 together with
GB/T 16159 (汉语拼音正词法基本规则) as they apply to signs: pinyin only, never English,
no tone marks.

Rules
-----
1. 专名 (specific) and 通名 (generic) are written separately, each capitalised:
   南京路 Nanjing Lu, 长安街 Chang'an Jie, 门框胡同 Menkuang Hutong.
2. A one-syllable modifier joins the part it modifies: 景山后街 Jingshan Houjie,
   朝阳门内南小街 Chaoyangmennei Nanxiaojie; a multi-syllable modifier stays separate
   (东北 in 解放东北街 → Jiefang Dongbei Jie; explicit words, see ``specific`` below).
3. Natural villages and towns are one word: 王村 Wangcun, 周口店 Zhoukoudian.
4. A generic that became part of the specific is specific: 解放路南小街 Jiefanglu Nanxiaojie.
5. A person's name inside a place name is joined: 张之洞路 Zhangzhidong Lu
   (follows from "the specific is one word").
6. Numerals are spelled out: 五一广场 Wuyi Guangchang, 三八路 Sanba Lu.
7. Ordinals/codes in street names are Arabic digits: 经五路 Jing 5 Lu,
   东四十二条 Dongsi 12 Tiao, 大川淀一巷 Dachuandian 1 Xiang, 第九弄 Di-9 Long.
8. Apostrophe before a non-initial syllable of a word starting with a, o or e:
   西安 Xi'an, 天安门 Tian'anmen.
9. Tones omitted; standard Mandarin readings (pypinyin + its phrase dictionary), corrected by
   a small place-name table (:data:`PLACE_READINGS`, e.g. 六安 Lu'an, 朝阳 Chaoyang,
   洪洞 Hongtong) and per-character place-name defaults (:data:`CHAR_READINGS`: 都 du,
   弄 long, 曾 zeng; 长 at the start of a name reads chang). Local readings that are not
   standard dictionary knowledge (十里堡 Shilipu) come from an officer's ``override``.
   ü is written u after j/q/x/y (居 ju) and ü after n/l (绿 lü, 女 nü); ``ascii_u=True``
   writes lv/nv for ASCII-only outputs.

Heuristics (documented because the standard gives examples, not an algorithm)
----------------------------------------------------------------------------
* Splitting: :func:`split_name` takes the *longest* generic from the list that is a suffix
  of the name (大街 before 街, 小街 before 街).
* Modifier peeling (rule 2), only when the split was automatic: the run of one-syllable
  modifiers (:data:`MODIFIER_CHARS`: 东西南北中前后左右上下大小新老正横直斜) directly before
  the generic is moved into the generic word (南小街 → Nanxiaojie, 后街 → Houjie), but a
  character is peeled only if **at least two characters of the specific remain**. So
  中山东路 → Zhongshan Donglu and 南横东街 → Nanheng Dongjie, while 河北大道 → Hebei Dadao,
  山东北路 → Shandong Beilu and 府右街 → Fuyou Jie keep their two-character place word intact.
  内/外 are never peeled: they attach to the preceding place word (朝阳门内 Chaoyangmennei).
  If the peeled run starts with a two-syllable compound direction (东南/东北/西南/西北) that
  part is a multi-syllable modifier and becomes its own word.
* Generics inside the specific (rule 4): the whole specific is one word (解放路 Jiefanglu,
  陆水湖 Lushuihu). Consequently 解放路南小街 is handled by the splitter alone:
  解放路南 + 小街 → peel 南 → Jiefanglu Nanxiaojie.
* Ordinals (rule 7) apply only when nothing was peeled and the generic ends in one of
  条巷路街弄 (:data:`ORDINAL_GENERIC_CHARS`). The ordinal is the longest *canonical* Chinese
  numeral (一..九千九百九十九: 十二, 二十, 一百零五; not 三八) at the end of the specific
  that leaves a non-empty prefix and does not cut through a known place word ending in a
  numeral character (:data:`NUMERAL_PLACE_WORDS`: 东四, 西四, ...). Hence 东四十二条 →
  东四 + 十二 → Dongsi 12 Tiao, while 纬十二路 → Wei 12 Lu. A specific that is *entirely*
  numeral is an ordinal only if it is a canonical numeral (二 → 2, 十二 → 12); digit-by-digit
  commemorative names (三八, 五一, 八一, 一二九) are spelled out. 第 directly before the
  ordinal gives ``Di-9``. A prefix before the ordinal that itself ends in
  modifier + generic is split once more (天宁寺西里一巷 → Tianningsi Xili 1 Xiang).
* Explicit split: passing ``specific``/``generic`` to :func:`romanize` switches modifier
  peeling off (the officer decided); the generic is one word, each whitespace-separated part
  of ``specific`` is one word (``specific="广安门 北滨河"`` → Guang'anmen Beibinhe Lu,
  ``specific="第二 松花"`` → Di'er Songhua Jiang), and ordinals still apply to the last part
  (``specific="二", generic="马路"`` → 2 Malu).
* Kinds: :data:`ONE_WORD_KINDS` (village, town, natural_village) are written as one word
  including the generic (官塘驿镇 Guantangyizhen). For an administrative 建制镇/行政村 written
  as specific + generic use ``kind="township"`` / ``"administrative_village"``
  (Guantangyi Zhen).
* Not supported automatically: 儿化 (pass ``r`` for 儿 in ``override``: 盆儿胡同
  ``"pen r hu tong"`` → Penr Hutong), digit-string codes (1203高地), multi-syllable
  modifiers other than compound directions (use explicit ``specific`` words).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Final

from pypinyin import Style, lazy_pinyin

from geo_mz.core.limits import MAX_NAME_CHARS, MAX_READING_CHARS, ensure_length

__all__ = [
    "CHAR_READINGS",
    "DEFAULT_GENERICS",
    "KINDS",
    "MODIFIER_CHARS",
    "NUMERAL_PLACE_WORDS",
    "ONE_WORD_KINDS",
    "ORDINAL_GENERIC_CHARS",
    "PLACE_READINGS",
    "chinese_numeral_value",
    "readings",
    "romanize",
    "split_name",
]

# --------------------------------------------------------------------------- tables

_RAW_GENERICS: Final[tuple[str, ...]] = (
    # three characters and more
    "立交桥", "自治区", "自治州", "自治县", "开发区", "风景区", "工业园", "火车站",
    # two characters
    "大道", "大街", "小街", "大巷", "小巷", "胡同", "广场", "公园", "小区", "花园", "社区",
    "新村", "公路", "高速", "大桥", "码头", "机场", "车站", "水库", "运河", "群岛", "海峡",
    "高原", "湿地", "街道", "园区", "家园",
    # one character
    "路", "街", "巷", "里", "弄", "坊", "条", "道", "桥", "村", "镇", "乡", "屯", "庄", "寨",
    "湾", "港", "湖", "河", "江", "溪", "渠", "塘", "潭", "坝", "山", "岭", "峰", "岛", "洲",
    "峡", "沟", "苑", "园", "区", "县", "市", "省", "旗", "盟",
)  # fmt: skip

#: Default generics (通名), longest first so that 大街 wins over 街.
DEFAULT_GENERICS: Final[tuple[str, ...]] = tuple(sorted(_RAW_GENERICS, key=len, reverse=True))

#: One-syllable modifiers that join the generic they precede (rule 2). 内/外 deliberately absent.
MODIFIER_CHARS: Final[frozenset[str]] = frozenset("东西南北中前后左右上下大小新老正横直斜")

#: Two-syllable direction words: a multi-syllable modifier, written as its own word.
_COMPOUND_DIRECTIONS: Final[frozenset[str]] = frozenset({"东南", "东北", "西南", "西北"})

#: A numeral run directly before a generic ending in one of these is an ordinal (rule 7).
ORDINAL_GENERIC_CHARS: Final[frozenset[str]] = frozenset("条巷路街弄")

#: Place words ending in a numeral character that the ordinal split must not cut through.
NUMERAL_PLACE_WORDS: Final[frozenset[str]] = frozenset(
    {"东四", "西四", "三八", "五一", "五四", "八一", "二七", "一二九"}
)

#: Standard readings of place names that pypinyin's general dictionary gets wrong (or that
#: must stay stable). Officer-only local readings (十里堡 Shilipu) belong in ``override``.
PLACE_READINGS: Final[dict[str, str]] = {
    "长安": "chang an", "长子": "zhang zi", "长治": "chang zhi", "长宁": "chang ning",
    "长阳": "chang yang", "长葛": "chang ge", "长岛": "chang dao", "长泰": "chang tai",
    "长垣": "chang yuan", "长白": "chang bai", "长丰": "chang feng", "长清": "chang qing",
    "长岭": "chang ling", "长海": "chang hai", "长武": "chang wu", "长顺": "chang shun",
    "重庆": "chong qing", "六安": "lu an", "六合": "lu he", "朝阳": "chao yang",
    "洪洞": "hong tong", "单县": "shan xian", "浚县": "xun xian", "繁峙": "fan shi",
    "会稽": "kuai ji", "涡阳": "guo yang", "筠连": "jun lian", "漯河": "luo he",
    "荥经": "ying jing", "闵行": "min hang", "蚌埠": "beng bu", "蚌山": "beng shan",
    "什邡": "shi fang", "解州": "xie zhou", "沌口": "zhuan kou", "番禺": "pan yu",
    "丽水": "li shui", "台州": "tai zhou", "天台": "tian tai", "铅山": "yan shan",
    "乐亭": "lao ting", "乐清": "yue qing", "蔚县": "yu xian", "东阿": "dong e",
    "莘县": "shen xian", "歙县": "she xian", "枞阳": "zong yang", "犍为": "qian wei",
    "尉犁": "yu li", "尉氏": "wei shi", "厦门": "xia men", "大厦": "da sha",
}  # fmt: skip

#: Per-character place-name readings (used unless a PLACE_READINGS phrase covers the character).
CHAR_READINGS: Final[dict[str, str]] = {"都": "du", "弄": "long", "曾": "zeng"}

ONE_WORD_KINDS: Final[frozenset[str]] = frozenset({"village", "town", "natural_village"})
KINDS: Final[frozenset[str]] = ONE_WORD_KINDS | frozenset(
    {
        "road", "street", "alley", "lane", "hutong", "bridge", "square", "park", "compound",
        "community", "building", "station", "water", "mountain", "island", "township",
        "administrative_village", "county", "district", "city", "province", "area", "other",
    }
)  # fmt: skip

# All toneless Mandarin syllables (from pypinyin's character dictionary), for override checks.
_SYLLABLE_TEXT = """a ai an ang ao ba bai ban bang bao bei ben beng bi bian biang biao bie bin bing bo bong
    bu ca cai can cang cao ce cei cen ceng cha chai chan chang chao che chen cheng chi chong
    chou chu chua chuai chuan chuang chui chun chuo ci cong cou cu cuan cui cun cuo da dai dan
    dang dao de dei den deng di dia dian diao die din ding diu dong dou du duan dui dun duo e
    ei en eng er fa fan fang fei fen feng fiao fo fou fu ga gai gan gang gao ge gei gen geng
    gong gou gu gua guai guan guang gui gun guo ha hai han hang hao he hei hen heng hm hng
    hong hou hu hua huai huan huang hui hun huo ji jia jian jiang jiao jie jin jing jiong jiu
    ju juan jue jun ka kai kan kang kao ke kei ken keng kong kou ku kua kuai kuan kuang kui
    kun kuo la lai lan lang lao le lei len leng li lia lian liang liao lie lin ling liu lo
    long lou lu luan lun luo lü lüe m ma mai man mang mao me mei men meng mi mian miao mie min
    ming miu mo mou mu n na nai nan nang nao ne nei nen neng ng ni nia nian niang niao nie nin
    ning niu nong nou nu nuan nun nuo nü nüe o ou pa pai pan pang pao pei pen peng pi pian
    piao pie pin ping po pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu quan que qun
    ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo sa sai san sang sao se sen
    seng sha shai shan shang shao she shei shen sheng shi shou shu shua shuai shuan shuang
    shui shun shuo si song sou su suan sui sun suo ta tai tan tang tao te tei teng ti tian
    tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen weng wo wong wu xi xia
    xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye yi yin ying yo
    yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang zhao zhe
    zhei zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu
    zuan zui zun zuo ê"""
_SYLLABLES: Final[frozenset[str]] = frozenset(_SYLLABLE_TEXT.split())

_ERHUA: Final[str] = "r"
_KEEP_STANDARD: Final[str] = "*"
_NUMERAL_CHARS: Final[frozenset[str]] = frozenset("〇零一二三四五六七八九十百千")
_DIGITS: Final[str] = "零一二三四五六七八九"

# --------------------------------------------------------------------------- validation


def _is_han(ch: str) -> bool:
    if ch == "〇":
        return True
    return unicodedata.name(ch, "").startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH"))


def _check_han(text: str, what_zh: str, what_en: str) -> None:
    for i, ch in enumerate(text):
        if not _is_han(ch):
            raise ValueError(
                f"{what_zh}“{text}”第 {i + 1} 个字符 {ch!r} (U+{ord(ch):04X}) 不是汉字，只能使用汉字"
                f"（数字请写作一、二、三）/ {what_en} {text!r} contains a non-Chinese character "
                f"{ch!r} (U+{ord(ch):04X}) at position {i + 1}; only Chinese characters are allowed "
                f"(write numerals as 一二三, not digits)"
            )


def _clean(name: str, what_zh: str = "地名", what_en: str = "place name") -> str:
    """Strip outer whitespace; reject non-strings, empty names and non-Chinese characters."""
    if not isinstance(name, str):
        raise TypeError(f"{what_en} must be a str, not {type(name).__name__}")
    text = ensure_length(name.strip(), MAX_NAME_CHARS, "name")  # guard before any per-character work
    if not text:
        raise ValueError(f"{what_zh}为空 / {what_en} is empty")
    _check_han(text, what_zh, what_en)
    return text


# --------------------------------------------------------------------------- numerals


def _to_chinese(n: int) -> str:
    """Canonical Chinese numeral for 1 <= n <= 9999 (十二, 一百零五, 一千零一十)."""
    out: list[str] = []
    started = pending_zero = False
    for digit, unit in zip((n // 1000, n // 100 % 10, n // 10 % 10, n % 10), "千百十 ", strict=True):
        if digit == 0:
            pending_zero = pending_zero or started
            continue
        if pending_zero:
            out.append("零")
            pending_zero = False
        out.append(_DIGITS[digit] + unit.strip())
        started = True
    text = "".join(out)
    return text[1:] if 10 <= n <= 19 else text


@lru_cache(maxsize=1)
def _numeral_table() -> dict[str, int]:
    return {_to_chinese(n): n for n in range(1, 10000)}


def chinese_numeral_value(text: str) -> int | None:
    """Value of a canonical Chinese numeral (十二 → 12, 二十 → 20, 一百零五 → 105), else None.

    Digit-by-digit sequences (三八, 五一) are not numerals in this sense and return None.
    """
    return _numeral_table().get(text)


def _split_ordinal(spec: str) -> tuple[str, int] | None:
    """(prefix, value) if ``spec`` ends in an ordinal (see module docstring), else None."""
    run = 0
    while run < len(spec) and spec[len(spec) - 1 - run] in _NUMERAL_CHARS:
        run += 1
    if run == 0:
        return None
    if run == len(spec):
        value = chinese_numeral_value(spec)
        return ("", value) if value is not None else None
    for k in range(run, 0, -1):
        cut = len(spec) - k
        value = chinese_numeral_value(spec[cut:])
        if value is None:
            continue
        if any(_word_spans(spec, word, cut) for word in NUMERAL_PLACE_WORDS):
            continue
        return spec[:cut], value
    return None


def _word_spans(text: str, word: str, cut: int) -> bool:
    """True if an occurrence of ``word`` in ``text`` straddles index ``cut``."""
    start = text.find(word)
    while start != -1:
        if start < cut < start + len(word):
            return True
        start = text.find(word, start + 1)
    return False


# --------------------------------------------------------------------------- splitting


def _generic_tuple(generics: Iterable[str] | None) -> tuple[str, ...]:
    if generics is None:
        return DEFAULT_GENERICS
    if isinstance(generics, str):
        raise TypeError("generics must be an iterable of strings, not a single str")
    items = tuple(generics)
    for g in items:
        if not isinstance(g, str) or not g:
            raise ValueError(f"通名列表含空项或非字符串 / generics contains an empty or non-str item: {g!r}")
    return tuple(sorted(items, key=len, reverse=True))


def _split(text: str, gens: tuple[str, ...]) -> tuple[str, str]:
    for g in gens:
        if text.endswith(g):
            return text[: len(text) - len(g)], g
    return text, ""


def split_name(name: str, generics: Iterable[str] | None = None) -> tuple[str, str]:
    """(specific, generic): the longest generic suffix from the list; ('', name) if the name IS a
    bare generic; (name, '') if no generic matches."""
    return _split(_clean(name), _generic_tuple(generics))


def _peel(spec: str) -> tuple[int, int]:
    """Modifier peeling (rule 2) on an automatically split specific.

    Returns ``(rest_end, joined_start)``: ``spec[:rest_end]`` stays the specific,
    ``spec[rest_end:joined_start]`` is a separate two-syllable direction word (or empty) and
    ``spec[joined_start:]`` joins the generic. ``(len, len)`` means nothing was peeled.
    """
    i = len(spec)
    while i >= 3 and spec[i - 1] in MODIFIER_CHARS:
        i -= 1
    if spec[i : i + 2] in _COMPOUND_DIRECTIONS:
        return i, i + 2
    return i, i


# --------------------------------------------------------------------------- readings


def _normalise_syllable(token: str) -> str:
    decomposed = unicodedata.normalize("NFD", token.strip().lower())
    # drop tone marks but keep the diaeresis of ü and the circumflex of ê
    kept = "".join(c for c in decomposed if not unicodedata.combining(c) or c in "\u0308\u0302")
    syl = unicodedata.normalize("NFC", kept).rstrip("012345")
    syl = syl.replace("u:", "ü").replace("v", "ü")
    if syl[:1] in ("j", "q", "x", "y"):
        syl = syl.replace("ü", "u")
    return syl


@lru_cache(maxsize=4096)
def _standard_readings(text: str) -> tuple[str, ...]:
    raw = lazy_pinyin(text, style=Style.NORMAL, v_to_u=True, errors=lambda s: ["?"] * len(s))
    if len(raw) != len(text):  # defensive: never observed for all-Han input
        raw = [lazy_pinyin(ch, style=Style.NORMAL, v_to_u=True, errors=lambda s: ["?"])[0] for ch in text]
    result = [s.lower() for s in raw]
    for i, ch in enumerate(text):
        if ch in CHAR_READINGS:
            result[i] = CHAR_READINGS[ch]
    if text.startswith("长"):
        result[0] = "chang"
    i = 0
    while i < len(text):
        for size in range(min(len(text) - i, 4), 1, -1):
            phrase = PLACE_READINGS.get(text[i : i + size])
            if phrase is not None:
                result[i : i + size] = phrase.split()
                i += size
                break
        else:
            i += 1
    for ch, syl in zip(text, result, strict=True):
        if not re.fullmatch(r"[a-zü]+|ê", syl):
            raise ValueError(
                f"汉字“{ch}”没有已知的标准读音，请用 override 指定 / no standard reading is known for "
                f"{ch!r}; pass it with override="
            )
    return tuple(result)


def _parse_override(override: str, text: str) -> list[str]:
    if not isinstance(override, str):
        raise TypeError(f"override must be a str, not {type(override).__name__}")
    tokens = override.split()
    if len(tokens) != len(text):
        raise ValueError(
            f"读音覆盖“{override}”有 {len(tokens)} 个音节，但“{text}”有 {len(text)} 个汉字；"
            f"须每个汉字一个音节，用空格分隔（“*”表示采用标准读音）/ override {override!r} has "
            f"{len(tokens)} syllable(s) but {text!r} has {len(text)} Chinese character(s); give "
            f"exactly one space-separated syllable per character ('*' keeps the standard reading)"
        )
    standard: tuple[str, ...] | None = None
    result: list[str] = []
    for i, (ch, token) in enumerate(zip(text, tokens, strict=True)):
        if token == _KEEP_STANDARD:
            standard = standard if standard is not None else _standard_readings(text)
            result.append(standard[i])
            continue
        syl = _normalise_syllable(token)
        if syl == _ERHUA:
            if ch != "儿" or i == 0:
                raise ValueError(
                    f"儿化“r”只能用于非首字的“儿” / the erhua syllable 'r' is only allowed for a "
                    f"non-initial 儿, not for {ch!r} at position {i + 1}"
                )
        elif syl not in _SYLLABLES:
            raise ValueError(
                f"读音覆盖中的“{token}”（对应“{ch}”）不是有效的汉语拼音音节 / override syllable "
                f"{token!r} for {ch!r} at position {i + 1} is not a valid pinyin syllable"
            )
        result.append(syl)
    return result


def readings(text: str, override: str | None = None) -> list[str]:
    """Toneless pinyin, one syllable per character, lower case; override = space-separated toneless
    syllables, one per Chinese character (e.g. "shi li pu"), validated: wrong count -> ValueError
    with a clear Chinese+English message.

    ü stays ``ü`` after n/l (绿 → ``lü``) and is ``u`` after j/q/x/y. Override syllables may carry
    tone marks or tone digits (stripped), may use ``v``/``u:`` for ü, ``*`` keeps the standard
    reading of that character and ``r`` marks 儿化 on a 儿.
    """
    clean = _clean(text, "文本", "text")
    if override is not None:
        ensure_length(override, MAX_READING_CHARS, "reading")
    if override is None:
        return list(_standard_readings(clean))
    return _parse_override(override, clean)


# --------------------------------------------------------------------------- romanisation

# A written word: a (start, end) span of characters or a literal such as "12" / "Di-9".
_Word = tuple[int, int] | str


def _render(syllables: list[str], ascii_u: bool) -> str:
    parts: list[str] = []
    for i, syl in enumerate(syllables):
        if i > 0 and syl != _ERHUA and syl[0] in "aoeê":
            parts.append("'")
        parts.append(syl)
    word = "".join(parts)
    if ascii_u:
        word = word.replace("ü", "v").replace("ê", "e")
    return word[:1].upper() + word[1:]


def _resolve_split(
    text: str, specific: str | None, generic: str | None, gens: tuple[str, ...]
) -> tuple[list[str], str, bool]:
    """(specific words, generic, explicit?)."""
    if specific is None and generic is None:
        spec, gen = _split(text, gens)
        return ([spec] if spec else []), gen, False
    if generic is not None:
        if not isinstance(generic, str):
            raise TypeError(f"generic must be a str, not {type(generic).__name__}")
        gen = generic.strip()
        _check_han(gen, "通名", "generic")
    if specific is not None:
        if not isinstance(specific, str):
            raise TypeError(f"specific must be a str, not {type(specific).__name__}")
        parts = specific.split()
        for part in parts:
            _check_han(part, "专名", "specific")
        joined = "".join(parts)
        if generic is None:
            if not text.startswith(joined):
                raise ValueError(
                    f"专名“{joined}”不是地名“{text}”的开头 / specific {joined!r} is not the start of {text!r}"
                )
            gen = text[len(joined) :]
    else:
        if not text.endswith(gen):
            raise ValueError(
                f"通名“{gen}”不是地名“{text}”的结尾 / generic {gen!r} is not the end of {text!r}"
            )
        joined = text[: len(text) - len(gen)]
        parts = [joined] if joined else []
    if joined + gen != text:
        raise ValueError(
            f"专名“{joined}”加通名“{gen}”与地名“{text}”不一致 / specific {joined!r} + generic "
            f"{gen!r} does not spell the name {text!r}"
        )
    return parts, gen, True


def _ordinal_words(spec: str) -> tuple[int, str] | None:
    """(length of the prefix kept as words, ordinal literal such as "12" or "Di-9") or None."""
    found = _split_ordinal(spec)
    if found is None:
        return None
    prefix, value = found
    if prefix.endswith("第"):
        return len(prefix) - 1, f"Di-{value}"
    return len(prefix), str(value)


def _auto_words(text: str, spec: str, gen: str, gens: tuple[str, ...]) -> list[_Word]:
    n, g0 = len(text), len(spec)
    if not spec or not gen:
        return [(0, n)]
    rest_end, joined_start = _peel(spec)
    if rest_end < len(spec):
        words: list[_Word] = [(0, rest_end)]
        if joined_start > rest_end:
            words.append((rest_end, joined_start))
        words.append((joined_start, n))
        return words
    if gen[-1] in ORDINAL_GENERIC_CHARS:
        found = _ordinal_words(spec)
        if found is not None:
            prefix_len, literal = found
            prefix_words = _prefix_words(spec[:prefix_len], gens) if prefix_len else []
            return [*prefix_words, literal, (g0, n)]
    return [(0, g0), (g0, n)]


def _prefix_words(prefix: str, gens: tuple[str, ...]) -> list[_Word]:
    """A prefix before an ordinal that ends in modifier + generic is split once more."""
    p_spec, p_gen = _split(prefix, gens)
    if p_spec and p_gen:
        rest_end, joined_start = _peel(p_spec)
        if rest_end < len(p_spec):
            words: list[_Word] = [(0, rest_end)]
            if joined_start > rest_end:
                words.append((rest_end, joined_start))
            words.append((joined_start, len(prefix)))
            return words
    return [(0, len(prefix))]


def _explicit_words(text: str, parts: list[str], gen: str) -> list[_Word]:
    words: list[_Word] = []
    pos = 0
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        found = _ordinal_words(part) if last and gen and gen[-1] in ORDINAL_GENERIC_CHARS else None
        if found is not None:
            prefix_len, literal = found
            if prefix_len:
                words.append((pos, pos + prefix_len))
            words.append(literal)
        else:
            words.append((pos, pos + len(part)))
        pos += len(part)
    if gen:
        words.append((pos, len(text)))
    return words


def romanize(
    name: str,
    *,
    specific: str | None = None,
    generic: str | None = None,
    kind: str = "road",
    override: str | None = None,
    generics: Iterable[str] | None = None,
    ascii_u: bool = False,
) -> str:
    """Standard romanisation. kind in {"road", "street", "alley", "bridge", "square", "compound", "village",
    "town", "natural_village", ...};
    kind "village"/"town"/"natural_village" => one word (王村 Wangcun). If specific/generic are not given,
    split_name is used.

    See the module docstring for the rules and heuristics; :data:`KINDS` lists accepted kinds.
    Raises ``ValueError`` for empty names, non-Chinese characters, unknown kinds, a
    specific/generic that does not spell ``name`` and invalid overrides.
    """
    text = _clean(name)
    if kind not in KINDS:
        raise ValueError(f"未知的地名类别 {kind!r} / unknown kind {kind!r}; expected one of {sorted(KINDS)}")
    syllables = readings(text, override)
    gens = _generic_tuple(generics)
    parts, gen, explicit = _resolve_split(text, specific, generic, gens)
    if kind in ONE_WORD_KINDS:
        return _render(syllables, ascii_u)
    if explicit:
        words = _explicit_words(text, parts, gen)
    else:
        words = _auto_words(text, parts[0] if parts else "", gen, gens)
    rendered = [w if isinstance(w, str) else _render(syllables[w[0] : w[1]], ascii_u) for w in words]
    return " ".join(w for w in rendered if w)
