// Rich cards from the actions' custom payloads ({"kefu_card": {type, ...}}; docs/cards.md).
// Every value goes through textContent; unknown or missing fields are skipped, never fatal.

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function scalar(value) {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "object") {
    if (typeof value.text === "string") return value.text; // money {cents, text}
    return null;
  }
  return String(value);
}

function rows(dl, pairs) {
  for (const [label, value] of pairs) {
    const shown = scalar(value);
    if (shown === null) continue;
    dl.append(el("dt", null, label), el("dd", null, shown));
  }
}

// Times on cards are the shop's, never the browser's: the card names its zone (`time_zone`, the zone of the bot's
// text); cards saved before it did are in the shop's zone too.
export const SHOP_TIME_ZONE = "Asia/Shanghai";

function parts(date, options) {
  const out = {};
  for (const p of new Intl.DateTimeFormat("en-US", options).formatToParts(date)) out[p.type] = p.value;
  return out;
}

/** An instant as the bot's text writes it, in `zone`: "11-18 07:40" (Chinese) or "Nov 18 07:40" (English). */
export function shopTime(iso, language, zone) {
  const when = typeof iso === "string" ? new Date(iso) : null;
  if (!when || isNaN(when)) return null;
  const en = language === "en";
  const options = (timeZone) => ({ timeZone, month: en ? "short" : "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", hourCycle: "h23" });
  let p;
  try {
    p = parts(when, options(zone || SHOP_TIME_ZONE));
  } catch (error) {
    p = parts(when, options(SHOP_TIME_ZONE)); // an unknown zone name
  }
  return `${p.month}${en ? " " : "-"}${p.day} ${p.hour}:${p.minute}`;
}

/**
 * When a chat message was sent (Unix seconds), in the shop's zone: "18:30" on the shop's today, else as the cards
 * write it ("11-20 18:30", "Nov 20 18:30"). Null for a missing or bad time.
 */
export function messageTime(seconds, language, zone, now = Date.now()) {
  if (typeof seconds !== "number" || !isFinite(seconds) || seconds <= 0) return null;
  const when = new Date(seconds * 1000);
  let day;
  let p;
  try {
    day = (d) => parts(d, { timeZone: zone || SHOP_TIME_ZONE, year: "numeric", month: "2-digit", day: "2-digit" });
    p = parts(when, { timeZone: zone || SHOP_TIME_ZONE, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  } catch (error) {
    return messageTime(seconds, language, SHOP_TIME_ZONE, now); // an unknown zone name
  }
  const a = day(when);
  const b = day(new Date(now));
  if (a.year === b.year && a.month === b.month && a.day === b.day) return `${p.hour}:${p.minute}`;
  return shopTime(when.toISOString(), language, zone || SHOP_TIME_ZONE);
}

/** A calendar date ("2026-11-21") as the bot's text writes it: "11月21日" or "Nov 21". No zone: it is a date. */
export function shopDate(value, language) {
  const m = typeof value === "string" ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(value) : null;
  if (!m) return scalar(value);
  const [month, day] = [Number(m[2]), Number(m[3])];
  if (language !== "en") return `${month}月${day}日`;
  const p = parts(new Date(Date.UTC(Number(m[1]), month - 1, day)), { timeZone: "UTC", month: "short", day: "2-digit" });
  return `${p.month} ${p.day}`;
}

/** The next-step sentence without a leading "下一步：" (cards saved before the bot sent the sentence alone). */
function withoutLabel(value, label) {
  const sentence = scalar(value);
  if (sentence === null) return null;
  for (const prefix of [label, "下一步", "Next step"]) {
    if (!prefix) continue;
    const rest = sentence.startsWith(prefix) ? sentence.slice(prefix.length) : null;
    if (rest !== null && /^\s*[：:]/.test(rest)) return rest.replace(/^\s*[：:]\s*/, "") || null;
  }
  return sentence;
}

function header(card, title, pill) {
  const h = el("h3");
  h.append(el("span", null, title));
  if (scalar(pill)) h.append(el("span", "pill", scalar(pill)));
  card.append(h);
}

function orderStatus(card, data, t) {
  header(card, `${t.card_order}${data.order_id ? ` · ${data.order_id}` : ""}`, data.status_label || data.status);
  const items = Array.isArray(data.items) ? data.items : [];
  if (items.length) {
    const ul = el("ul");
    for (const item of items) {
      if (!item || typeof item !== "object") continue;
      const name = [scalar(item.name), scalar(item.variant)].filter(Boolean).join(" · ");
      const qty = scalar(item.quantity);
      const amount = scalar(item.amount);
      ul.append(el("li", null, [name || scalar(item.sku) || "", qty ? `× ${qty}` : "", amount || ""].filter(Boolean).join("  ")));
    }
    card.append(ul);
  }
  const dl = el("dl");
  const language = data.language;
  const shipping = data.shipping && typeof data.shipping === "object" ? data.shipping : {};
  const amounts = data.amounts && typeof data.amounts === "object" ? data.amounts : {};
  const discount = amounts.discount && typeof amounts.discount === "object" ? amounts.discount : null;
  const onItsWay = !data.status || data.status === "shipped"; // an expected date only while the parcel travels
  rows(dl, [
    [t.discount, discount && Number(discount.cents) > 0 && scalar(discount) ? `-${scalar(discount)}` : null],
    [t.total, amounts.total || data.total],
    [t.shipping, shipping.carrier_label || shipping.carrier],
    [t.tracking, shipping.tracking_number],
    [t.expected, onItsWay ? shopDate(shipping.expected_delivery, language) : null],
    [t.store, shipping.store],
    [t.recipient, [scalar(shipping.recipient), scalar(shipping.phone)].filter(Boolean).join(" ") || null],
    [t.address, shipping.address],
  ]);
  if (dl.childNodes.length) card.append(dl);
  const timeline = Array.isArray(data.timeline) ? data.timeline : [];
  if (timeline.length) {
    const ul = el("ul", "timeline");
    for (const step of timeline.slice(-4)) {
      if (!step || typeof step !== "object") continue;
      const stamp = shopTime(step.at, language, data.time_zone) || scalar(step.at);
      // what happened, as the text says it: the note ("已从上海嘉定仓发出"), else the status label; never both
      // when they say the same ("已签收 · 已签收")
      const what = scalar(step.note) || scalar(step.label) || scalar(step.status);
      ul.append(el("li", null, [stamp, what].filter(Boolean).join(" · ")));
    }
    card.append(ul);
  }
  const next = withoutLabel(data.next_step, t.next_step);
  if (next) {
    const dl2 = el("dl");
    rows(dl2, [[t.next_step, next]]);
    card.append(dl2);
  }
}

function stock(card, data, t) {
  const product = data.product && typeof data.product === "object" ? data.product : {};
  header(card, `${t.card_stock} · ${[scalar(product.name), scalar(product.variant)].filter(Boolean).join(" ") || ""}`, product.price);
  const dl = el("dl");
  // quantities in the bot's words (`quantity_text`: "有货（8 件）", "仅剩 2 件", "暂无"), the same as the text beside
  const amount = (x) => scalar(x.quantity_text)
    || (x.available ? `${t.in_stock}${scalar(x.quantity) ? ` (${x.quantity})` : ""}` : t.out_of_stock);
  const online = data.online && typeof data.online === "object" ? data.online : null;
  if (online) {
    dl.append(el("dt", null, t.online));
    dl.append(el("dd", online.available ? "ok" : "no", amount(online)));
  }
  rows(dl, [["SKU", product.sku]]);
  if (dl.childNodes.length) card.append(dl);
  // the stores the text names: the customer's city first, then the ones elsewhere that have it
  const stores = (Array.isArray(data.stores) ? data.stores : []).filter((s) => s && typeof s === "object");
  const city = scalar(data.city_label) || scalar(data.city);
  const inCity = stores.filter((s) => s.in_city === true);
  const elsewhere = stores.filter((s) => s.in_city !== true);
  const otherTitle = data.city && data.city !== "online" && scalar(data.city_label) ? t.stores_other : t.stores;
  for (const [title, group, where] of [[city ? t.stores_in(city) : t.stores, inCity, "city"], [otherTitle, elsewhere, "other"]]) {
    if (!group.length) continue;
    card.append(el("div", "stores-title", title));
    const ul = el("ul");
    ul.dataset.stores = where;
    for (const s of group) {
      const li = el("li");
      li.append(el("span", null, `${scalar(s.name) || ""}${scalar(s.hours) ? ` (${s.hours})` : ""}: `));
      li.append(el("span", s.available ? "ok" : "no", amount(s)));
      ul.append(li);
    }
    card.append(ul);
  }
}

function orderList(card, data, t) {
  header(card, t.card_orders);
  const ul = el("ul");
  for (const o of Array.isArray(data.orders) ? data.orders : []) {
    if (!o || typeof o !== "object") continue;
    ul.append(el("li", null, [scalar(o.order_id), scalar(o.status_label) || scalar(o.status), scalar(o.total)].filter(Boolean).join(" · ")));
  }
  if (ul.childNodes.length) card.append(ul);
}

function coupons(card, data, t) {
  header(card, t.card_coupons);
  const ul = el("ul");
  for (const c of Array.isArray(data.coupons) ? data.coupons : []) {
    if (!c || typeof c !== "object") continue;
    ul.append(el("li", null, [scalar(c.title), scalar(c.code), scalar(c.valid_until)].filter(Boolean).join(" · ")));
  }
  if (ul.childNodes.length) card.append(ul);
}

function generic(card, data, t) {
  header(card, t.card_card);
  const dl = el("dl");
  rows(dl, Object.entries(data).filter(([k, v]) => !["type", "version", "language", "actions"].includes(k) && typeof v !== "object"));
  if (dl.childNodes.length) card.append(dl);
}

const RENDERERS = { order_status: orderStatus, stock, order_list: orderList, coupons };

/** A card element for a kefu_card payload, or null when there is nothing to show. */
export function renderCard(data, t) {
  if (!data || typeof data !== "object") return null;
  const card = el("div", "card");
  card.setAttribute("role", "group");
  card.dataset.cardType = String(data.type || "card");
  try {
    (RENDERERS[data.type] || generic)(card, data, t);
  } catch (error) {
    card.textContent = "";
    generic(card, data, t);
  }
  const label = card.querySelector("h3");
  if (label) card.setAttribute("aria-label", label.textContent);
  return card.childNodes.length ? card : null;
}

/** The buttons a card offers (`actions`), as quick replies. */
export function cardActions(data) {
  if (!data || !Array.isArray(data.actions)) return [];
  return data.actions.filter((b) => b && typeof b === "object" && (b.title || b.payload));
}
