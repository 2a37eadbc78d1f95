"""The seller's formats (kernel/seller.py): order numbers, customer ids, currency, city words, NLU data.

The demo's formats are the default and the committed catalogue's ``shop:`` section says the same; a seller's
section (orders ``SO-`` + 8 digits, USD, another catalogue) goes end to end through the free-text parser, the
store's validation and a seeded store, the reply text, the masking of log lines and the generated NLU data;
hostile patterns and huge inputs are refused.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import yaml

from kernel import seller
from kernel.logs import mask_personal_data
from kernel.order_numbers import MAX_ORDER_INPUT, parse_order_id

ROOT = Path(__file__).resolve().parents[2]
COMMITTED_NLU = ROOT / "bot" / "data" / "nlu" / "orders.zh-Hans.yml"

SELLER_SHOP: Dict[str, Any] = {
    "order_number": {"prefix": "SO-", "digits": 8, "dated": False, "separators": " -"},
    "customer_id": r"U-[0-9]{6}",
    "currency": {"code": "USD"},
    "cities": {"seattle": ["Seattle", "西雅图"], "portland": ["Portland"]},
}
SELLER_CATALOGUE: Dict[str, Any] = {
    "brand": "Acme",
    "shop": SELLER_SHOP,
    "products": [
        {"id": "A1", "name_zh": "旅行水壶", "name_en": "Travel Kettle", "aliases": ["kettle", "壶", "烧水壶"]},
        {"id": "A2", "name_zh": "登山包", "name_en": "Hiking Pack", "aliases": []},
    ],
}


@pytest.fixture
def seller_formats() -> Iterator[seller.ShopFormats]:
    with seller.use(seller.formats_from(SELLER_SHOP, "seller test")) as formats:
        yield formats


def _committed_entries() -> Dict[str, List[str]]:
    doc = yaml.safe_load(COMMITTED_NLU.read_text(encoding="utf-8"))
    out: Dict[str, List[str]] = {}
    for entry in doc["nlu"]:
        name = entry.get("regex") or entry.get("lookup")
        if name:
            kind = "regex" if "regex" in entry else "lookup"
            out[f"{kind}:{name}"] = [line[2:].strip() for line in entry["examples"].splitlines() if line.strip()]
    return out


def _generated_entries(text: str) -> Dict[str, List[str]]:
    doc = yaml.safe_load(text)
    return {
        ("regex:" + e["regex"]) if "regex" in e else ("lookup:" + e["lookup"]): [
            line[2:].strip() for line in e["examples"].splitlines() if line.strip()
        ]
        for e in doc["nlu"]
    }


def _walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


# --------------------------------------------------------------------------
# the demo stays the default
# --------------------------------------------------------------------------


def test_the_committed_catalogue_holds_the_demo_formats() -> None:
    formats = seller.load({})
    assert formats == seller.DEMO
    assert formats.order_number.prefix == "KF" and formats.order_number.digits == 11 and formats.order_number.dated
    assert formats.currency == seller.Currency("CNY", "¥", 2)
    assert seller.formats_from(None) == seller.DEMO  # no section: the demo's


def test_with_no_catalogue_at_the_default_path_the_demo_formats_apply(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(seller, "DEFAULT_CATALOGUE", tmp_path / "absent.yml")  # the Rasa image ships no actions/
    assert seller.load({}) == seller.DEMO


def test_a_named_catalogue_that_is_missing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(seller.ShopConfigError, match="cannot read"):
        seller.load({"KEFU_CATALOGUE": str(tmp_path / "nope.yml")})


def test_demo_parsing_money_and_validation_are_unchanged() -> None:
    from actions.store.types import StoreInputError
    from actions.store.validation import check_customer_id, check_order_id
    from actions.store_replies import money

    assert parse_order_id("ＫＦ２０２６１１２０００１").order_id == "KF20261120001"
    assert parse_order_id("kf-2026-1120-001 到哪了").order_id == "KF20261120001"
    assert parse_order_id("KF#2026 1120 001").order_id == "KF20261120001"
    assert parse_order_id("KF20261320001").problem == "not_found_in_text"  # month 13
    assert parse_order_id("KF20261120001 和 KF20261120002").problem == "ambiguous"
    assert money(49900) == "¥499.00" and money(123456789) == "¥1,234,567.89"
    assert check_order_id("KF20261120001") == "KF20261120001"
    assert check_customer_id("C0001") == "C0001"
    with pytest.raises(StoreInputError, match="KF \\+ 11 digits"):
        check_order_id("SO-12345678")


def test_on_the_demo_configuration_the_generator_gives_the_committed_nlu_entries() -> None:
    path = seller.DEFAULT_CATALOGUE
    doc = seller.read_catalogue(path)
    generated = _generated_entries(seller.nlu_document(seller.formats_from(doc.get("shop"), str(path)), doc))
    committed = _committed_entries()
    for key in ("regex:order_id", "lookup:city", "lookup:product"):
        assert set(generated[key]) == set(committed[key]), key
        assert len(generated[key]) == len(set(generated[key])), f"{key}: duplicates"


# --------------------------------------------------------------------------
# a seller's formats, end to end
# --------------------------------------------------------------------------


def test_a_seller_order_number_is_found_in_free_text(seller_formats: seller.ShopFormats) -> None:
    assert parse_order_id("where is so-1234 5678?").order_id == "SO-12345678"
    assert parse_order_id("ＳＯ－１２３４５６７８").order_id == "SO-12345678"  # full-width
    assert parse_order_id("SO12345678").order_id == "SO-12345678"
    assert parse_order_id("KF20261120001").problem == "not_found_in_text"  # the demo's format is not the shop's
    assert parse_order_id("SO-123456789").problem == "not_found_in_text"  # nine digits
    assert parse_order_id("XSO-12345678").problem == "not_found_in_text"  # glued to a letter
    assert parse_order_id("SO-12345678 or SO-87654321").problem == "ambiguous"
    assert parse_order_id("SO-12345678 and so 1234-5678").order_id == "SO-12345678"  # the same one twice
    assert parse_order_id("SO/12345678").problem == "not_found_in_text"  # "/" is not one of this shop's separators
    assert parse_order_id("x" * (MAX_ORDER_INPUT + 1)).problem == "too_long"
    assert parse_order_id("SO-12345678 " * 1000).problem == "too_long"


def test_a_dated_seller_format_refuses_a_date_that_is_no_date() -> None:
    formats = seller.formats_from({"order_number": {"prefix": "ORD", "digits": 10, "dated": True}})
    assert parse_order_id("ord 2026-11-20-07", formats).order_id == "ORD2026112007"
    assert parse_order_id("ORD2026023007", formats).problem == "not_found_in_text"  # 30 February


def test_an_exact_case_prefix_refuses_lower_case() -> None:
    formats = seller.formats_from({"order_number": {"prefix": "SO", "digits": 8, "dated": False, "case": "exact"}})
    assert parse_order_id("SO12345678", formats).order_id == "SO12345678"
    assert parse_order_id("so12345678", formats).problem == "not_found_in_text"


def test_the_store_validates_the_seller_ids(seller_formats: seller.ShopFormats) -> None:
    from actions.identity import sign_web_token
    from actions.store.types import StoreInputError
    from actions.store.validation import check_customer_id, check_order_id, is_customer_id

    assert check_order_id("SO-12345678") == "SO-12345678"
    assert check_customer_id("U-123456") == "U-123456"
    for bad in ("KF20261120001", "SO12345678", "SO-1234567", "so-12345678", "SO-12345678\n", "SO-" + "1" * 10_000):
        with pytest.raises(StoreInputError, match=r"SO- \+ 8 digits"):
            check_order_id(bad)
    for bad in ("C0001", "U-12345", "U-1234567", "", "U-123456" * 5000, None, 12):
        with pytest.raises(StoreInputError):
            check_customer_id(bad)  # type: ignore[arg-type]
    assert not is_customer_id("u-123456")
    assert sign_web_token("U-123456", "s3cret")  # the widget's signed customer token takes the seller's ids
    with pytest.raises(ValueError):
        sign_web_token("C0001", "s3cret")


def test_a_store_seeded_under_the_seller_format_answers_by_its_numbers(
    seller_formats: seller.ShopFormats, tmp_path: Path
) -> None:
    from actions.orders import render_order
    from actions.store.seed import seed
    from actions.store.sql import SqlStore
    from actions.store.types import StoreInputError

    store = SqlStore(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        seed(store)
        order = store.get_order("SO-00000001")
        assert order is not None and order.order_id == "SO-00000001"
        with pytest.raises(StoreInputError):
            store.get_order("KF20261120001")
        for language in ("zh-Hans", "zh-Hant", "en"):  # every reply script, the text and the card
            text, card = render_order(order, language)
            assert "$" in text and "¥" not in text, (language, text)
            amounts = [v for v in _walk(card) if isinstance(v, dict) and set(v) == {"cents", "text"}]
            assert amounts and all(a["text"] == seller_formats.currency.format(a["cents"]) for a in amounts)
            assert all(a["text"].startswith(("$", "-$")) for a in amounts)
            assert card["kefu_card"]["amounts"]["currency"] == "USD"
    finally:
        store.dispose()


@pytest.mark.parametrize(
    ("currency", "minor", "shown"),
    [
        ({"code": "USD"}, 1250, "$12.50"),
        ({"code": "JPY"}, 499, "¥499"),
        ({"code": "CNY"}, 49900, "¥499.00"),
        ({"code": "EUR", "symbol": "EUR "}, 123456, "EUR 1,234.56"),
        ("usd", 100000000, "$1,000,000.00"),
    ],
)
def test_money_in_the_shops_currency(currency: Any, minor: int, shown: str) -> None:
    from actions.store_replies import money

    with seller.use(seller.formats_from({"currency": currency})):
        assert money(minor) == shown


def test_masking_keeps_the_sellers_order_numbers_and_masks_the_rest() -> None:
    shop = {"order_number": {"prefix": "SO-", "digits": 12, "dated": False}}
    line = "SO-123456789012 for 13812345678, card 6222021234567890123"
    with seller.use(seller.DEMO):
        assert mask_personal_data(line).startswith("SO-123*******12 ")  # the demo's format does not know it
    with seller.use(seller.formats_from(shop)):
        masked = mask_personal_data(line)
        assert masked.startswith("SO-123456789012 for 138****5678")
        assert "6222021234567890123" not in masked
        assert mask_personal_data(masked) == masked  # idempotent
    no_prefix = {"order_number": {"prefix": "", "digits": 16, "dated": False}}
    with seller.use(seller.formats_from(no_prefix)):  # digits alone look like a card: masked
        assert "6222021234567890" not in mask_personal_data("order 6222021234567890")


# --------------------------------------------------------------------------
# the NLU data of a seller
# --------------------------------------------------------------------------


def test_a_seller_configuration_gives_the_sellers_nlu_entries() -> None:
    formats = seller.formats_from(SELLER_SHOP)
    entries = _generated_entries(seller.nlu_document(formats, SELLER_CATALOGUE))
    assert entries["regex:order_id"] == [r"[Ss][Oo][\s\-]?\d{8}"]
    assert set(entries["lookup:city"]) == {"Seattle", "西雅图", "西雅圖", "Portland"}
    assert set(entries["lookup:product"]) == {
        "旅行水壶", "旅行水壺", "Travel Kettle", "kettle", "烧水壶", "燒水壺", "登山包", "Hiking Pack"
    }  # fmt: skip
    import re

    for pattern in entries["regex:order_id"]:
        assert re.fullmatch(pattern, "so-12345678") and not re.fullmatch(pattern, "KF20261120001")


def test_the_generator_command_writes_the_file(tmp_path: Path) -> None:
    catalogue = tmp_path / "catalogue.yml"
    catalogue.write_text(yaml.safe_dump(SELLER_CATALOGUE, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "nlu" / "seller.yml"
    run = subprocess.run(
        [sys.executable, "-m", "kernel.seller", "nlu", "--catalogue", str(catalogue), "--output", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    entries = _generated_entries(out.read_text(encoding="utf-8"))
    assert entries["regex:order_id"] == [r"[Ss][Oo][\s\-]?\d{8}"]
    assert "Travel Kettle" in entries["lookup:product"]
    catalogue.write_text(yaml.safe_dump({"shop": {"currency": "XXX"}, "products": []}), encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, "-m", "kernel.seller", "nlu", "--catalogue", str(catalogue), "--output", "-"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "unknown currency 'XXX'" in bad.stderr and not bad.stdout


# --------------------------------------------------------------------------
# refused at load
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shop", "message"),
    [
        ({"customer_id": "C*"}, "matches the empty string"),
        ({"customer_id": "(a|b)?"}, "matches the empty string"),
        ({"customer_id": "(a+)+$"}, "repetition inside a repetition"),
        ({"customer_id": r"(\d{4})*x"}, "repetition inside a repetition"),
        ({"customer_id": "(a|aa)+b"}, "repeated alternation"),
        ({"customer_id": r"(a)\1"}, "back-references"),
        ({"customer_id": "(?=C)C1"}, "look-arounds"),
        ({"customer_id": "C" + "1" * 200}, "at most 120"),
        ({"customer_id": "[unclosed"}, "not a regular expression"),
        ({"customer_id": {"pattern": ""}}, "is required"),
        ({"currency": {"code": "XYZ"}}, "unknown currency 'XYZ'"),
        ({"currency": {"code": "JPY", "minor_units": 2}}, "JPY has 0 minor units"),
        ({"currency": {"code": "USD", "symbol": "12"}}, "no digits"),
        ({"order_number": {"prefix": "K(F"}}, "prefix"),
        ({"order_number": {"prefix": "-KF"}}, "must start with"),
        ({"order_number": {"prefix": "123"}}, "needs a letter"),
        ({"order_number": {"digits": 2}}, "from 4 to 24"),
        ({"order_number": {"digits": "11"}}, "from 4 to 24"),
        ({"order_number": {"dated": True, "digits": 6}}, "at least 8 digits"),
        ({"order_number": {"prefix": "", "digits": 6, "dated": False}}, "no prefix needs at least 8"),
        ({"order_number": {"separators": "*"}}, "separators"),
        ({"order_number": {"case": "upper"}}, "insensitive or exact"),
        ({"order_number": {"pattern": "KF.*"}}, "unknown field"),
        ({"colour": "red"}, "unknown field"),
        ({"cities": {"Shanghai": ["上海"]}}, "lower-case"),
        ({"cities": {"shanghai": []}}, "non-empty list"),
        ("KF", "expected a mapping"),
    ],
)
def test_a_bad_shop_section_is_refused_at_load(shop: Any, message: str) -> None:
    with pytest.raises(seller.ShopConfigError, match=message) as caught:
        seller.formats_from(shop, "catalogue.yml")
    assert str(caught.value).startswith("catalogue.yml: shop")


def test_a_bad_catalogue_file_stops_the_load_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.yml"
    path.write_text("shop:\n  customer_id: '(x+)+'\n", encoding="utf-8")
    with pytest.raises(seller.ShopConfigError, match=str(path)):
        seller.load({"KEFU_CATALOGUE": str(path)})
    path.write_text("- not: a mapping\n", encoding="utf-8")
    with pytest.raises(seller.ShopConfigError, match="mapping at the top"):
        seller.load({"KEFU_CATALOGUE": str(path)})
    path.write_text("shop: [unclosed\n", encoding="utf-8")
    with pytest.raises(seller.ShopConfigError, match="not valid YAML"):
        seller.load({"KEFU_CATALOGUE": str(path)})


def test_the_demo_data_loader_refuses_a_bad_shop_section(tmp_path: Path) -> None:
    import shutil

    from actions.store.demo_data import DEMO_DIR, DemoDataError, load_demo_data

    copy = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, copy)
    text = (copy / "catalogue.yml").read_text(encoding="utf-8")
    (copy / "catalogue.yml").write_text(text.replace("code: CNY", "code: ZZZ", 1), encoding="utf-8")
    with pytest.raises(DemoDataError, match="unknown currency 'ZZZ'"):
        load_demo_data(copy)


def test_huge_customer_ids_are_refused_without_matching() -> None:
    formats = seller.formats_from({"customer_id": r"[A-Z0-9]+"})
    assert formats.customer_id.matches("A" * seller.MAX_CUSTOMER_ID)
    assert not formats.customer_id.matches("A" * (seller.MAX_CUSTOMER_ID + 1))
    assert not formats.customer_id.matches("A" * 1_000_000)


def test_the_format_hint_shows_the_shops_own_example() -> None:
    from actions.orders import order_id_problem_text
    from kernel.i18n import text

    assert order_id_problem_text("not_found_in_text", "zh-Hans") == text("msg_order_id_invalid", "zh-Hans")  # demo
    assert "KF20261120001" in order_id_problem_text("too_long", "en")
    with seller.use(seller.formats_from(SELLER_SHOP)):
        for language in ("zh-Hans", "zh-Hant", "en"):
            hint = order_id_problem_text("not_found_in_text", language)
            assert "SO-00000001" in hint and "KF" not in hint, hint
            assert "SO-00000001" in order_id_problem_text("too_long", language)
        assert order_id_problem_text("ambiguous", "en") == text("msg_order_id_ambiguous", "en")
    dated = seller.formats_from({"order_number": {"prefix": "ORD", "digits": 12}})
    with seller.use(dated):
        assert "ORD202611200001" in order_id_problem_text(None, "en")


def test_the_order_number_prompt_in_the_domain_shows_the_sellers_example(seller_formats: seller.ShopFormats) -> None:
    """`make domain` writes the form's question with the seller's example; the demo's domain stays as committed."""
    from kernel import i18n

    catalog = i18n.load_catalog()
    asked = {v.get("condition", [{}])[0].get("value"): v["text"]
             for v in i18n.domain_responses(catalog)["utter_ask_order_id"]}
    assert asked["zh-Hans"] == "请告诉我您的订单号（例如 SO-00000001），我帮您查询。"
    assert asked["zh-Hant"] == "請告訴我您的訂單編號（例如 SO-00000001），我幫您查詢。"
    assert "for example SO-00000001" in asked["en"] and "KF" not in " ".join(asked.values())
    with seller.use(seller.DEMO):
        assert i18n.render_domain(catalog) == i18n.DOMAIN_RESPONSES.read_text(encoding="utf-8")


def test_the_business_threshold_is_said_in_the_shops_currency(seller_formats: seller.ShopFormats) -> None:
    from actions.presales.render import checkout_text

    assert "$5,000.00" in checkout_text(3, 20, 5000, "en") and "yuan" not in checkout_text(3, 20, 5000, "en")
    assert "$5,000.00 以上" in checkout_text(3, 20, 5000, "zh-Hans") and "元" not in checkout_text(3, 20, 5000, "zh-Hans")
    with seller.use(seller.DEMO):
        assert "5,000 元以上" in checkout_text(3, 20, 5000, "zh-Hans")
