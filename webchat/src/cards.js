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
  const shipping = data.shipping && typeof data.shipping === "object" ? data.shipping : {};
  const amounts = data.amounts && typeof data.amounts === "object" ? data.amounts : {};
  rows(dl, [
    [t.total, amounts.total || data.total],
    [t.shipping, shipping.carrier_label || shipping.carrier],
    [t.tracking, shipping.tracking_number],
    [t.expected, shipping.expected_delivery],
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
      const when = scalar(step.at) ? new Date(step.at) : null;
      const stamp = when && !isNaN(when) ? when.toLocaleString() : scalar(step.at) || "";
      ul.append(el("li", null, [stamp, scalar(step.label) || scalar(step.status), scalar(step.note)].filter(Boolean).join(" · ")));
    }
    card.append(ul);
  }
  if (scalar(data.next_step)) {
    const dl2 = el("dl");
    rows(dl2, [[t.next_step, data.next_step]]);
    card.append(dl2);
  }
}

function stock(card, data, t) {
  const product = data.product && typeof data.product === "object" ? data.product : {};
  header(card, `${t.card_stock} · ${[scalar(product.name), scalar(product.variant)].filter(Boolean).join(" ") || ""}`, product.price);
  const dl = el("dl");
  const online = data.online && typeof data.online === "object" ? data.online : null;
  if (online) {
    dl.append(el("dt", null, t.online));
    const dd = el("dd", online.available ? "ok" : "no", online.available ? `${t.in_stock}${scalar(online.quantity) ? ` (${online.quantity})` : ""}` : t.out_of_stock);
    dl.append(dd);
  }
  rows(dl, [["SKU", product.sku]]);
  if (dl.childNodes.length) card.append(dl);
  const stores = Array.isArray(data.stores) ? data.stores : [];
  if (stores.length) {
    card.append(el("div", null, t.stores));
    const ul = el("ul");
    for (const s of stores) {
      if (!s || typeof s !== "object") continue;
      const li = el("li");
      li.append(el("span", null, `${scalar(s.name) || ""}${scalar(s.hours) ? ` (${s.hours})` : ""}: `));
      li.append(el("span", s.available ? "ok" : "no", s.available ? `${t.in_stock}${scalar(s.quantity) ? ` ${s.quantity}` : ""}` : t.out_of_stock));
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
