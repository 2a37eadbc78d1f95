"""The presales desk's words: the lead's summary, stock, qualification, the hand-over and the quote status.

Pure functions from values to text (``kernel.i18n`` texts in ``bot/responses/presales.yml``): the actions send them.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Dict, List, Mapping, Optional, Sequence

from kernel import seller
from kernel.i18n import text as t
from kernel.i18n import to_script

#: The lead's fields in the order the summary lists them, with their label key.
SUMMARY_FIELDS = ("type", "product", "quantity", "customisation", "cities", "needed_by", "company", "contact")


def _date_text(iso: str, language: str) -> str:
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    if language == "en":
        return day.strftime("%d %b %Y").lstrip("0")
    return f"{day.year}年{day.month}月{day.day}日"


def contact_text(need: Mapping[str, Any], language: str) -> str:
    """How sales will reach the customer, masked as the customer sees it echoed: "王 138****5678"."""
    from actions.identity import mask_phone

    parts = []
    if need.get("contact_name"):
        parts.append(str(need["contact_name"]))
    if need.get("phone"):
        parts.append(mask_phone(str(need["phone"])))
    if need.get("email"):
        parts.append(mask_email(str(need["email"])))
    if need.get("wechat"):
        parts.append(("WeChat " if language == "en" else "微信 ") + mask_middle(str(need["wechat"])))
    return " ".join(parts) if parts else t("msg_presales_value_here", language)


def mask_middle(value: str) -> str:
    if len(value) <= 4:
        return value[:1] + "***"
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def mask_email(value: str) -> str:
    name, _, domain = value.partition("@")
    return (name[:1] + "***@" + domain) if domain else mask_middle(value)


def field_value(name: str, need: Mapping[str, Any], language: str) -> Optional[str]:
    """The summary's value for one field; None when the customer did not speak of it at all."""
    skipped = set(need.get("skipped") or ())
    nothing = set(need.get("none") or ())
    if name == "type":
        return t("msg_presales_value_sample", language) if need.get("lead_type") == "sample" else None
    if name == "contact":
        if any(need.get(k) for k in ("phone", "email", "wechat", "contact_name")):
            return contact_text(need, language)
        return t("msg_presales_value_here", language) if "contact" in skipped else None
    key = {"product": "product_name"}.get(name, name)
    value = need.get(key) or (need.get("product_query") if name == "product" else None)
    if value:
        if name == "quantity":
            return t("msg_presales_units", language, quantity=value)
        if name == "cities":
            return ("、" if language != "en" else ", ").join(to_script(str(c), language) for c in value)
        if name == "needed_by":
            return _date_text(str(value), language)
        if name == "product" and need.get("product_name"):  # the catalogue's name, in the customer's script
            return to_script(str(value), language)
        return str(value)
    if name in nothing:
        return t("msg_presales_value_none", language)
    if name in skipped:
        return t("msg_presales_value_skipped", language)
    return None


def summary(need: Mapping[str, Any], language: str) -> str:
    lines = []
    for name in SUMMARY_FIELDS:
        value = field_value(name, need, language)
        if value is not None:
            lines.append(t("msg_presales_line", language, label=t(f"msg_presales_label_{name}", language),
                           value=value))
    return t("msg_presales_summary", language, lines="\n".join(lines))


def stock_text(product: str, quantity: int, available: Optional[int], short: int, days: int, language: str) -> str:
    if available is None:
        return t("msg_presales_stock_unknown", language)
    if available <= 0:
        return t("msg_presales_stock_none", language, product=product, quantity=quantity, days=days)
    if short > 0:
        return t("msg_presales_stock_partial", language, product=product, available=available, short=short,
                 days=days)
    return t("msg_presales_stock_enough", language, product=product, available=available, quantity=quantity)


def checkout_text(quantity: int, bulk_quantity: int, bulk_value_yuan: int, language: str) -> str:
    """Why a small order goes to the shop. ``bulk_value_yuan`` is the threshold in the shop currency's major unit:
    the demo says "5,000 元"; a shop in another currency gets the amount with its own symbol ("$5,000.00")."""
    currency = seller.current().currency
    if currency == seller.DEMO.currency:
        return t("msg_presales_checkout", language, quantity=quantity, bulk_quantity=bulk_quantity,
                 bulk_value=f"{bulk_value_yuan:,}")
    return t("msg_presales_checkout_shop", language, quantity=quantity, bulk_quantity=bulk_quantity,
             bulk_money=currency.format(currency.from_major(bulk_value_yuan)))


def sla_text(hours: int, language: str) -> str:
    """The quote SLA as the shop words it: whole days of 24 hours are working days ("1 个工作日")."""
    if hours % 24 == 0:
        return t("msg_presales_sla_days", language, days=hours // 24, plural="" if hours == 24 else "s")
    return t("msg_presales_sla_hours", language, hours=hours)


def handed_text(need: Mapping[str, Any], priority: str, sla_hours: int, queue: Optional[Mapping[str, Any]],
                language: str) -> str:
    contact = contact_text(need, language)
    words = t(f"msg_presales_priority_{priority}", language)
    sla = sla_text(sla_hours, language)
    if queue is not None and not queue.get("staffed", True) and queue.get("opens"):
        return t("msg_presales_handed_offhours", language, priority=words, opens=queue["opens"], contact=contact,
                 sla=sla)
    return t("msg_presales_handed", language, priority=words, sla=sla, contact=contact)


def _when(lead: Mapping[str, Any], language: str) -> str:
    stamp = None
    for key in ("closed_at", "quoted_at", "contacted_at", "created_at"):
        if lead.get(key):
            stamp = lead[key]
            break
    if stamp is None:
        return ""
    try:
        moment = datetime.fromtimestamp(float(stamp), timezone.utc) if isinstance(stamp, (int, float)) else \
            datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return str(stamp)
    return _date_text(moment.date().isoformat(), language)


def quote_status_text(leads: Sequence[Mapping[str, Any]], language: str) -> str:
    if not leads:
        return t("msg_quote_status_none", language)
    lines: List[str] = [t("msg_quote_status_header", language)]
    for lead in leads[:5]:
        product = str(lead.get("product") or "").strip()
        what = product or t("msg_presales_label_product", language)
        if lead.get("quantity"):
            what += " × " + str(lead["quantity"])
        if lead.get("type") == "sample":
            what = t("msg_presales_value_sample", language) + " " + what
        status = str(lead.get("status") or "new")
        if status not in ("new", "contacted", "quoted", "won", "lost"):
            status = "new"
        lines.append(t("msg_quote_status_line", language, what=what, status=t(f"msg_quote_status_{status}", language),
                       when=_when(lead, language)))
    return "\n".join(lines)


def lead_payload(need: Mapping[str, Any], *, lead_id: str, priority: str, value_cents: Optional[int],
                 stock_available: Optional[int], stock_note: str, language: str,
                 quote_promised_hours: Optional[int] = None) -> Dict[str, Any]:
    """The ``kernel.leads`` JSON for the intake's state; ``quote_promised_hours`` is the quote time the customer
    is told (``handed_text``), which the console then holds the lead to."""
    return {
        "quote_promised_hours": quote_promised_hours,
        "lead_id": lead_id,
        "type": "sample" if need.get("lead_type") == "sample" else "quote",
        "product": str(need.get("product_name") or need.get("product_query") or "")[:200],
        "product_id": need.get("product_id"),
        "sku": need.get("sku"),
        "product_line": need.get("product_line"),
        "quantity": need.get("quantity"),
        "customisation": str(need.get("customisation") or "")[:500],
        "cities": [str(c)[:64] for c in (need.get("cities") or [])][:20],
        "region": need.get("region"),
        "needed_by": need.get("needed_by"),
        "company": str(need.get("company") or "")[:200],
        "contact_name": str(need.get("contact_name") or "")[:100],
        "phone": str(need.get("phone") or "")[:32],
        "email": str(need.get("email") or "")[:254],
        "wechat": str(need.get("wechat") or "")[:64],
        "priority": priority,
        "unit_price_cents": need.get("unit_price_cents"),
        "value_cents": value_cents,
        "stock_available": stock_available,
        "stock_note": stock_note[:500],
        "skipped": [s for s in (need.get("skipped") or []) if isinstance(s, str)][:17],
        "notes": [str(n)[:2000] for n in (need.get("notes") or [])][-30:],
        "language": language,
    }
