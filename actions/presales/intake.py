"""The presales intake (pure): a buyer's message read into a :class:`Need`, and merged into what the intake holds.

A buyer writes "我们公司要采购200个保温杯，印logo，月底前送到上海和苏州" (or the same in Traditional Chinese or English,
in one message or over several). :func:`parse_need` finds what the message says about the lead's fields; the intake
form asks only for what is still missing, and :func:`merge` folds each message into the values collected so far.

How a message is read:

1. ``kernel.language.normalise`` (full-width to half-width, Traditional to Simplified, lower case). It keeps the
   length, so every span found on the normalised text is sliced from the original where the customer's own words
   are kept (customisation, company, contact name, product words).
2. The spans that are certainly something else are taken first, so that no later reader sees their digits: e-mail,
   WeChat ID (only when introduced), phone numbers, SKU codes, corrections, dates, company, contact name, cities,
   then money, capacities and order numbers (never quantities), and only then the quantity.
3. What is left names the product, resolved against the catalogue with ``actions.stock.matching.resolve_product``
   (an unambiguous match only).

Nothing here does I/O except reading ``cities.yml`` (the city vocabulary) once.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

import yaml

from actions.stock.matching import COLOR_WORDS, extract_variant_hints, filter_skus, product_skus, resolve_product
from actions.store.types import Catalogue, Product, Sku
from kernel.language import ENGLISH, detect, normalise
from kernel.leads import MAX_QUANTITY

#: Only the start of a longer message is read (a pasted document is not an intake answer).
MAX_INPUT = 2000
CITIES_PATH = Path(__file__).resolve().parent / "cities.yml"
REGIONS = ("华东", "华北", "华中", "华南", "西南", "西北", "东北", "港澳台")
LEAD_SAMPLE = "sample"
#: At most this many "不是 X" / "改成 Y" phrases are read in one message.
MAX_CORRECTIONS = 8
#: The fields a message can correct explicitly.
CORRECTABLE = ("product", "quantity", "cities", "needed_by")


# ---------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Need:
    """What one message says about the lead. Every field is optional; ``fields()`` gives the ones present."""

    product_query: Optional[str] = None  # the customer's product words, quantities removed
    product_id: Optional[str] = None
    sku: Optional[str] = None
    product_name: Optional[str] = None  # the catalogue's name in the message's language family (zh / en)
    product_line: Optional[str] = None  # the catalogue category
    unit_price_cents: Optional[int] = None  # the SKU's list price, or the lowest of the product's matching SKUs
    quantity: Optional[int] = None
    customisation: Optional[str] = None  # the customer's own words: "印公司logo，蓝色，礼盒包装"
    cities: Tuple[str, ...] = ()  # stored names, Simplified Chinese ("上海"), whatever the message's language
    needed_by: Optional[date] = None
    company: Optional[str] = None
    contact_name: Optional[str] = None
    phone: Optional[str] = None  # mobile as 11 digits, or a landline "021-12345678"
    email: Optional[str] = None
    wechat: Optional[str] = None
    lead_type: Optional[str] = None  # "sample" or None
    correction: FrozenSet[str] = frozenset()  # fields this message explicitly corrects (CORRECTABLE)
    retracted_cities: Tuple[str, ...] = ()  # cities the message takes back: "不是上海，是杭州" -> ("上海",)

    def fields(self) -> Dict[str, Any]:
        """The fields with a value (no None, no empty tuple or set)."""
        out: Dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value is None or (isinstance(value, (tuple, frozenset, str)) and not value):
                continue
            out[name] = value
        return out


# ---------------------------------------------------------------------------
# Cities
# ---------------------------------------------------------------------------
class CityTableError(ValueError):
    """cities.yml is missing, not YAML, or holds an entry that does not fit."""


@dataclass(frozen=True)
class City:
    name: str  # Simplified Chinese, the stored form
    en: Tuple[str, ...]  # lower-case English names
    region: str


@dataclass(frozen=True)
class CityTable:
    cities: Tuple[City, ...]

    def get(self, name: str) -> Optional[City]:
        return next((c for c in self.cities if c.name == name), None)


def parse_cities(raw: Any, where: str = "cities") -> CityTable:
    if not isinstance(raw, dict) or not isinstance(raw.get("cities"), list):
        raise CityTableError(f"{where}: expected a mapping with a list under 'cities'")
    out: List[City] = []
    seen: Dict[str, str] = {}
    for i, entry in enumerate(raw["cities"]):
        label = f"{where}: cities[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"zh", "en", "region"}:
            raise CityTableError(f"{label} must have exactly the keys zh, en, region")
        name, en, region = entry["zh"], entry["en"], entry["region"]
        if not isinstance(name, str) or not re.fullmatch(r"[\u4e00-\u9fff]{2,6}", name):
            raise CityTableError(f"{label}: zh must be a Chinese name of 2 to 6 characters, not {name!r}")
        if not isinstance(en, list) or not en or not all(isinstance(e, str) and e.strip() for e in en):
            raise CityTableError(f"{label} ({name}): en must be a non-empty list of names")
        if region not in REGIONS:
            raise CityTableError(f"{label} ({name}): region must be one of {', '.join(REGIONS)}, not {region!r}")
        for word in (name, *(e.strip().lower() for e in en)):
            if word in seen:
                raise CityTableError(f"{label}: {word!r} is already used by {seen[word]}")
            seen[word] = name
        out.append(City(name, tuple(e.strip().lower() for e in en), region))
    return CityTable(tuple(out))


def load_cities(path: Path = CITIES_PATH) -> CityTable:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CityTableError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise CityTableError(f"{path}: not valid YAML ({exc})") from None
    return parse_cities(raw, str(path))


@lru_cache(maxsize=1)
def default_cities() -> CityTable:
    return load_cities(CITIES_PATH)


def region_of(cities: Sequence[str], table: Optional[CityTable] = None) -> Optional[str]:
    """The region of the first known city (a lead routed to several regions goes by the first one named)."""
    table = table or default_cities()
    for name in cities:
        city = table.get(name)
        if city:
            return city.region
    return None


@lru_cache(maxsize=8)
def _city_patterns(table: CityTable) -> Tuple[re.Pattern, Dict[str, str]]:
    lookup: Dict[str, str] = {}
    zh, en = [], []
    for city in table.cities:
        lookup[city.name] = city.name
        zh.append(re.escape(city.name))
        for name in city.en:
            lookup[name] = city.name
            en.append(re.escape(name).replace(r"\ ", r"\s*"))
    zh.sort(key=len, reverse=True)
    en.sort(key=len, reverse=True)
    # a street named after a city ("南京西路", "北京路") is not the city
    pattern = re.compile(
        rf"(?:{'|'.join(zh)})(?!(?:[东西南北中]?路|大道|大街|街|大学))|(?<![a-z])(?:{'|'.join(en)})(?![a-z])"
    )
    return pattern, lookup


def _find_cities(s: str, table: CityTable) -> List[Tuple[int, int, str]]:
    pattern, lookup = _city_patterns(table)
    out = []
    for m in pattern.finditer(s):
        key = re.sub(r"\s+", " ", m.group(0))
        name = lookup.get(key) or lookup.get(key.replace(" ", ""))
        if name:
            out.append((m.start(), m.end(), name))
    return out


# ---------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "k": 1000, "万": 10000, "w": 10000}
_EN_SMALL = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}
_EN_WORD = "|".join(sorted(_EN_SMALL, key=len, reverse=True))

#: A number as customers write it: 200, 1,000, 1.5万, 2k, 1w, 两百五十, 一万二, 三千五, 1万2.
NUM = (
    r"(?<![\d.,a-z_/-])(?:\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s*(?:万|千|百|(?:k|w)(?![a-z]))\s*\d?(?!\d))?"
    r"|[零〇一二两三四五六七八九十百千万]{1,8}"
)
#: An English number in words: "two hundred", "a thousand", "fifteen hundred", "a dozen", "fifty".
EN_NUM = (
    rf"\b(?:(?:a|{_EN_WORD})(?:[\s-]+(?:and[\s-]+)?(?:hundred|thousand|dozen|{_EN_WORD}))*)\b"
)


def cn_number(raw: str) -> Optional[float]:
    """The value of a number written with Arabic digits, Chinese numerals or both ("1.5万", "两百五", "一万二")."""
    s = raw.replace(",", "").replace(" ", "").lower()
    if not s or len(s) > 16:
        return None
    total = 0.0
    section = 0.0
    number: Optional[float] = None
    last_unit = 0
    zero = False
    i = 0
    while i < len(s):
        c = s[i]
        m = re.match(r"\d+(?:\.\d+)?", s[i:])
        if m:
            if number is not None:
                return None
            number = float(m.group(0))
            single = len(m.group(0)) == 1
            i += len(m.group(0))
            continue
        if c in _CN_DIGITS:
            if c in "零〇":
                zero = True
            elif number is not None:
                return None
            else:
                number = float(_CN_DIGITS[c])
                single = True
        elif c in _CN_UNITS:
            unit = _CN_UNITS[c]
            if unit == 10000:
                section += number or 0.0
                if section == 0:
                    section = 1.0
                total += section * 10000
                section = 0.0
            else:
                if number is None and unit != 10 and section == 0 and total == 0:
                    number = 1.0  # "百来个", "千把个"
                section += (number if number is not None else 1.0) * unit
            number = None
            zero = False
            last_unit = unit
        else:
            return None
        i += 1
    if number is not None:
        if last_unit >= 10 and single and not zero and number < 10:
            section += number * last_unit / 10  # "两百五" = 250, "一万二" = 12000, "三千五" = 3500
        else:
            section += number
    return total + section


def en_number(raw: str) -> Optional[int]:
    """The value of an English number in words ("two hundred", "a thousand", "fifteen hundred", "a dozen")."""
    total, current = 0, 0
    seen = False
    for word in re.split(r"[\s-]+", raw.lower().strip()):
        if word in ("and", ""):
            continue
        if word == "a":
            current = current or 1
            continue
        if word in _EN_SMALL:
            current += _EN_SMALL[word]
            seen = True
        elif word == "dozen":
            current = (current or 1) * 12
            seen = True
        elif word == "hundred":
            current = (current or 1) * 100
            seen = True
        elif word == "thousand":
            total += (current or 1) * 1000
            current = 0
            seen = True
        else:
            return None
    return total + current if seen else None


def _whole_quantity(value: Optional[float]) -> Optional[int]:
    if value is None or not 1 <= value <= MAX_QUANTITY or value != int(value):
        return None
    n = int(value)
    return n if 1 <= n <= MAX_QUANTITY else None


# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------
_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4, "may": 5,
    "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9,
    "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WEEKDAYS_EN = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
_WEEKDAYS_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5,
                "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
_SMALL_ZH = r"(?:\d{1,2}|[一二两三四五六七八九十]{1,3})"
_COUNT_EN = rf"(?:\d{{1,3}}|a|an|one|a couple of|couple of|a few|{_EN_WORD})"


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _next_month(today: date) -> Tuple[int, int]:
    return (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)


def _month_day(today: date, month: int, day: int, year: Optional[int] = None) -> Optional[date]:
    """A month and day; without a year, the next one on or after today (a date past this year means next year)."""
    try:
        if year is not None:
            return date(year, month, day)
        candidate = date(today.year, month, day)
        return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


def _day_only(today: date, day: int) -> Optional[date]:
    """"20号": this month's 20th, or next month's when it is past."""
    try:
        candidate = date(today.year, today.month, day)
    except ValueError:
        candidate = None
    if candidate is not None and candidate >= today:
        return candidate
    year, month = _next_month(today)
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _weekday(today: date, weekday: int, weeks_ahead: int) -> date:
    """``weeks_ahead`` 0: the coming one (today counts); 1: the one in next calendar week; 2: the week after."""
    monday = today - timedelta(days=today.weekday())
    if weeks_ahead == 0:
        candidate = monday + timedelta(days=weekday)
        return candidate if candidate >= today else candidate + timedelta(days=7)
    return monday + timedelta(days=7 * weeks_ahead + weekday)


def _working_days(today: date, n: int) -> date:
    day = today
    while n > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def _span(today: date, n: int, unit: str) -> Optional[date]:
    if n < 0 or n > 3650:
        return None
    if unit in ("工作日", "business day", "working day"):
        return _working_days(today, n)
    if unit in ("天", "日", "day"):
        return today + timedelta(days=n)
    if unit in ("周", "星期", "礼拜", "week"):
        return today + timedelta(days=7 * n)
    if unit in ("月", "month"):
        return _add_months(today, n)
    return None


def _count(raw: str) -> Optional[int]:
    raw = raw.strip()
    if raw in ("a", "an", "one"):
        return 1
    if raw in ("a couple of", "couple of"):
        return 2
    if raw == "a few":
        return 3
    if raw == "半":
        return None
    value = cn_number(raw) if re.search(r"[\d零一二两三四五六七八九十百]", raw) else en_number(raw)
    return int(value) if value is not None and value == int(value) else None


def _d_iso(m: re.Match, today: date) -> Optional[date]:
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _d_zh_month_day(m: re.Match, today: date) -> Optional[date]:
    month, day = _count(m.group(1)), _count(m.group(2))
    return _month_day(today, month, day) if month and day else None


def _d_next_month_day(m: re.Match, today: date) -> Optional[date]:
    day = _count(m.group(1))
    year, month = _next_month(today)
    try:
        return date(year, month, day) if day else None
    except ValueError:
        return None


def _d_slash(m: re.Match, today: date) -> Optional[date]:
    a, b = int(m.group(1)), int(m.group(2))
    month, day = (b, a) if a > 12 >= b else (a, b)
    year = m.group(3)
    if year:
        y = int(year)
        return _month_day(today, month, day, y + 2000 if y < 100 else y)
    return _month_day(today, month, day)


def _d_day(m: re.Match, today: date) -> Optional[date]:
    day = _count(m.group(1))
    return _day_only(today, day) if day and day <= 31 else None


def _d_week_zh(m: re.Match, today: date) -> Optional[date]:
    prefix = m.group(1) or ""
    weeks = 2 if prefix.startswith("下下") else 1 if prefix.startswith("下") else 0
    return _weekday(today, _WEEKDAYS_ZH[m.group(2)], weeks)


def _d_month_end_zh(m: re.Match, today: date) -> Optional[date]:
    prefix, part = m.group(1) or "", m.group(2)
    year, month = _next_month(today) if prefix.startswith("下") else (today.year, today.month)
    if part in ("底", "末"):
        return _month_end(year, month)
    if part == "中":
        candidate = date(year, month, 15)
        return candidate if candidate >= today else date(*_next_month(today), 15)
    return date(year, month, 1) if prefix.startswith("下") else None  # 月初: only "下个月初" is clear


def _d_year_end(m: re.Match, today: date) -> Optional[date]:
    return date(today.year + (1 if m.group(1) == "明年" else 0), 12, 31)


def _d_relative_day(m: re.Match, today: date) -> Optional[date]:
    offsets = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3, "today": 0, "tomorrow": 1}
    word = m.group(0)
    if word.startswith("the day after"):
        return today + timedelta(days=2)
    return today + timedelta(days=offsets[word])


def _d_within_zh(m: re.Match, today: date) -> Optional[date]:
    raw, unit = m.group(1), m.group(2)
    unit = unit.replace("个", "")
    if raw == "半":  # "半个月内": half a month; "半周" is rare, "半天" is not a deadline
        days = {"月": 15, "周": 3, "星期": 3, "礼拜": 3}.get(unit)
        return today + timedelta(days=days) if days else None
    n = _count(raw)
    return _span(today, n, unit) if n is not None else None


def _d_holiday(m: re.Match, today: date) -> Optional[date]:
    month, day = {"国庆": (10, 1), "元旦": (1, 1), "双十一": (11, 11), "双11": (11, 11), "双十二": (12, 12),
                  "双12": (12, 12), "圣诞": (12, 25), "christmas": (12, 25), "new year": (1, 1)}[m.group(1)]
    return _month_day(today, month, day)


def _d_ambiguous(m: re.Match, today: date) -> Optional[date]:
    return None  # read (so its digits are not a quantity) but not a date we can name: 年前, 春节前, next week


def _d_en_month_day(m: re.Match, today: date) -> Optional[date]:
    month, day, year = _MONTHS[m.group("mon")], int(m.group("day")), m.group("year")
    return _month_day(today, month, day, int(year) if year else None)


def _d_en_the_nth(m: re.Match, today: date) -> Optional[date]:
    return _day_only(today, int(m.group(1)))


def _d_en_within(m: re.Match, today: date) -> Optional[date]:
    n = _count(m.group(1))
    unit = re.sub(r"s$", "", m.group(2))
    return _span(today, n, unit) if n is not None else None


def _d_en_weekday(m: re.Match, today: date) -> Optional[date]:
    prefix = (m.group(1) or "").strip()
    return _weekday(today, _WEEKDAYS_EN[m.group(2)], 1 if prefix == "next" else 0)


def _d_en_month_end(m: re.Match, today: date) -> Optional[date]:
    nxt = (m.group(1) or "").strip() == "next"
    year, month = _next_month(today) if nxt else (today.year, today.month)
    return _month_end(year, month)


def _d_en_year_end(m: re.Match, today: date) -> Optional[date]:
    return date(today.year + (1 if (m.group(1) or "").strip() == "next" else 0), 12, 31)


_DATE_RULES: Tuple[Tuple[re.Pattern, Callable[[re.Match, date], Optional[date]]], ...] = tuple(
    (re.compile(p), f)
    for p, f in (
        (r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?(?!\d)", _d_iso),
        (rf"(?<![\d个])({_SMALL_ZH})\s*月\s*({_SMALL_ZH})\s*[日号]?", _d_zh_month_day),
        (rf"下个?月\s*({_SMALL_ZH})\s*[日号]", _d_next_month_day),
        (r"(?<![\d/.:])(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?(?![\d/])", _d_slash),
        (r"(?<![\d.])(\d{1,2})\.(\d{1,2})(?![\d.])(?=\s*(?:号|日|前|之前|以前|到|送|交|发|截止))()", _d_slash),
        (rf"(?<![\d月/.\-号])({_SMALL_ZH})\s*[日号](?![楼线店仓门馆院厅码位室床])", _d_day),
        (r"(下下|下|这|本)?个?\s*(?:周|星期|礼拜)\s*([一二三四五六日天末1-7])", _d_week_zh),
        (r"(下个?|这个?|本)?月\s*(底|末|中|初)", _d_month_end_zh),
        (r"(今年|明年)?(?:年底|年末|年终)", _d_year_end),
        (r"大后天|后天|明天|明日|今天|今日|tomorrow|today|the day after tomorrow", _d_relative_day),
        (rf"(?<![\d.])({_SMALL_ZH}|半|\d+)\s*个?\s*(工作日|天|日|周|星期|礼拜|个?月)\s*(?:之内|以内|内|之后|以后|后)", _d_within_zh),
        (r"(国庆|元旦|双十一|双11|双十二|双12|圣诞|christmas|new year)(?:节|'s)?", _d_holiday),
        (r"年前|春节|过年|next week|this week|asap|as soon as possible|尽快|越快越好", _d_ambiguous),
        (rf"\b(?P<mon>{_MONTH})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s*(?P<year>\d{{4}}))?", _d_en_month_day),
        (rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MONTH})\b\.?(?:,?\s*(?P<year>\d{{4}}))?",
         _d_en_month_day),
        (r"\bthe\s+(\d{1,2})(?:st|nd|rd|th)\b", _d_en_the_nth),
        (rf"\b(?:within|in|inside)\s+(?:the\s+next\s+)?({_COUNT_EN})\s+(business days?|working days?|days?|weeks?|months?)\b",
         _d_en_within),
        (r"\b(next|this|coming|by|before|on|until|till)?\s*(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
         _d_en_weekday),
        (r"\b(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?(next\s+)?month\b|\bmonth[\s-]end\b|\beom\b", _d_en_month_end),
        (r"\b(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?(next\s+)?year\b|\byear[\s-]end\b", _d_en_year_end),
    )
)


def _find_dates(s: str, today: date) -> List[Tuple[int, int, Optional[date]]]:
    """Non-overlapping date expressions in ``s`` (longest first at each start), in order; value None when the words
    are a date we cannot name (年前)."""
    found: List[Tuple[int, int, Optional[date]]] = []
    for pattern, handler in _DATE_RULES:
        for m in pattern.finditer(s):
            if m.end() > m.start() and m.group(0).strip():
                start = m.start() + len(m.group(0)) - len(m.group(0).lstrip())
                found.append((start, m.end(), handler(m, today)))
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    out: List[Tuple[int, int, Optional[date]]] = []
    for item in found:
        if not out or item[0] >= out[-1][1]:
            out.append(item)
    return out


# ---------------------------------------------------------------------------
# The message, with the spans already read
# ---------------------------------------------------------------------------
class _Text:
    def __init__(self, original: str) -> None:
        self.original = original
        self.norm = normalise(original)
        self.labels: List[Optional[str]] = [None] * len(self.norm)

    def view(self, keep: Tuple[str, ...] = ()) -> str:
        """The normalised text with every span already taken blanked (offsets unchanged), except spans labelled
        with one of ``keep``."""
        return "".join(" " if self.labels[i] and self.labels[i] not in keep else c for i, c in enumerate(self.norm))

    def free(self, start: int, end: int) -> bool:
        return all(label is None for label in self.labels[start:end])

    def take(self, start: int, end: int, label: str) -> None:
        for i in range(start, end):
            if self.labels[i] is None:
                self.labels[i] = label

    def words(self, start: int, end: int) -> str:
        """The customer's own words at a span, trimmed."""
        return self.original[start:end].strip(" \t\r\n,，.。;；:：、!！?？")


# ---------------------------------------------------------------------------
# Contacts
# ---------------------------------------------------------------------------
_EMAIL = re.compile(r"[a-z0-9][a-z0-9._%+\-]*@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}")
_WECHAT_CUE = r"(?:微信号?|威信|薇信|wechat(?:\s*id)?|weixin|vx|v信|wx|加\s*v|(?<![a-z0-9])v(?=\s*[:：]))"
_WECHAT = re.compile(rf"(?:加\s*)?{_WECHAT_CUE}\s*(?:号)?\s*(?:是|为|:|：|-)?\s*([a-z][a-z0-9_\-]{{5,19}})(?![a-z0-9_\-])")
_WECHAT_PHONE = re.compile(rf"{_WECHAT_CUE}\s*(?:号)?\s*(?:是|为|:|：)?\s*(?:同手机号?|同电话|同号|就是手机号?|=手机)")
_MOBILE = re.compile(r"(?<![\d])(?:\+?\s*86[\s\-]?)?(1[3-9]\d(?:[\s\-]?\d){8})(?!\d)")
_LANDLINE = re.compile(r"(?<![\d])(0\d{2,3})[\s\-](\d{7,8})(?!\d)")
#: Any other number the customer introduces as a phone ("电话0912345678", "phone: +1 415 555 0100"): kept as written.
_OTHER_PHONE = re.compile(
    r"(?:电话|座机|手机|联系电话|tel|phone|mobile|cell)\s*(?:号码?|number)?\s*(?:是|为|:|：)?\s*(\+?\d[\d\s\-]{5,18}\d)(?!\d)"
)


def _contacts(t: _Text) -> Dict[str, str]:
    out: Dict[str, str] = {}
    s = t.view()
    for m in _EMAIL.finditer(s):
        out.setdefault("email", m.group(0))
        t.take(m.start(), m.end(), "email")
    s = t.view()
    for m in _WECHAT.finditer(s):
        ident = t.original[m.start(1) : m.end(1)]
        if not re.fullmatch(r"1[3-9]\d{9}", ident):
            out.setdefault("wechat", ident)
            t.take(m.start(), m.end(), "wechat")
    s = t.view()
    for m in _MOBILE.finditer(s):
        digits = re.sub(r"\D", "", m.group(1))
        out.setdefault("phone", digits)
        before = s[max(0, m.start() - 8) : m.start()]
        if re.search(rf"{_WECHAT_CUE}\s*(?:号)?\s*(?:是|为|:|：)?\s*$", before):
            out.setdefault("wechat", digits)
        t.take(m.start(), m.end(), "phone")
    s = t.view()
    for m in _LANDLINE.finditer(s):
        out.setdefault("phone", f"{m.group(1)}-{m.group(2)}")
        t.take(m.start(), m.end(), "phone")
    s = t.view()
    for m in _OTHER_PHONE.finditer(s):
        out.setdefault("phone", re.sub(r"[\s\-]", "", m.group(1)))
        t.take(m.start(1), m.end(1), "phone")
    s = t.view()
    m = _WECHAT_PHONE.search(s)
    if m:
        if "phone" in out and re.fullmatch(r"1\d{10}", out["phone"]):
            out.setdefault("wechat", out["phone"])
        t.take(m.start(), m.end(), "wechat")
    return out


# ---------------------------------------------------------------------------
# Company and contact name
# ---------------------------------------------------------------------------
_CO_SUFFIX_ZH = (
    r"(?:有限责任公司|股份有限公司|集团有限公司|有限公司|集团|公司|科技|实业|贸易|商贸|工作室|工厂|事务所|研究院|学校|学院|大学"
    r"|中学|小学|幼儿园|医院|银行|酒店|协会|商会|律所)"
)
_CO_ZH = re.compile(rf"([\u4e00-\u9fffa-z0-9()（）·&]{{1,30}})({_CO_SUFFIX_ZH}+)")
_CO_TRIM_ZH = re.compile(
    r"来自|我们是|我们|我司|咱们|这边|你们|贵司|都有|没有|[是叫的给帮跟向要想买订购印送发找请家个和与及在有:：]"
)
_CO_GENERIC = frozenset(
    "快递 物流 外贸 贸易 科技 网络 互联网 培训 装修 广告 建筑 设计 咨询 我们 你们 他们 自己 这家 那家 一家 贵 本 分 总 子 母 "
    "上市 国企 央企 外企 私企 大 小 新 老 公司 集团 学校 医院 银行 酒店 工厂".split()
)
_CO_WE_ARE_ZH = re.compile(r"(?:我们是|我们这边是|我司是|我们公司是|这边是)([\u4e00-\u9fffa-z0-9&·]{2,16}?)(?:的|[,，。;；!！?？\s]|$)")
_CO_NAMED_ZH = re.compile(r"(?:公司名称?|公司全称|单位名称?|公司叫|单位是|公司是)\s*(?:是|叫|为|:|：)?\s*([^\s,，。;；!！?？]{2,40})")
_CO_LEGAL_EN = (
    r"(?:co\.?,?\s*ltd\.?|company\s+limited|co\.?\s+limited|inc\.?|incorporated|llc|l\.l\.c\.|ltd\.?|limited|corp\.?"
    r"|corporation|gmbh|plc|pte\.?\s*ltd\.?|group|holdings)"
)
_CO_EN = re.compile(rf"((?:[a-z0-9&'\-]+\.?\s+){{1,6}}?){_CO_LEGAL_EN}(?![a-z])")
_CO_NAMED_EN = re.compile(r"\b(?:company|company name|organi[sz]ation|firm|employer)\s*(?:is|:|-)\s*([^,;!?\n]{2,60})")
_CO_FROM_EN = re.compile(r"\b(?:from|at|representing|work for|working for|on behalf of)\s+([a-z][a-z0-9&'\-]*(?:\s+[a-z][a-z0-9&'\-]*){0,3})")
_EN_CUT = re.compile(r"\b(?:we|i|and|to|for|would|need|want|are|is|looking|in|by|who|that|our|please|about|here|the)\b.*$")
_EN_LEAD = re.compile(r"^.*\b(?:from|at|with|representing|for|is|are|am|of|this|we|i|called|named)\s+")
_NOT_COMPANY_EN = frozenset(
    "a an the my our your their this that next last us you them it here there home office china work school "
    "stock store shop online christmas new chinese easter monday tuesday wednesday thursday friday saturday sunday "
    "youxuan".split()
)


def _company(t: _Text, table: CityTable) -> Optional[str]:
    s = t.view()
    m = _CO_NAMED_ZH.search(s) or _CO_NAMED_EN.search(s)
    if m:
        start, end = m.start(1), m.end(1)
        text = t.original[start:end]
        tail = re.match(r"\s*,?\s*(?:ltd\.?|inc\.?|limited)", s[end:])
        if tail:
            end += tail.end()
            text = t.original[start:end]
        text = re.split(r"\s+(?:and|we|i|to)\s+", text)[0].strip(" .")
        if text:
            t.take(start, end, "company")
            return text
    for m in _CO_ZH.finditer(s):
        stem_text = m.group(1)
        tail = re.search(r"(?:股份有限|集团有限|有限责任|有限)$", stem_text)
        stem_end = m.start(2) - (len(tail.group(0)) if tail else 0)
        stem_start = m.start(1)
        for cut in _CO_TRIM_ZH.finditer(s, m.start(1), stem_end):
            stem_start = m.start(1) + cut.end()
        stem = s[stem_start:stem_end]
        stem = re.sub(r"^[\d\s]+", "", stem)
        if (len(stem) < 2 or stem in _CO_GENERIC or re.fullmatch(r"[\d()（）·&]+", stem)
                or (m.group(2).startswith("公司") and stem[-1] in "分总子母")):
            continue
        stem_start = stem_end - len(stem)
        t.take(stem_start, m.end(), "company")
        return t.words(stem_start, m.end())
    for m in _CO_WE_ARE_ZH.finditer(s):
        name = m.group(1)
        if re.match(r"做|搞|开|卖|在|从事|一家|专门|负责|来|想|要|个|第|公司|企业|工厂|学校|采购|客户|老客户|新客户", name):
            continue
        if any(w in name for w in ("采购", "需要", "想要", "准备")):
            continue
        t.take(m.start(1), m.end(1), "company")
        return t.words(m.start(1), m.end(1))
    for m in _CO_EN.finditer(s):
        words_start = m.start(1)
        lead = _EN_LEAD.match(m.group(1))
        if lead:
            words_start += lead.end()
        # with capitals in the original, keep the capitalised words next to the suffix
        original_words = list(re.finditer(r"\S+", t.original[words_start : m.start(1) + len(m.group(1))]))
        caps = [w for w in original_words if w.group(0)[:1].isupper() or w.group(0)[:1].isdigit()]
        if caps and len(caps) < len(original_words):
            first = original_words[len(original_words) - 1]
            for w in reversed(original_words):
                if w.group(0)[:1].isupper() or w.group(0)[:1].isdigit() or w.group(0) == "&":
                    first = w
                else:
                    break
            words_start += first.start()
        name_norm = s[words_start : m.end()].strip()
        if not name_norm or name_norm.split()[0] in _NOT_COMPANY_EN or len(name_norm) < 4:
            continue
        t.take(words_start, m.end(), "company")
        return t.original[words_start : m.end()].strip(" ,，;；")
    for m in _CO_FROM_EN.finditer(s):
        start = m.start(1)
        words = list(re.finditer(r"\S+", t.original[start : m.end(1)]))
        kept = []
        for w in words:
            if w.group(0)[:1].isupper() or (kept and w.group(0) == "&"):
                kept.append(w)
            else:
                break
        if not kept:
            continue
        end = start + kept[-1].end()
        name = t.original[start:end].strip(" .")
        low = name.lower()
        if low in _NOT_COMPANY_EN or _find_cities(low, table) or low.split()[0] in _NOT_COMPANY_EN:
            continue
        if low in _WEEKDAYS_EN or low.split()[0] in _MONTHS or low.split()[0] in _NOT_COMPANY_EN:
            continue
        t.take(start, end, "company")
        return name
    return None


_TITLES = r"(?:经理|总监|主管|先生|女士|小姐|老师|助理|总)"
_NAME_STOP = r"(?=$|[\s,，。;；!！?？、(（]|电话|手机|微信|邮箱|座机|联系|负责|公司|[0-9+])"
_CONTACT_ZH = (
    re.compile(rf"(?:联系人|联络人|对接人|收货人|负责人)\s*(?:是|为|:|：)?\s*([\u4e00-\u9fff]{{2,4}}?){_NAME_STOP}"),
    re.compile(rf"(?:联系人|联络人|对接人|收货人|负责人)\s*(?:是|为|:|：)?\s*([a-z][a-z .'\-]{{1,30}}?){_NAME_STOP}"),
    re.compile(r"(?:我|免贵|本人)姓\s*([\u4e00-\u9fff])"),
    re.compile(rf"(?:我叫|我的名字是|我的名字叫|名字是)\s*([\u4e00-\u9fff]{{2,3}}?){_NAME_STOP}"),
    re.compile(rf"(?:我是|这边是|本人是|我是[^,，。;；]{{1,30}}?的)\s*([\u4e00-\u9fff]{{1,2}}?{_TITLES})"),
)
_NOT_NAME_ZH = re.compile(r"^(?:采购|销售|项目|部门|行政|人事|财务|产品|客户|市场|总|老|副|大|小|我|你|他|她)")
_CONTACT_EN = re.compile(
    r"\b(?P<cue>my name is|my name's|name\s*:|contact(?:\s+person)?\s*(?:is|:)|contact\s+name\s*(?:is|:)|"
    r"this is|i am|i'm|ask for|attn\.?:?|regards,?|thanks,?|best,?|cheers,?)\s+"
    r"(?P<n>[a-z][a-z'\-]+(?:\s+[a-z][a-z'\-]+){0,2})"
)
_NAME_WORD_STOP = frozenset(
    "from at and with of my our phone email e-mail wechat tel mobile i we the a an in on for to is am here "
    "looking interested writing calling buying purchasing procurement manager".split()
)


def _contact_name(t: _Text) -> Optional[str]:
    s = t.view()
    for pattern in _CONTACT_ZH:
        for m in pattern.finditer(s):
            name = m.group(1).strip()
            if _NOT_NAME_ZH.match(name) and not name.startswith("总"):
                continue
            if re.fullmatch(r"[\u4e00-\u9fff]+", name) and _NOT_NAME_ZH.match(name):
                continue
            t.take(m.start(1), m.end(1), "contact_name")
            return t.words(m.start(1), m.end(1))
    for m in _CONTACT_EN.finditer(s):
        cue = m.group("cue")
        explicit = cue.startswith(("my name", "name", "contact"))
        start = m.start("n")
        words = list(re.finditer(r"[^\s,.;!?]+", t.original[start : m.end("n")]))
        kept = []
        for w in words:
            word = w.group(0)
            if word.lower() in _NAME_WORD_STOP:
                break
            if not explicit and not word[:1].isupper():
                break
            kept.append(w)
        if not kept:
            continue
        end = start + kept[-1].end()
        t.take(start, end, "contact_name")
        return t.original[start:end]
    return None


# ---------------------------------------------------------------------------
# Quantity
# ---------------------------------------------------------------------------
_UNITS_ZH = r"(?:个|件|台|只|套|份|箱|杯|瓶|把|条|双|支|张|本|盒|包|顶|部|副|袋|卷|片|枚|罐|桶|组|块(?!钱))"
_UNITS_EN = r"(?:pcs|pc|pieces?|units?|sets?|boxes|box|cartons?|packs?|pairs?|items?|ea)(?![a-z])"
#: Words after a unit that make it a span of time, a place count or a pack size, never a quantity.
_AFTER_UNIT_NOT = r"(?!\s*(?:月|工作日|星期|礼拜|小时|钟|季度|城市|地址|地方|办公室|分公司|门店|仓库|套|装|问题|人都|方面))"
_APPROX = r"(?:来|多|余|左右|上下|出头)"
_NONQTY_AFTER = (
    r"(?:元|块|rmb|yuan|cny|usd|美元|刀|号|日|月|年|天|周|点|时|分钟|%|折|楼|层|米|ml|毫升|升|l(?![a-z])|mah|kg|公斤|斤|克|g(?![a-z])"
    r"|cm|mm|寸|w(?![a-z])|瓦|v(?![a-z])|岁|位数|星期|礼拜|小时|:|：|/|-|\.\d|\d)"
)
_MONEY = re.compile(
    rf"(?:¥|￥|\$|rmb|cny|usd)\s*(?:{NUM})"
    rf"|(?:{NUM})\s*(?:万元|千元|百元|元|块钱|块(?![\u4e00-\u9fff])|rmb|yuan|cny|usd|dollars?|bucks|刀|w元|k元)"
    rf"|(?:预算|单价|价格|价位|报价|总价|金额|总额|费用|budget|price|cost|costs|spend|under|below|less than|max)\s*"
    rf"(?:是|为|在|大概|大约|约|控制在|of|is|around|about|:|：)?\s*(?:{NUM})(?:\s*(?:以内|以下|左右|上下))?"
    rf"|(?:{NUM})\s*(?:的)?(?:预算|budget)"
)
_MEASURE = re.compile(
    r"(?<![\d.])\d+(?:\.\d+)?\s*(?:mah|毫安|ml|毫升|l|升|gb|tb|kg|公斤|斤|克|g|寸|英寸|inch|cm|mm|厘米|毫米|米|m|%|折|瓦|v|伏"
    r"|w(?!\s*(?:来|多|余)?\s*" + _UNITS_ZH + r"))(?![a-z])"
)
_CLOCK = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?!\d)|(?<!\d)\d{1,2}\s*(?:点|am|pm|a\.m\.|p\.m\.)(?![a-z])")
_ORDER_NO = re.compile(r"(?:订单号?|单号|运单号?|order\s*(?:no\.?|number|#|id)|#)\s*[:：]?\s*[a-z]*\d{3,}")
_QTY_UNIT = re.compile(rf"(?P<n>{NUM})\s*{_APPROX}?\s*(?P<u>{_UNITS_ZH}{_AFTER_UNIT_NOT}|{_UNITS_EN})")
#: A range with a unit ("200-300个", "200到300件", "200 to 300 units"): the lower bound, the words are in the notes.
_QTY_RANGE = re.compile(
    rf"(?P<a>(?<![\d.])\d+|[一二两三四五六七八九十百千万]+)\s*(?:-|~|～|到|至|to)\s*(?P<b>\d+|[一二两三四五六七八九十百千万]+)\s*"
    rf"(?:{_UNITS_ZH}{_AFTER_UNIT_NOT}|{_UNITS_EN}|左右)"
)
#: "两三百份", "三五千个": the lower of two neighbouring digits.
_QTY_ROUGH = re.compile(rf"([一二两三四五六七八九])([二三四五六七八九])([十百千万]+)\s*{_APPROX}?\s*(?:{_UNITS_ZH}|左右)")
_QTY_APPROX = re.compile(rf"(?P<n>{NUM})\s*(?:个|件)?\s*(?:左右|上下|来个|多个)(?!\s*{_NONQTY_AFTER})")
_QTY_CUE_ZH = re.compile(
    rf"(?:要|采购|订购|订|购买|买|需要|需|拿|定|数量|总共|一共|共|总量|批量|下单|先来|来)\s*(?:是|为|:|：)?\s*"
    rf"(?:大概|大约|约|差不多|至少|起码|最少)?\s*(?P<n>{NUM})(?!\s*{_NONQTY_AFTER})(?![\u4e00-\u9fff]*(?:元|块))"
)
_QTY_CUE_EN = re.compile(
    rf"\b(?:need|want|order|buy|purchase|get|quantity|qty|about|around|approximately|approx\.?|roughly|some|of|x)"
    rf"\s*(?:of\s+|:\s*|is\s+|=\s*)?(?:about\s+|around\s+|approximately\s+|roughly\s+)?"
    rf"(?P<n>(?<![\d.,])(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:k(?![a-z]))?|{EN_NUM})(?![\d.,]?\d)"
)
_QTY_NOUN_EN = re.compile(
    rf"(?P<n>(?<![\w.$¥/:-])(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:k(?![a-z]))?|{EN_NUM})\s+(?:x\s+)?(?P<w>[a-z][a-z'\-]*)"
)
_EN_NOT_NOUN = frozenset(
    "days day weeks week months month years year hours hour minutes minute working business yuan rmb cny usd dollars "
    "dollar bucks euros kuai ml l mah kg g km cm mm m gb th st nd rd am pm percent cities city offices office addresses "
    "address locations location stores store branches branch sites site times time or to and - by before until on in "
    "at is are was were floor floors people's hundred thousand dozen and".split()
) | frozenset(_EN_SMALL)


def _qty_value(raw: str) -> Optional[int]:
    raw = raw.strip()
    if re.search(r"[a-z]", raw) and not re.fullmatch(r"[\d,.]+\s*[kw]", raw):
        value = en_number(raw)
        return value if value is not None and 1 <= value <= MAX_QUANTITY else None
    return _whole_quantity(cn_number(raw))


def _is_article(raw: str) -> bool:
    """"一个" / "a" / "one" read as an article, not a quantity ("有一个问题", "a quote")."""
    return raw.strip() in ("一", "a", "one", "an")


def _mask_not_quantities(t: _Text) -> None:
    for pattern, label in ((_CLOCK, "not_quantity"), (_ORDER_NO, "not_quantity"), (_MONEY, "not_quantity"),
                           (_MEASURE, "measure")):
        s = t.view()
        for m in pattern.finditer(s):
            t.take(m.start(), m.end(), label)


def _find_quantities(s: str, relaxed: bool = False) -> List[Tuple[int, int, int]]:
    """(start, end, value) of every quantity in ``s``; ``relaxed`` (inside a correction) also takes a bare number."""
    found: List[Tuple[int, int, int]] = []

    def add(m: re.Match, whole: bool = True) -> None:
        raw = m.group("n")
        if _is_article(raw):
            return
        start = m.start("n")
        if start >= 1 and s[start - 1] == "第":
            return
        value = _qty_value(raw)
        if value is not None:
            found.append((start, m.end() if whole else m.end("n"), value))

    for m in _QTY_RANGE.finditer(s):
        low = _qty_value(m.group("a"))
        if low is not None and _qty_value(m.group("b")) is not None:
            found.append((m.start(), m.end(), low))
    for m in _QTY_ROUGH.finditer(s):
        value = _whole_quantity(cn_number(m.group(1) + m.group(3)))
        if value is not None:
            found.append((m.start(), m.end(), value))
    for m in _QTY_UNIT.finditer(s):
        add(m)
    for m in _QTY_APPROX.finditer(s):
        add(m)
    for m in _QTY_CUE_ZH.finditer(s):
        add(m, whole=False)
    for m in _QTY_CUE_EN.finditer(s):
        add(m, whole=False)
    for m in _QTY_NOUN_EN.finditer(s):
        word = m.group("w")
        if word in _EN_NOT_NOUN or word.startswith(("'", "-")):
            continue
        raw = m.group("n")
        if re.fullmatch(r"(19|20)\d\d", raw):
            continue
        add(m, whole=False)
    if relaxed:
        for m in re.finditer(rf"(?P<n>{NUM}|{EN_NUM})(?!\s*{_NONQTY_AFTER})", s):
            add(m, whole=False)
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    out: List[Tuple[int, int, int]] = []
    for item in found:
        if not out or item[0] >= out[-1][1]:
            out.append(item)
    return out


def _bare_number(s: str) -> Optional[Tuple[int, int, int]]:
    """A message that is only a number ("300", "三百", "1.5万") answers the quantity question."""
    m = re.fullmatch(rf"\s*(?:about|around|roughly|maybe|大概|大约|约)?\s*(?P<n>\d{{1,6}}|(?:{NUM})|{EN_NUM})\s*[.。!！]?\s*", s)
    if not m or _is_article(m.group("n")):
        return None
    value = _qty_value(m.group("n"))
    return (m.start("n"), m.end("n"), value) if value is not None else None


# ---------------------------------------------------------------------------
# Corrections
# ---------------------------------------------------------------------------
_CLAUSE_END = r"[,，。;；!！?？\n]"
_NEG_ZH = re.compile(r"(?:不是|并非|而不是)\s*(?P<x>[^,，。;；!！?？\n是要而]{1,16})")
#: A thousands separator ("1,500") does not end a clause.
_SEP = r"(?<=\d)[,.](?=\d)"
_NEG_EN = re.compile(rf"\b(?:not|instead of|rather than)\s+(?P<x>(?:{_SEP}|[^,;.!?\n]){{1,24}}?)(?=\s*(?:,|;|\.|!|\?|but\b|$|\n))")
_CHANGE_ZH = re.compile(
    r"(?:改成|改为|改到|改一下|换成|换到|更正为|更正成|更改为|修改为|修改成|调整为|调整成|调到|变成|变更为|更新为|应该是|应为|纠正一下|"
    r"(?<=不是)[^,，。;；!！?？\n]{1,16}?[,，、\s]*(?:而是|就是|是|要))\s*(?P<y>[^,，。;；!！?？\n]{1,24})"
)
_CHANGE_EN = re.compile(
    r"\b(?:actually|make it|make that|change (?:it|that|this|the [a-z]+(?: [a-z]+)?) to|i meant|correction:?|"
    rf"update (?:it|that|the [a-z]+) to|should be|it'?s)\s+(?P<y>(?:{_SEP}|[^,;!?\n]){{1,40}})"
)
_INSTEAD_EN = re.compile(rf"(?P<y>(?:{_SEP}|[^,;.!?\n]){{1,30}}?)\s+instead\b")
#: Words that make the whole message a correction of the values it gives ("不对，是500个", "sorry, 500").
_CORRECTION_CUE = re.compile(
    r"不对|说错|打错|写错|搞错|弄错|更正|纠正|修正|\b(?:sorry|correction|i meant|typo|my mistake|my bad|wrong)\b"
)


@dataclass
class _Correction:
    quantity: Optional[int] = None
    cities: Tuple[str, ...] = ()
    needed_by: Optional[date] = None
    product: Optional[Tuple[Product, Optional[Sku]]] = None
    fields: set = field(default_factory=set)
    retracted_cities: Tuple[str, ...] = ()
    negated: List[Tuple[str, Any]] = field(default_factory=list)  # (field, value) of what was taken back


def _first_value(
    s: str, start: int, end: int, today: date, table: CityTable
) -> Optional[Tuple[str, Any, List[Tuple[int, int]]]]:
    """The earliest date, cities or quantity inside [start, end) of ``s``: (field, value, spans in ``s``)."""
    found = _first_value_in(s[start:end], today, table)
    if found is None:
        return None
    name, value, spans = found
    return name, value, [(a + start, b + start) for a, b in spans]


def _first_value_in(part: str, today: date, table: CityTable) -> Optional[Tuple[str, Any, List[Tuple[int, int]]]]:
    options: List[Tuple[int, str, Any, List[Tuple[int, int]]]] = []
    dates = [d for d in _find_dates(part, today) if d[2] is not None]
    if dates:
        options.append((dates[0][0], "needed_by", dates[0][2], [(dates[0][0], dates[0][1])]))
    cities = _find_cities(part, table)
    if cities:
        names = tuple(dict.fromkeys(c[2] for c in cities))
        options.append((cities[0][0], "cities", names, [(c[0], c[1]) for c in cities]))
    blank = part
    for d in dates:
        blank = blank[: d[0]] + " " * (d[1] - d[0]) + blank[d[1] :]
    for pattern in (_MONEY, _MEASURE):
        for m in pattern.finditer(blank):
            blank = blank[: m.start()] + " " * (m.end() - m.start()) + blank[m.end() :]
    quantities = _find_quantities(blank, relaxed=True)
    if quantities:
        options.append((quantities[0][0], "quantity", quantities[0][2], [(quantities[0][0], quantities[0][1])]))
    if not options:
        return None
    options.sort(key=lambda o: o[0])
    _, name, value, spans = options[0]
    return name, value, spans


def _corrections(t: _Text, today: date, table: CityTable, catalogue: Optional[Catalogue]) -> _Correction:
    out = _Correction()
    s = t.view()
    # what is taken back ("不是200", "not Shanghai"): never read as a value
    for pattern in (_NEG_ZH, _NEG_EN):
        for m in list(pattern.finditer(s))[:MAX_CORRECTIONS]:
            found = _first_value(s, m.start("x"), m.end("x"), today, table)
            if found:
                name, value, _ = found
                out.negated.append((name, value))
                t.take(m.start("x"), m.end("x"), "retracted")
            elif catalogue is not None:
                res = resolve_product(m.group("x").strip(), catalogue)
                if res.product is not None:
                    out.negated.append(("product", res.product))
                    t.take(m.start("x"), m.end("x"), "retracted")
    s = t.view()
    # the new value: after a change word ("改成300", "make it 300", "不是200，是300")
    spans: List[Tuple[int, int, int, int]] = []
    for pattern in (_CHANGE_ZH, _CHANGE_EN, _INSTEAD_EN):
        for m in list(pattern.finditer(s))[:MAX_CORRECTIONS]:
            if pattern is _CHANGE_EN and m.group(0).startswith("it") and not out.negated:
                continue  # "it's 300" is a correction only next to a "not 200"
            spans.append((m.start("y"), m.end("y"), m.start(), m.end()))
    for start, end, _cue_start, _cue_end in spans:
        found = _first_value(s, start, end, today, table)
        if not found:
            continue
        name, value, value_spans = found
        if name in out.fields:
            continue
        out.fields.add(name)
        setattr(out, name, value)
        for a, b in value_spans:
            t.take(a, b, f"correction_{name}")
    # "不是 200 个，要 300 个": a value taken back, and a plain new value elsewhere in the message
    for name, value in out.negated:
        if name == "cities":
            out.retracted_cities = tuple(dict.fromkeys(out.retracted_cities + tuple(value)))
    return out


# ---------------------------------------------------------------------------
# Customisation and samples
# ---------------------------------------------------------------------------
_CUSTOM_ZH = (
    r"印|刻字|刻上|刻名|刻个|刻一|雕刻|镭雕|激光刻|logo|标志|烫金|烫银|定制|订制|专属|礼盒|包装|彩盒|贴牌|oem|刺绣|绣字|字样"
    r"|专色|潘通|pantone|品牌色|企业色|公司色"
)
_CUSTOM_EN = (
    r"\b(?:logos?|engrav\w*|etch\w*|print\w*|embroider\w*|custom(?:i[sz]ed?|i[sz]ation|i[sz]ations|-made|\s+made)?"
    r"|personali[sz]\w*|branded|branding|gift[\s-]?box\w*|gift[\s-]?wrap\w*|packag\w*|pantone|white[\s-]?label"
    r"|emboss\w*|deboss\w*|colou?r[\s-]?match\w*)\b"
)
_CUSTOM = re.compile(rf"{_CUSTOM_ZH}|{_CUSTOM_EN}")
_NOT_CUSTOM = re.compile(r"打印机|印象|印度|打印|printer")
_COLOUR_WORDS = sorted({w for words in COLOR_WORDS.values() for w in words if len(w) > 1}, key=len, reverse=True)
_COLOUR_CLAUSE = re.compile(
    r"^\s*(?:要|用|做成|做|换成|统一|全部|都|都要|颜色|颜色要|颜色是|颜色用|color|colour|in|all|and)?\s*"
    rf"(?:(?:{'|'.join(re.escape(w) for w in _COLOUR_WORDS)}|[黑白蓝红绿灰粉紫黄橙金银]色?)(?:的|色)?\s*(?:和|、|or|and|/)?\s*)+"
    r"(?:的|颜色|color|colour|ones)?\s*$"
)
_CLAUSE_SPLIT = re.compile(r"[,，。;；!！?？\n、]|\.(?=\s|$)|\s+(?:and|but|also|plus)\s+")
_VERB_BEFORE_ZH = "印刻烫丝绣要加带做配用并且需再还"
_EN_BEFORE = frozenset(
    "with our the a an company company's your custom print printed printing engrave engraved add adding need want "
    "please to plus and also in on".split()
)
_SAMPLE = re.compile(
    r"样品|样板|样机|试用装|小样|打样|寄个样|先寄(?:几|一两|两|一|1|2|3)?个|先买(?:几|一两|两|1|2)个|先拿(?:几|一两|两|1|2)个"
    r"|\bsamples?\b|\btrial (?:order|units?)\b|\btest units?\b"
)
_NO_SAMPLE = re.compile(r"(?:不要|不需要|不用|无需|没有|不寄|no|don'?t need|do not need|without|no need for)\s*(?:\w+\s+)?$")


def _clauses(s: str) -> List[Tuple[int, int]]:
    out, start = [], 0
    for m in _CLAUSE_SPLIT.finditer(s):
        out.append((start, m.start()))
        start = m.end()
    out.append((start, len(s)))
    return [(a, b) for a, b in out if s[a:b].strip()]


def _customisation(t: _Text) -> Tuple[Optional[str], List[Tuple[int, int]]]:
    s = t.view()
    clauses = _clauses(t.norm)
    marks: List[Optional[Tuple[int, int]]] = []
    for a, b in clauses:
        part = s[a:b]
        hit = next((m for m in _CUSTOM.finditer(part) if not _NOT_CUSTOM.match(part, m.start())
                    and not _NOT_CUSTOM.search(part[max(0, m.start() - 1) : m.end() + 2])), None)
        if hit is None:
            marks.append(None)
            continue
        k = a + hit.start()
        start = a
        before = t.norm[a:k]
        taken_before = any(t.labels[i] for i in range(a, k)) or re.search(r"\d", before)
        if taken_before or len(before.strip()) > 8:
            start = k
            if before.isascii():
                words = list(re.finditer(r"[^\s]+", t.norm[a:k]))
                for w in reversed(words):
                    if w.group(0) in _EN_BEFORE:
                        start = a + w.start()
                    else:
                        break
            else:
                while start > a and t.norm[start - 1] in _VERB_BEFORE_ZH and not t.labels[start - 1]:
                    start -= 1
        end = b
        for i in range(k, b):
            if t.labels[i] and t.labels[i] not in ("company",):
                end = i
                break
        marks.append((start, end))
    # a bare colour next to a customisation clause belongs to it ("印公司logo，蓝色，礼盒包装")
    for i, (a, b) in enumerate(clauses):
        if marks[i] is None and _COLOUR_CLAUSE.match(t.norm[a:b]):
            if (i > 0 and marks[i - 1]) or (i + 1 < len(clauses) and marks[i + 1]):
                marks[i] = (a, b)
    runs: List[Tuple[int, int]] = []
    for i, mark in enumerate(marks):
        if mark is None:
            continue
        if runs and i > 0 and marks[i - 1] is not None:
            runs[-1] = (runs[-1][0], mark[1])
        else:
            runs.append(mark)
    texts = [t.words(a, b) for a, b in runs]
    texts = [x for x in texts if x]
    for a, b in runs:
        t.take(a, b, "customisation")
    return ("；".join(texts) if texts else None), runs


def _is_sample(t: _Text) -> bool:
    s = t.norm
    for m in _SAMPLE.finditer(s):
        if not _NO_SAMPLE.search(s[max(0, m.start() - 16) : m.start()]):
            t.take(m.start(), m.end(), "sample")
            return True
    return False


# ---------------------------------------------------------------------------
# Product
# ---------------------------------------------------------------------------
_SKU_CODE = re.compile(r"(?<![a-z0-9-])p\d{3}(?:-[a-z0-9]+){0,3}(?![a-z0-9-])")
_AFTER_QTY_STOP = re.compile(
    r"[,，。;；!！?？\n、(（]|印|刻|送|发到|发往|寄|要在|要求|需要|月底|下周|下个|之前|以前|和|及|跟|以及|还有|另外|\d|到了|到货|能|可以"
    r"|吗|呢|做|给|用于|用来|作为|当|走|\bwith\b|\bby\b|\bto\b|\bfor\b|\bin\b|\bbefore\b|\band\b|\bdelivered\b|\bshipped\b"
    r"|\bprinted\b|\bplease\b|\bi'?d\b|\bwe\b|\bi\b|\bthat\b|\bwhich\b|\bas\b|\basap\b|的话|左右|\s{3,}"
)
_BATCH = re.compile(r"(?:采购|订购|购买|买|订|定制|要|需要)\s*(?:一批|一些|若干|批量的?|大批|一箱箱)|\b(?:a batch of|a bunch of|a lot of|lots of)\b")
#: Leading and trailing words and symbols around the product noun ("of power bank", "保温杯 🎉").
_NOUN_EDGE = re.compile(r"^(?:\s|\bof\b|\bthe\b|\bx\b|的)+|[^\w\u4e00-\u9fff)）]+$")
_ADDRESS = re.compile(r"[省市区县镇乡村路街巷弄号楼室]|大厦|大道|广场|园区|\d{3,}|\broad\b|\bstreet\b|\bdistrict\b")
_FILLER_ZH = (
    "你好", "您好", "请问", "麻烦", "帮忙", "谢谢", "我们公司", "我们", "我司", "咱们", "公司", "想要", "需要", "想", "要", "采购",
    "订购", "购买", "买", "订", "批量", "一批", "报价", "询价", "报个价", "问一下", "了解一下", "一下", "的", "了", "吗", "呢", "啊", "吧",
    "和", "跟", "与", "及", "送到", "送去", "发到", "寄到", "送", "发", "寄", "到", "之前", "以前", "前", "以内", "之内", "左右", "大概",
    "大约", "约", "给", "员工", "每人", "每个人", "可以", "能不能", "能", "有没有", "有", "请", "多少钱", "价格", "价钱", "贵司", "你们",
    "这边", "我", "是", "做", "准备", "打算", "用", "作为", "当", "礼品", "福利", "年会", "活动", "看看", "先", "问", "一些", "这种",
    "那种", "款", "每", "单价", "联系人", "联系方式", "联系", "电话", "手机", "微信", "邮箱", "名字", "姓",
    "数量", "日期", "时间", "交期", "城市", "地址", "改成", "改为", "改到", "改", "换成", "更正", "修改", "调整", "不是", "而是", "就是",
    "应该", "没错", "对", "好的", "好", "嗯", "样品", "看", "寄", "谢", "号", "号码", "多少", "几", "怎么", "什么", "吧",
)
_FILLER_ZH_LONGEST_FIRST = tuple(sorted(set(_FILLER_ZH) | {
    "退货", "退款", "订单", "时候", "什么", "发票", "售后", "物流", "快递", "质量", "问题", "优惠", "折扣", "便宜", "发货", "到货",
    "合同", "付款", "账期", "审批", "流程", "正式", "报价单", "最快", "确认", "一点", "多久", "来自", "我的",
}, key=len, reverse=True))
_FILLER_EN = re.compile(
    r"\b(?:hi|hello|hey|we|we'd|we're|i|i'd|i'm|our|us|my|me|company|would|like|to|need|needs|want|order|buy|purchase|"
    r"quote|quotation|for|of|a|an|the|please|about|around|some|ship|shipped|deliver|delivered|delivery|send|by|before|"
    r"in|and|with|can|could|you|get|price|pricing|bulk|units?|pieces?|pcs|it|them|they|staff|employees|each|per|"
    r"office|offices|looking|interested|is|are|be|do|does|have|how|much|many|what|your|gifts?|event|team|this|that|"
    r"these|those|also|just|want|wanted|on|at|as|via|or|pls|thanks|thank|ok|actually|make|instead|change|sorry|meant|"
    r"first|send|sample|samples|name|email|e-mail|contact|phone|mobile|tel|wechat|quantity|qty|date|city|cities|"
    r"number|yes|no|sure|great|good|will|shall|should|may|might|my|here|there|from|so|then|if|not|it's|that's|asap|"
    r"urgent|soon|possible|person|cheers|regards|best|kind|dear|sir|madam|but|rather|than|instead)\b"
)


def _clean_query(raw: str) -> str:
    q = re.sub(r"<[^>]{0,100}>", " ", raw)
    for word in _FILLER_ZH_LONGEST_FIRST:
        q = q.replace(word, " ")
    q = _FILLER_EN.sub(" ", q)
    q = re.sub(r"[\s,，。;；!！?？、:：()（）\"'“”‘’\-_/\\*#@&|<>\[\]{}=+~`^$%]+", " ", q)
    return re.sub(r"\s+", " ", q).strip()


def _productish(q: str) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]{2}|[a-z]{3}", q)) and len(q) <= 60


@dataclass(frozen=True)
class _ProductRead:
    query: Optional[str]
    product: Optional[Product]
    sku: Optional[Sku]
    price_cents: Optional[int]


def _product(
    t: _Text,
    catalogue: Optional[Catalogue],
    after_quantity: Optional[int],
    sku_span: Optional[Tuple[int, int]],
    custom_spans: Sequence[Tuple[int, int]],
) -> _ProductRead:
    s = t.view()
    query: Optional[str] = None
    candidates: List[str] = []
    if sku_span:
        candidates.append(t.norm[sku_span[0] : sku_span[1]])
    if after_quantity is not None:
        # "200个保温杯印logo": the words right after the quantity, through a customisation clause
        rest = t.view(keep=("customisation",))[after_quantity : after_quantity + 60]
        stop = _AFTER_QTY_STOP.search(rest)
        noun = _NOUN_EDGE.sub("", rest[: stop.start()] if stop else rest)
        if noun and _productish(_clean_query(noun)):
            offset = after_quantity + rest.index(noun)
            query = t.words(offset, offset + len(noun))
            candidates.append(noun)
    if after_quantity is None:
        batch = _BATCH.search(t.view(keep=("customisation",)))
        if batch:
            rest = t.view(keep=("customisation",))[batch.end() : batch.end() + 60]
            stop = _AFTER_QTY_STOP.search(rest)
            noun = _NOUN_EDGE.sub("", rest[: stop.start()] if stop else rest)
            if noun and _productish(_clean_query(noun)):
                offset = batch.end() + rest.index(noun)
                query = t.words(offset, offset + len(noun))
                candidates.append(noun)
    residue = _clean_query(s)
    if residue and len(residue) <= 200:
        candidates.append(residue)
    candidates.extend(t.norm[a:b] for a, b in custom_spans)
    product: Optional[Product] = None
    sku: Optional[Sku] = None
    if catalogue is not None:
        for candidate in candidates:
            res = resolve_product(candidate, catalogue)
            if res.product is not None:
                product, sku = res.product, res.sku
                break
    if product is not None:
        matched = _matched_words(t, product)
        if query is None or (matched and matched in query and len(query) > len(matched) + 4):
            query = matched or query
    if (query is None and residue and _productish(residue) and not sku_span and not _ADDRESS.search(residue)
            and len(residue.split()) <= 3 and len(residue) <= 24):
        query = residue[:60]
    if query is None and product is None and custom_spans:
        # "想要一些定制的帆布袋": the product words inside the customisation clause
        words = _clean_query(_CUSTOM.sub(" ", " ".join(t.norm[a:b] for a, b in custom_spans)))
        if _productish(words) and not _ADDRESS.search(words):
            query = words[:60]
    if query is None and sku_span:
        query = t.words(*sku_span)
    price: Optional[int] = None
    if product is not None and catalogue is not None:
        if sku is None:
            # the variant words next to the product, not the whole message ("delivered" holds "red")
            measured = "".join(c if label == "measure" else " " for c, label in zip(t.norm, t.labels, strict=True))
            hints = extract_variant_hints(" ".join([" ".join(measured.split()), *candidates[:2]])[:200])
            skus = product_skus(catalogue, product.id)
            matching = (filter_skus(skus, hints) if not hints.is_empty() else skus) or skus
            if len(matching) == 1 and not hints.is_empty():
                sku = matching[0]
            elif matching:
                price = min(k.price_cents for k in matching)
        if sku is not None:
            price = sku.price_cents
    return _ProductRead(query, product, sku, price)


def _matched_words(t: _Text, product: Product) -> Optional[str]:
    names = sorted((normalise(n) for n in (product.name_zh, product.name_en, *product.aliases)), key=len, reverse=True)
    for name in names:
        if len(name) < 2:
            continue
        i = t.norm.find(name)
        if i >= 0:
            return t.original[i : i + len(name)]
    return None


# ---------------------------------------------------------------------------
# parse_need
# ---------------------------------------------------------------------------
def parse_need(
    text: str,
    *,
    today: date,
    catalogue: Optional[Catalogue] = None,
    language: str = "zh-Hans",
    cities: Optional[CityTable] = None,
) -> Need:
    """What one customer message says about a quote request (see the module docstring for the reading order).

    ``language`` is the conversation's language, used for the product name only when the message itself has no
    language signal ("P001-BK 200"). ``cities`` replaces the city table of ``cities.yml`` (tests, other sellers).
    Input that is not a string, or empty, gives an empty ``Need``; only the first ``MAX_INPUT`` characters are read.
    """
    if not isinstance(text, str) or not text.strip():
        return Need()
    table = cities or default_cities()
    t = _Text(text[:MAX_INPUT])
    contacts = _contacts(t)
    s = t.view()
    sku_span: Optional[Tuple[int, int]] = None
    m = _SKU_CODE.search(s)
    if m:
        sku_span = (m.start(), m.end())
        t.take(m.start(), m.end(), "sku")
    correction = _corrections(t, today, table, catalogue)
    # dates
    needed_by = correction.needed_by
    for start, end, value in _find_dates(t.view(), today):
        t.take(start, end, "needed_by")
        if needed_by is None and value is not None:
            needed_by = value
    company = _company(t, table)
    contact_name = _contact_name(t)
    # cities
    found_cities = _find_cities(t.view(), table)
    for start, end, _ in found_cities:
        t.take(start, end, "cities")
    plain_cities = tuple(dict.fromkeys(c[2] for c in found_cities))
    # quantity
    _mask_not_quantities(t)
    quantity = correction.quantity
    after_quantity: Optional[int] = None
    quantities = _find_quantities(t.view())
    if not quantities:
        bare = _bare_number(t.view())
        quantities = [bare] if bare else []
    if quantity is None and quantities:
        best = max(quantities, key=lambda q: q[2])
        quantity = best[2]
        after_quantity = best[1]
    elif quantities:
        after_quantity = quantities[0][1]
    for start, end, _ in quantities:
        t.take(start, end, "quantity")
    lead_type = LEAD_SAMPLE if _is_sample(t) else None
    customisation, custom_spans = _customisation(t)
    product = _product(t, catalogue, after_quantity, sku_span, custom_spans)

    fields = set(correction.fields)
    if _CORRECTION_CUE.search(t.norm):
        present = {"quantity": quantity, "cities": plain_cities or correction.cities, "needed_by": needed_by}
        fields |= {name for name, value in present.items() if value}
    negated = {name for name, _ in correction.negated}
    if "quantity" in negated and quantity is not None:
        fields.add("quantity")
    if "needed_by" in negated and needed_by is not None:
        fields.add("needed_by")
    city_values = correction.cities or plain_cities
    if "cities" in correction.fields:
        city_values = tuple(dict.fromkeys(correction.cities + plain_cities))
    if "cities" in negated and city_values:
        fields.add("cities")
    if "product" in negated and product.product is not None:
        fields.add("product")
    family = _language_family(text, language)
    name = None
    if product.product is not None:
        name = product.product.name_en if family == ENGLISH else product.product.name_zh
    return Need(
        product_query=product.query,
        product_id=product.product.id if product.product else None,
        sku=product.sku.code if product.sku else None,
        product_name=name,
        product_line=product.product.category if product.product else None,
        unit_price_cents=product.price_cents,
        quantity=quantity,
        customisation=customisation,
        cities=city_values,
        needed_by=needed_by,
        company=company,
        contact_name=contact_name,
        phone=contacts.get("phone"),
        email=contacts.get("email"),
        wechat=contacts.get("wechat"),
        lead_type=lead_type,
        correction=frozenset(fields),
        retracted_cities=correction.retracted_cities if "cities" in fields else (),
    )


def _language_family(text: str, fallback: str) -> str:
    # SKU codes ("P011-WH-350ML") and units carry no language signal
    plain = re.sub(r"(?i)(?<![a-z0-9])p\d{3}(?:-[a-z0-9]+)*|\d+\s*(?:pcs|ml|mah|kg|k|w)\b", " ", text[:MAX_INPUT])
    detected = detect(plain).language
    if detected == ENGLISH:
        return ENGLISH
    if detected is not None:
        return "zh"
    return ENGLISH if fallback == ENGLISH else "zh"


# ---------------------------------------------------------------------------
# merge
# ---------------------------------------------------------------------------
_PRODUCT_GROUP = ("product_query", "product_id", "sku", "product_name", "product_line", "unit_price_cents")
_SCALARS = ("company", "contact_name", "phone", "email", "wechat", "needed_by")


def merge(previous: Mapping[str, Any], need: Need) -> Dict[str, Any]:
    """The intake's values after one more message (JSON-serialisable: dates as ISO strings, cities as a list).

    The rules, per field:

    - a value fills a field that is still empty;
    - a correction (``need.correction``) replaces the earlier value;
    - ``quantity``: the latest statement wins, corrected or not ("200个" then "300个" gives 300);
    - ``cities`` accumulate ("上海" then "苏州" gives both) unless corrected: a correction that takes cities back
      ("不是上海，是杭州") removes those and adds the new ones; a correction without them ("改成杭州") replaces the list;
    - the product fields (query, id, SKU, name, line, unit price) move together: a resolved product fills an empty or
      unresolved product, a correction replaces it, and a SKU of the same product fills the SKU and its price;
    - ``customisation`` accumulates the customer's clauses ("印logo" then "礼盒包装" gives both);
    - ``lead_type`` "sample" stays once given;
    - the other fields (company, contact, phone, e-mail, WeChat, needed-by date) keep the first value unless corrected
      (only ``needed_by`` can be corrected).

    Keys of ``previous`` that are not intake fields (``skipped``, ``notes``, ...) are kept as they are.
    """
    out: Dict[str, Any] = {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in previous.items()}
    values = need.fields()
    corrected = need.correction

    def empty(key: str) -> bool:
        return out.get(key) in (None, "", [], ())

    # product group
    if need.product_id or need.product_query:
        replace = "product" in corrected or (need.product_id and not out.get("product_id"))
        same = need.product_id is not None and need.product_id == out.get("product_id")
        if replace:
            for key in _PRODUCT_GROUP:
                out[key] = values.get(key)
        elif same and need.sku and not out.get("sku"):
            out["sku"] = need.sku
            out["unit_price_cents"] = need.unit_price_cents
        elif empty("product_query") and empty("product_id"):
            for key in _PRODUCT_GROUP:
                if key in values:
                    out[key] = values[key]
    if need.quantity is not None:
        out["quantity"] = need.quantity
    if need.cities:
        if "cities" in corrected:
            if need.retracted_cities:
                kept = [c for c in out.get("cities") or [] if c not in need.retracted_cities]
                out["cities"] = list(dict.fromkeys(kept + list(need.cities)))
            else:
                out["cities"] = list(need.cities)
        else:
            out["cities"] = list(dict.fromkeys(list(out.get("cities") or []) + list(need.cities)))
    if need.customisation:
        before = out.get("customisation") or ""
        if not before:
            out["customisation"] = need.customisation
        elif need.customisation not in before:
            out["customisation"] = f"{before}；{need.customisation}"
    if need.lead_type == LEAD_SAMPLE:
        out["lead_type"] = LEAD_SAMPLE
    for key in _SCALARS:
        if key not in values:
            continue
        value = values[key]
        if isinstance(value, date):
            value = value.isoformat()
        if empty(key) or key in corrected:
            out[key] = value
    return out


# ---------------------------------------------------------------------------
# skip words
# ---------------------------------------------------------------------------
_SKIP_SET = frozenset(
    w.strip()
    for w in (
        "跳过|略过|跳|不方便|不方便说|不方便透露|不方便提供|不想说|不想提供|不想填|不提供|没有|没|无|暂无|暂时没有|暂时不需要|暂时不用|"
        "不需要|不用|不要|不必|算了|保密|下一个|下一题|下一步|先不填|不填|不知道|不清楚|不确定|待定|未定|还没定|还没想好|随便|都行|"
        "无所谓|没想好|没要求|没有要求|无要求|不限|没什么|没啥|"
        "pass|skip|skip it|skip this|next|none|no|nope|nah|n/a|na|nil|nothing|later|tbd|tbc|dunno|no need|not needed|"
        "not now|not sure|don't know|dont know|rather not|rather not say|prefer not to say|i'd rather not|don't have|"
        "dont have|no thanks|no thank you|not applicable|-|--|/"
    ).split("|")
)


def skip_words(text: Any) -> bool:
    """The whole message (after normalisation, polite particles and punctuation removed) declines the question:
    "跳过", "不方便", "没有", "暂时不需要", "skip", "n/a", "none", "no need"."""
    if not isinstance(text, str) or len(text) > 60:
        return False
    q = normalise(text).strip()
    q = re.sub(r"[\s。.!！~～,，?？…]+$", "", q)
    q = re.sub(r"^(?:嗯|呃|额|哦|那|那就|emm+|um+|uh+|well|sorry|抱歉|不好意思)[\s,，.。]*", "", q)
    stages = [q]
    for _ in range(3):  # "不用了谢谢" -> "不用了" -> "不用"
        q = re.sub(r"(?:吧|了|啊|哈|呢|哦|呀|的|先|哈哈|谢谢|thanks|thank you|please|pls)$", "", q).strip(" ,，.。!！")
        stages.append(q)
    return any(stage and (stage in _SKIP_SET or stage.replace(" ", "") in _SKIP_SET) for stage in stages)
