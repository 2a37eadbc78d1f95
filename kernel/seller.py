"""The seller's formats: order numbers, customer ids, currency and city words (pure; every process reads them).

They live in the ``shop:`` section of the catalogue YAML, next to the shop's ``brand`` and its products: by
default the demo's ``actions/store/demo/catalogue.yml``, another file with ``KEFU_CATALOGUE``. With no section
(or no file at the default path, as in the Rasa image, which ships ``kernel/`` and ``bot/`` only) the demo's
formats apply: ``KF`` + 11 digits starting with the order date, customer ids ``C`` + 4–8 digits, CNY in fen
(``¥499.00``). docs/configuration.md#shop-formats describes every field.

The section is checked when it is read: a field of the wrong type, an unknown currency, a customer-id pattern
that is too long, matches the empty string or has a nested repetition (a shape with catastrophic
backtracking) stop the load with :class:`ShopConfigError` naming the file and the field.

``python -m kernel.seller nlu`` writes the order-number regex and the city and product lookup entries the
seller's configuration and catalogue give, as an NLU file for the operator to train on (docs/orders.md).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import yaml

try:  # Python 3.11 moved the regex parser; Rasa's Python 3.10 has it under its old name
    import re._parser as _sre_parse  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _sre_parse  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
#: The catalogue whose ``shop:`` section holds the formats, unless ``KEFU_CATALOGUE`` names another file.
DEFAULT_CATALOGUE = ROOT / "actions" / "store" / "demo" / "catalogue.yml"
CATALOGUE_ENV = "KEFU_CATALOGUE"

#: The longest customer-id pattern accepted, and the longest id it is ever matched against.
MAX_PATTERN = 120
MAX_CUSTOMER_ID = 64
#: Separators customers may type inside an order number (a space stands for any whitespace).
SEPARATOR_CHARS = " -_./"
#: The ones the generated NLU regex allows (one between the groups); "." and "/" stay with the parser.
NLU_SEPARATOR_CHARS = " -_"

#: ISO 4217 code -> (usual symbol, minor units). A code not here is refused at load.
CURRENCIES: Dict[str, Tuple[str, int]] = {
    "CNY": ("¥", 2),
    "HKD": ("HK$", 2),
    "MOP": ("MOP$", 2),
    "TWD": ("NT$", 2),
    "JPY": ("¥", 0),
    "KRW": ("₩", 0),
    "USD": ("$", 2),
    "CAD": ("C$", 2),
    "AUD": ("A$", 2),
    "NZD": ("NZ$", 2),
    "SGD": ("S$", 2),
    "MYR": ("RM", 2),
    "THB": ("฿", 2),
    "VND": ("₫", 0),
    "IDR": ("Rp", 2),
    "PHP": ("₱", 2),
    "INR": ("₹", 2),
    "EUR": ("€", 2),
    "GBP": ("£", 2),
    "CHF": ("CHF ", 2),
}


class ShopConfigError(ValueError):
    """The ``shop:`` section is malformed: the message names the file and the field."""


# --------------------------------------------------------------------------
# order numbers
# --------------------------------------------------------------------------


def _char_class(chars: str, extra: str = "") -> str:
    parts = [r"\s" if c == " " else re.escape(c) for c in chars + extra]
    return "[" + "".join(parts) + "]"


@dataclass(frozen=True)
class OrderNumberFormat:
    """An order number: ``prefix`` + ``digits`` digits, the first eight the order date when ``dated``.

    In free text customers may write the prefix in any case (unless ``case_sensitive``), full-width, and put
    ``separators`` (and a ``#`` after the prefix) anywhere; the canonical form is the prefix as configured
    followed by the digits, with nothing between.
    """

    prefix: str = "KF"
    digits: int = 11
    dated: bool = True
    separators: str = SEPARATOR_CHARS
    case_sensitive: bool = False

    @property
    def prefix_letters(self) -> str:
        """The prefix without its separators: what a customer must type."""
        return "".join(c for c in self.prefix if c.isalnum())

    def _prefix_regex(self, letters: str, nlu: bool) -> str:
        if self.case_sensitive:
            return re.escape(letters)
        out = []
        for c in letters:
            out.append(f"[{c.upper()}{c.lower()}]" if nlu and c.isalpha() else re.escape(c))
        return "".join(out)

    @property
    def search_regex(self) -> re.Pattern[str]:
        """Finds candidates in NFKC-normalised text; group 1 holds the digits with their separators."""
        return _search_regex(self)

    @property
    def exact_regex(self) -> re.Pattern[str]:
        """The canonical form, whole: what the store accepts."""
        return re.compile(re.escape(self.prefix) + r"[0-9]{" + str(self.digits) + "}")

    def canonical(self, digits: str) -> str:
        return self.prefix + digits

    def make(self, number: int, day: Optional[Any] = None) -> str:
        """A canonical number: the date (``dated``) and then ``number`` zero-padded to the remaining digits."""
        if self.dated:
            if day is None:
                raise ValueError("a dated order number needs its day")
            head = f"{day:%Y%m%d}"
        else:
            head = ""
        width = self.digits - len(head)
        tail = f"{number:0{width}d}" if width else ""
        if len(tail) != width:
            raise ValueError(f"{number} does not fit in {width} digits")
        return self.prefix + head + tail

    def nlu_regexes(self) -> List[str]:
        """The ``regex: order_id`` examples for Rasa's RegexFeaturizer / RegexEntityExtractor.

        One optional separator between the prefix and the digits and between the digit groups; a dated number
        is grouped like a date (``yyyy mm dd rest`` and ``yyyy mmdd rest``), an undated one is one group.
        """
        seps = "".join(c for c in self.separators if c in NLU_SEPARATOR_CHARS)
        sep = _char_class(seps) + "?" if seps else ""
        head = self._prefix_regex(self.prefix_letters, nlu=True) + (sep if self.prefix_letters else "")
        rest = self.digits - 8
        if self.dated:
            groupings = [[4, 2, 2], [4, 4]]
            return [head + sep.join([rf"\d{{{n}}}" for n in g + ([rest] if rest else [])]) for g in groupings]
        return [head + rf"\d{{{self.digits}}}"]


_SEARCH_CACHE: Dict[OrderNumberFormat, re.Pattern[str]] = {}


def _search_regex(fmt: OrderNumberFormat) -> re.Pattern[str]:
    pattern = _SEARCH_CACHE.get(fmt)
    if pattern is None:
        letters = fmt.prefix_letters
        seps = _char_class(fmt.separators) if fmt.separators else ""
        between = (_char_class(fmt.separators, "#") + "*") if letters else ""
        digit = r"\d" + (seps + "*" if seps else "")
        flags = 0 if fmt.case_sensitive else re.IGNORECASE
        pattern = re.compile(
            r"(?<![a-zA-Z0-9])"
            + fmt._prefix_regex(letters, nlu=False)
            + between
            + rf"((?:{digit}){{{fmt.digits}}})(?!\d)",
            flags,
        )
        _SEARCH_CACHE[fmt] = pattern
    return pattern


# --------------------------------------------------------------------------
# customer ids
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerIdFormat:
    """A customer id: the whole id matches ``pattern`` (a regular expression checked at load)."""

    pattern: str = r"C\d{4,8}"

    @property
    def regex(self) -> re.Pattern[str]:
        return _compiled(self.pattern)

    def matches(self, value: Any) -> bool:
        return isinstance(value, str) and len(value) <= MAX_CUSTOMER_ID and self.regex.fullmatch(value) is not None


_COMPILED: Dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    compiled = _COMPILED.get(pattern)
    if compiled is None:
        compiled = _COMPILED[pattern] = re.compile(pattern)
    return compiled


def _repeats(tree: Any) -> Iterator[Tuple[Any, Any]]:
    """(opcode, argument) of every node of a parsed regex, depth first."""
    for op, av in tree:
        yield op, av
        for sub in _children(av):
            yield from _repeats(sub)


def _children(av: Any) -> Iterator[Any]:
    if isinstance(av, _sre_parse.SubPattern):
        yield av
    elif isinstance(av, (tuple, list)):
        for item in av:
            yield from _children(item)


_REPEAT_OPS = {_sre_parse.MAX_REPEAT, _sre_parse.MIN_REPEAT}
_POSSESSIVE = getattr(_sre_parse, "POSSESSIVE_REPEAT", None)
if _POSSESSIVE is not None:
    _REPEAT_OPS.add(_POSSESSIVE)


def check_pattern(pattern: Any, where: str) -> str:
    """``pattern`` when it is a safe whole-id regex; else a ShopConfigError saying why."""
    if not isinstance(pattern, str) or not pattern:
        raise ShopConfigError(f"{where}: a regular expression (text) is required")
    if len(pattern) > MAX_PATTERN:
        raise ShopConfigError(f"{where}: the pattern is {len(pattern)} characters long, at most {MAX_PATTERN}")
    try:
        compiled = re.compile(pattern)
        tree = _sre_parse.parse(pattern)
    except re.error as e:
        raise ShopConfigError(f"{where}: not a regular expression ({e})") from None
    if compiled.fullmatch(""):
        raise ShopConfigError(f"{where}: the pattern matches the empty string")
    for op, av in _repeats(tree):
        if op in (_sre_parse.GROUPREF, _sre_parse.GROUPREF_EXISTS, _sre_parse.ASSERT, _sre_parse.ASSERT_NOT):
            raise ShopConfigError(f"{where}: back-references and look-arounds are not allowed")
        if op in _REPEAT_OPS:
            low, high, body = av
            inner = list(_repeats(body))
            if high > 1 and any(o in _REPEAT_OPS and a[1] > 1 for o, a in inner):
                raise ShopConfigError(
                    f"{where}: a repetition inside a repetition (like (a+)+) can take exponential time; flatten it"
                )
            if high > 1 and any(o == _sre_parse.BRANCH for o, _ in inner):
                raise ShopConfigError(
                    f"{where}: a repeated alternation (like (a|ab)*) can take exponential time; use a character class"
                )
    return pattern


# --------------------------------------------------------------------------
# currency
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Currency:
    """Amounts are integers in the currency's minor unit (fen, cents; yen have none)."""

    code: str = "CNY"
    symbol: str = "¥"
    minor_units: int = 2

    def format(self, minor: int) -> str:
        """``¥499.00``, ``$12.50``, ``¥499`` (JPY): the symbol, thousands separators, the minor digits."""
        value = Decimal(int(minor)).scaleb(-self.minor_units)
        return f"{self.symbol}{value:,.{self.minor_units}f}"

    def from_major(self, major: int) -> int:
        """A whole amount in the major unit (a catalogue price) in minor units."""
        return int(major) * 10**self.minor_units


# --------------------------------------------------------------------------
# the shop
# --------------------------------------------------------------------------

#: The demo's city words: what customers call each city that has a store.
DEMO_CITIES: Mapping[str, Tuple[str, ...]] = {
    "shanghai": ("上海", "Shanghai", "魔都"),
    "beijing": ("北京", "Beijing", "帝都"),
    "shenzhen": ("深圳", "Shenzhen"),
    "guangzhou": ("广州", "Guangzhou"),
}


@dataclass(frozen=True)
class ShopFormats:
    order_number: OrderNumberFormat = field(default_factory=OrderNumberFormat)
    customer_id: CustomerIdFormat = field(default_factory=CustomerIdFormat)
    currency: Currency = field(default_factory=Currency)
    #: city key (as the store's locations use it) -> the words customers use for it, for the NLU lookup
    cities: Tuple[Tuple[str, Tuple[str, ...]], ...] = tuple(DEMO_CITIES.items())
    source: str = field(default="built-in demo formats", compare=False)  # where they came from


DEMO = ShopFormats()

_SHOP_KEYS = ("order_number", "customer_id", "currency", "cities")
_ORDER_KEYS = ("prefix", "digits", "dated", "separators", "case")
_CURRENCY_KEYS = ("code", "symbol", "minor_units")


def _known(raw: Any, allowed: Sequence[str], where: str) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ShopConfigError(f"{where}: expected a mapping, not {type(raw).__name__}")
    unknown = sorted(set(map(str, raw)) - set(allowed))
    if unknown:
        raise ShopConfigError(f"{where}: unknown field(s) {', '.join(unknown)} (known: {', '.join(allowed)})")
    return raw


def _int(raw: Mapping[str, Any], key: str, default: int, low: int, high: int, where: str) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ShopConfigError(f"{where}.{key}: a whole number from {low} to {high}, not {value!r}")
    return value


def _order_number(raw: Any, where: str) -> OrderNumberFormat:
    raw = _known(raw, _ORDER_KEYS, where)
    default = OrderNumberFormat()
    prefix = raw.get("prefix", default.prefix)
    if prefix is None:
        prefix = ""
    if not isinstance(prefix, str) or len(prefix) > 12 or not re.fullmatch(r"[A-Za-z0-9\-_./]*", prefix):
        raise ShopConfigError(f"{where}.prefix: up to 12 ASCII letters, digits and - _ . /, not {prefix!r}")
    letters = "".join(c for c in prefix if c.isalnum())
    if prefix and not any(c.isalpha() for c in letters):
        raise ShopConfigError(f"{where}.prefix: needs a letter (or leave it empty), not {prefix!r}")
    if prefix and not prefix[0].isalnum():
        raise ShopConfigError(f"{where}.prefix: must start with a letter or digit, not {prefix!r}")
    digits = _int(raw, "digits", default.digits, 4, 24, where)
    dated = raw.get("dated", default.dated)
    if not isinstance(dated, bool):
        raise ShopConfigError(f"{where}.dated: true or false, not {dated!r}")
    if dated and digits < 8:
        raise ShopConfigError(f"{where}.dated: a dated number needs at least 8 digits (yyyymmdd), not {digits}")
    if not letters and digits < 8:
        raise ShopConfigError(f"{where}.digits: a number with no prefix needs at least 8 digits, not {digits}")
    separators = raw.get("separators", default.separators)
    if separators is None:
        separators = ""
    if not isinstance(separators, str) or any(c not in SEPARATOR_CHARS for c in separators):
        raise ShopConfigError(f"{where}.separators: some of {SEPARATOR_CHARS!r} (space, - _ . /), not {separators!r}")
    separators = "".join(dict.fromkeys(separators))
    case = raw.get("case", "insensitive")
    if case not in ("insensitive", "exact"):
        raise ShopConfigError(f"{where}.case: insensitive or exact, not {case!r}")
    return OrderNumberFormat(prefix, digits, dated, separators, case == "exact")


def _customer_id(raw: Any, where: str) -> CustomerIdFormat:
    if raw is None:
        return CustomerIdFormat()
    if isinstance(raw, dict):
        raw = _known(raw, ("pattern",), where).get("pattern")
        where = f"{where}.pattern"
    return CustomerIdFormat(check_pattern(raw, where))


def _currency(raw: Any, where: str) -> Currency:
    if isinstance(raw, str):
        raw = {"code": raw}
    raw = _known(raw, _CURRENCY_KEYS, where)
    code = raw.get("code", "CNY")
    if not isinstance(code, str) or code.upper() not in CURRENCIES:
        raise ShopConfigError(f"{where}.code: unknown currency {code!r} (known: {', '.join(sorted(CURRENCIES))})")
    code = code.upper()
    symbol, minor = CURRENCIES[code]
    symbol = raw.get("symbol", symbol)
    if not isinstance(symbol, str) or not 1 <= len(symbol) <= 5 or any(c.isdigit() or ord(c) < 32 for c in symbol):
        raise ShopConfigError(f"{where}.symbol: 1 to 5 characters and no digits, not {symbol!r}")
    given = raw.get("minor_units", minor)
    if given != minor or isinstance(given, bool):
        raise ShopConfigError(f"{where}.minor_units: {code} has {minor} minor units, not {given!r}")
    return Currency(code, symbol, minor)


def _cities(raw: Any, where: str) -> Tuple[Tuple[str, Tuple[str, ...]], ...]:
    if raw is None:
        return tuple(DEMO_CITIES.items())
    if not isinstance(raw, dict):
        raise ShopConfigError(f"{where}: a mapping of city key to the words customers use, not {type(raw).__name__}")
    out = []
    for key, words in raw.items():
        if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", key):
            raise ShopConfigError(f"{where}: city key {key!r} must be lower-case ASCII, like the locations' city")
        if (
            not isinstance(words, list)
            or not words
            or not all(isinstance(w, str) and 0 < len(w.strip()) <= 40 and "\n" not in w for w in words)
        ):
            raise ShopConfigError(f"{where}.{key}: a non-empty list of words of 1 to 40 characters")
        out.append((key, tuple(w.strip() for w in words)))
    return tuple(out)


def formats_from(raw: Any, source: str = "shop") -> ShopFormats:
    """The ``shop:`` section of a catalogue document, checked; ``None`` gives the demo's formats."""
    raw = _known(raw, _SHOP_KEYS, f"{source}: shop")
    where = f"{source}: shop"
    return ShopFormats(
        order_number=_order_number(raw.get("order_number"), f"{where}.order_number"),
        customer_id=_customer_id(raw.get("customer_id"), f"{where}.customer_id"),
        currency=_currency(raw.get("currency"), f"{where}.currency"),
        cities=_cities(raw.get("cities"), f"{where}.cities"),
        source=source,
    )


def read_catalogue(path: Path) -> Dict[str, Any]:
    """The catalogue document at ``path``; a ShopConfigError when it is missing or not a YAML mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ShopConfigError(f"{path}: cannot read the catalogue ({e.strerror or e})") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ShopConfigError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(doc, dict):
        raise ShopConfigError(f"{path}: expected a mapping at the top")
    return doc


def catalogue_path(environ: Optional[Mapping[str, str]] = None) -> Path:
    value = (os.environ if environ is None else environ).get(CATALOGUE_ENV) or ""
    if not value.strip():
        return DEFAULT_CATALOGUE
    path = Path(value.strip())
    return path if path.is_absolute() else ROOT / path


def load(environ: Optional[Mapping[str, str]] = None) -> ShopFormats:
    """The formats of ``KEFU_CATALOGUE`` (or the demo catalogue); the demo's when the default file is absent."""
    path = catalogue_path(environ)
    if path == DEFAULT_CATALOGUE and not path.exists():
        return DEMO
    return formats_from(read_catalogue(path).get("shop"), str(path))


_lock = threading.Lock()
_current: Optional[ShopFormats] = None


def current() -> ShopFormats:
    """This process's formats, read once (tests swap them with :func:`use`)."""
    global _current
    formats = _current
    if formats is None:
        with _lock:
            if _current is None:
                _current = load()
            formats = _current
    return formats


@contextlib.contextmanager
def use(formats: ShopFormats) -> Iterator[ShopFormats]:
    """Run with ``formats`` as this process's formats (tests, and the NLU generator for another file)."""
    global _current
    with _lock:
        previous, _current = _current, formats
    try:
        yield formats
    finally:
        with _lock:
            _current = previous


def money(minor: int) -> str:
    """An amount in the shop's currency, in minor units, as the bot shows it: ``¥499.00``."""
    return current().currency.format(minor)


# --------------------------------------------------------------------------
# NLU data from the configuration and the catalogue
# --------------------------------------------------------------------------


def _traditional(text: str) -> str:
    from kernel.i18n import to_traditional  # OpenCC: both environments have it; loaded only here

    return to_traditional(text)


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= c <= "\u9fff" for c in text)


def city_lookup(formats: ShopFormats) -> List[str]:
    """Every city word, and the Traditional form of the Chinese ones."""
    words: Dict[str, None] = {}
    for _, names in formats.cities:
        for w in names:
            words[w] = None
            if _has_cjk(w):
                words[_traditional(w)] = None
    return list(words)


def product_lookup(catalogue: Mapping[str, Any], source: str = "catalogue") -> List[str]:
    """Product names and aliases (two characters or more), and the Traditional form of the Chinese ones."""
    products = catalogue.get("products")
    if not isinstance(products, list):
        raise ShopConfigError(f"{source}: products: expected a list")
    words: Dict[str, None] = {}
    for i, p in enumerate(products):
        if not isinstance(p, dict):
            raise ShopConfigError(f"{source}: products[{i}]: expected a mapping")
        names = [p.get("name_zh"), p.get("name_en"), *(p.get("aliases") or [])]
        for name in names:
            if name is None:
                continue
            if not isinstance(name, str) or "\n" in name:
                raise ShopConfigError(f"{source}: products[{i}]: names and aliases are one-line texts, not {name!r}")
            name = name.strip()
            if len(name) < 2:  # a single character ("锅") would tag every sentence holding it
                continue
            words[name] = None
            if _has_cjk(name):
                words[_traditional(name)] = None
    return list(words)


def _examples(items: Sequence[str]) -> str:
    return "".join(f"- {item}\n" for item in items)


class _Literal(str):
    pass


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> Any:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


def nlu_document(formats: ShopFormats, catalogue: Mapping[str, Any], source: str = "catalogue") -> str:
    """The generated NLU file: ``regex: order_id``, ``lookup: city`` and ``lookup: product``."""
    products = sorted(product_lookup(catalogue, source), key=lambda s: (s.casefold(), s))
    entries = [
        {"regex": "order_id", "examples": _Literal(_examples(formats.order_number.nlu_regexes()))},
        {"lookup": "city", "examples": _Literal(_examples(city_lookup(formats)))},
        {"lookup": "product", "examples": _Literal(_examples(products))},
    ]
    dumper = type("_NluDumper", (yaml.SafeDumper,), {})
    dumper.add_representer(_Literal, _literal)
    body = yaml.dump({"version": "3.1", "nlu": entries}, Dumper=dumper, allow_unicode=True, sort_keys=False, width=1000)
    header = (
        f"# Generated by `python -m kernel.seller nlu` from {source}: do not edit, run the command again.\n"
        "# It replaces the regex: order_id, lookup: city and lookup: product entries of\n"
        "# bot/data/nlu/orders.zh-Hans.yml (docs/orders.md#the-sellers-formats); then train the model.\n"
    )
    return header + body


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kernel.seller", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    nlu = sub.add_parser("nlu", help="write the order-number regex and city/product lookups for training")
    nlu.add_argument(
        "--catalogue", help=f"the catalogue YAML (default: ${CATALOGUE_ENV} or {DEFAULT_CATALOGUE.relative_to(ROOT)})"
    )
    nlu.add_argument("--output", default="var/nlu/seller.yml", help="where to write it; - for standard output")
    show = sub.add_parser("show", help="print the formats in effect")
    show.add_argument("--catalogue")
    args = parser.parse_args(argv)
    path = Path(args.catalogue) if args.catalogue else catalogue_path()
    try:
        doc = read_catalogue(path)
        formats = formats_from(doc.get("shop"), str(path))
        if args.command == "show":
            o, c = formats.order_number, formats.currency
            print(f"source: {formats.source}")
            print(
                f"order number: {o.prefix!r} + {o.digits} digits{' (yyyymmdd first)' if o.dated else ''}, "
                f"separators {o.separators!r}, case {'exact' if o.case_sensitive else 'insensitive'}"
            )
            print(f"customer id: {formats.customer_id.pattern}")
            print(f"currency: {c.code} {c.symbol} ({c.minor_units} minor units), e.g. {c.format(123456)}")
            return 0
        text = nlu_document(formats, doc, str(path))
    except ShopConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    out = Path(args.output)
    out = out if out.is_absolute() else ROOT / out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
