// The context panel: everything the bot attached to the ticket, so the agent never asks the customer to repeat.
// Built with dom.el only: every value is text.
import { el } from "./dom.js";
import { clock, shopTime } from "./format.js";
import { renderLeadCard } from "./lead_card.js";
import { actionWord, actorWord, channelName, faqTitle, languageName, slotName, tierWord, valueWord } from "./words.js";

/** "web-4f1c9a0b7d2e" -> "web-4f1c…7d2e": enough to tell conversations apart, not a full identifier. */
export function maskId(value) {
  const s = String(value ?? "");
  return s.length <= 12 ? s : `${s.slice(0, 8)}…${s.slice(-4)}`;
}

function section(title, id, ...body) {
  const content = body.flat().filter(Boolean);
  return el("section", { class: "ctx-section", dataset: { section: id } },
    el("h4", {}, title),
    content.length ? content : el("p", { class: "muted" }, "–"));
}

function dl(rows) {
  const items = rows.filter((r) => r && r[1] !== null && r[1] !== undefined && r[1] !== "");
  if (!items.length) return null;
  return el("dl", { class: "kv" }, items.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v instanceof Node ? v : String(v))]));
}

function scalar(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function money(m) {
  if (!m) return null;
  return typeof m === "object" ? m.text ?? (m.cents != null ? (m.cents / 100).toFixed(2) : null) : String(m);
}

function orderFact(card, ctx) {
  const { t } = ctx;
  const items = (card.items || []).map((it) => el("li", {},
    `${it.name ?? it.sku ?? ""}${it.variant ? ` (${it.variant})` : ""} × ${it.quantity ?? 1}${it.amount ? ` · ${money(it.amount)}` : ""}`));
  const ship = card.shipping || {};
  // on the widget the bot's text is one line and the card holds the facts: the agent sees the card's progress too,
  // timed in the shop's zone like the customer's card
  const progress = (Array.isArray(card.timeline) ? card.timeline : []).filter((s) => s && typeof s === "object")
    .map((s) => el("li", {}, [shopTime(s.at, ctx.lang, card.time_zone), s.note || s.label || s.status]
      .filter(Boolean).join(" ")));
  return el("div", { class: "fact fact-order" },
    el("div", { class: "fact-head" }, el("strong", {}, `${t("order")} ${card.order_id ?? ""}`),
      el("span", { class: `badge badge-order-${card.status ?? ""}` }, card.status_label ?? card.status ?? "")),
    dl([
      [t("total"), money(card.amounts?.total)],
      [t("shipping"), [ship.carrier_label ?? ship.carrier, ship.tracking_number].filter(Boolean).join(" ") || ship.store || null],
      [t("expected_delivery"), card.status && card.status !== "shipped" ? null : ship.expected_delivery],
      [t("deliver_to"), ship.address ?? null],
      [t("next_step"), card.next_step],
    ]),
    items.length ? el("ul", { class: "fact-items", "aria-label": t("items") }, items) : null,
    progress.length ? el("ul", { class: "fact-items fact-progress", "aria-label": t("progress") }, progress) : null);
}

function stockFact(card, ctx) {
  const { t } = ctx;
  const p = card.product || {};
  const stores = (card.stores || []).map((s) => el("li", { class: s.available ? "in-stock" : "no-stock" },
    `${s.name ?? s.id}: ${s.quantity ?? 0}`));
  return el("div", { class: "fact fact-stock" },
    el("div", { class: "fact-head" }, el("strong", {}, [p.name, p.variant].filter(Boolean).join(" · ") || t("product")),
      p.price?.text ? el("span", { class: "badge" }, p.price.text) : null),
    dl([[t("online_stock"), card.online ? String(card.online.quantity ?? (card.online.available ? "✓" : "0")) : null]]),
    stores.length ? el("ul", { class: "fact-items", "aria-label": t("stores") }, stores) : null);
}

function orderListFact(card, ctx) {
  const { t } = ctx;
  return el("div", { class: "fact" },
    el("div", { class: "fact-head" }, el("strong", {}, t("card_order_list"))),
    el("ul", { class: "fact-items" }, (card.orders || []).map((o) =>
      el("li", {}, `${o.order_id} · ${o.status_label ?? o.status ?? ""} · ${money(o.total) ?? ""}`))));
}

function genericFact(type, data) {
  const rows = Object.entries(data || {}).filter(([, v]) => v === null || typeof v !== "object").slice(0, 12);
  return el("div", { class: "fact" }, el("div", { class: "fact-head" }, el("strong", {}, String(type || "fact"))),
    dl(rows.map(([k, v]) => [k, scalar(v)])));
}

export function renderFact(fact, ctx) {
  const data = fact && typeof fact === "object" ? (fact.data && typeof fact.data === "object" ? fact.data : fact) : {};
  const card = data.kefu_card && typeof data.kefu_card === "object" ? data.kefu_card : data;
  const type = fact?.type || card.type;
  if (type === "order_status") return orderFact(card, ctx);
  if (type === "stock") return stockFact(card, ctx);
  if (type === "order_list") return orderListFact(card, ctx);
  return genericFact(type, card);
}

function sentimentNode(sentiment, ctx) {
  if (!sentiment || (sentiment.label == null && sentiment.score == null)) return null;
  const { label } = ctx;
  const score = Number(sentiment.score);
  return el("span", { class: `sentiment sentiment-${sentiment.label || "neutral"}` },
    sentiment.label ? label("sentiment", sentiment.label) : "",
    Number.isFinite(score) ? ` (${score.toFixed(2)})` : "");
}

// ------------------------------------------------------------------------------------ customer record
// One customer across channels (docs/console-ui.md, "Customer record"): the customer's earlier tickets, their
// conversations on every channel, recent orders and open leads, each one click away.

function stars(n) {
  const k = Math.max(0, Math.min(5, Number(n) || 0));
  return `${"★".repeat(k)}${"☆".repeat(5 - k)}`;
}

function viaWord(via, t) {
  return via ? t(`via_${via}`) : null;
}

async function fetchTranscript(customerId, senderId) {
  const path = `/api/customers/${encodeURIComponent(customerId)}/transcript?${new URLSearchParams({ sender_id: senderId })}`;
  const response = await fetch(path, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  if (!response.ok) throw new Error((data && data.message) || `HTTP ${response.status}`);
  return data.messages || [];
}

function transcriptBox(messages, ctx) {
  const { t, label, lang } = ctx;
  if (!messages.length) return el("p", { class: "muted" }, t("record_none"));
  return el("ol", { class: "record-transcript", "aria-label": t("record_transcript"), dataset: { testid: "record-transcript" } },
    messages.map((m) => el("li", { class: `rt-${m.author}` },
      el("span", { class: "rt-who" }, m.author === "agent" && m.agent ? m.agent : label("author", m.author)),
      el("time", { datetime: m.at || "" }, clock(m.at, lang)),
      el("span", { class: "rt-text" }, m.text || ""))));
}

function ticketRow(item, ctx) {
  const { t, label, lang } = ctx;
  const outcome = item.state === "closed" ? (ctx.resolutionName ? ctx.resolutionName(item.resolution) : item.resolution) : label("state", item.state);
  const parts = [
    el("span", { class: "rec-id" }, `#${item.id}`),
    el("span", { class: `badge badge-cat-${item.category}` }, label("category", item.category)),
    el("span", { class: "rec-outcome" }, outcome || label("state", item.state)),
    el("span", { class: "rec-csat", title: t("csat"), "aria-label": `${t("csat")} ${item.csat ?? "–"}` },
      item.csat ? stars(item.csat) : t("record_no_csat")),
    item.agent ? el("span", { class: "rec-agent" }, item.agent.display_name) : null,
    el("span", { class: "rec-channel" }, channelName(item.channel, lang)),
    el("time", { datetime: item.created_at || "" }, clock(item.created_at, lang)),
    item.current ? el("span", { class: "badge" }, t("record_this_ticket")) : null,
    !item.openable ? el("span", { class: "muted" }, t("record_other_team")) : null,
  ];
  const body = item.openable && !item.current && ctx.openTicket
    ? el("button", { type: "button", class: "rec-link", dataset: { testid: "record-ticket", ticketId: item.id },
      onclick: () => ctx.openTicket(item.id) }, parts)
    : el("div", { class: "rec-static", dataset: { testid: "record-ticket", ticketId: item.id } }, parts);
  return el("li", { class: "rec-item" }, body, item.summary && !item.current ? el("p", { class: "rec-summary" }, item.summary) : null);
}

function conversationRow(conv, customerId, ctx) {
  const { t, lang } = ctx;
  const holder = el("div", { class: "rec-transcript-holder" });
  const parts = [
    el("strong", {}, channelName(conv.channel, lang)),
    el("time", { datetime: conv.last_at || "" }, clock(conv.last_at, lang)),
    conv.user_messages != null ? el("span", { class: "muted" }, t("record_messages", { n: conv.user_messages })) : null,
    conv.verified_via ? el("span", { class: "badge badge-verified" }, viaWord(conv.verified_via, t)) : null,
    conv.current ? el("span", { class: "badge" }, t("record_this_conversation")) : null,
  ];
  let open = false;
  const toggle = async () => {
    open = !open;
    button.setAttribute("aria-expanded", String(open));
    if (!open) { holder.replaceChildren(); return; }
    holder.replaceChildren(el("p", { class: "muted" }, t("record_loading")));
    try {
      const messages = await fetchTranscript(customerId, conv.sender_id);
      if (open) holder.replaceChildren(transcriptBox(messages, ctx));
    } catch (err) {
      if (open) holder.replaceChildren(el("p", { class: "warn", role: "alert" }, t("record_transcript_error", { reason: err.message })));
    }
  };
  const button = customerId && !conv.current
    ? el("button", { type: "button", class: "rec-link", "aria-expanded": "false",
      dataset: { testid: "record-conversation", channel: conv.channel }, onclick: toggle }, parts)
    : null;
  return el("li", { class: "rec-item" },
    button || el("div", { class: "rec-static", dataset: { testid: "record-conversation", channel: conv.channel } }, parts),
    holder);
}

function orderRow(order, ctx) {
  const { t, lang } = ctx;
  const details = el("div", { class: "rec-order-detail", hidden: true },
    dl([
      [t("items"), (order.items || []).map((i) => `${i.name ?? ""}${i.variant ? ` (${i.variant})` : ""} × ${i.quantity ?? 1}`).join("；") || null],
      [t("shipping"), order.carrier],
      [t("expected_delivery"), order.expected_delivery],
      [t("record_seen"), clock(order.seen_at, lang)],
    ]));
  const button = el("button", { type: "button", class: "rec-link", "aria-expanded": "false", dataset: { testid: "record-order" },
    onclick: () => {
      details.hidden = !details.hidden;
      button.setAttribute("aria-expanded", String(!details.hidden));
    } },
  el("strong", {}, order.order_id),
  el("span", { class: `badge badge-order-${order.status ?? ""}` }, order.status_label ?? order.status ?? ""),
  order.total ? el("span", {}, order.total) : null,
  el("time", { datetime: order.created_at || "" }, clock(order.created_at, lang)));
  return el("li", { class: "rec-item" }, button, details);
}

function leadRow(lead, ctx) {
  const { t, lang } = ctx;
  const parts = [
    el("span", { class: `badge badge-lead-status-${lead.status}` }, t(`lead_status_${lead.status}`)),
    el("span", {}, `${lead.product || ""}${lead.quantity ? ` × ${lead.quantity}` : ""}`),
    lead.owner ? el("span", { class: "rec-agent" }, lead.owner.display_name) : null,
    el("time", { datetime: lead.created_at || "" }, clock(lead.created_at, lang)),
    lead.quote_overdue ? el("span", { class: "badge badge-quote-overdue" }, t("lead_quote_overdue")) : null,
  ];
  const body = lead.ticket_id && ctx.openTicket
    ? el("button", { type: "button", class: "rec-link", dataset: { testid: "record-lead" }, onclick: () => ctx.openTicket(lead.ticket_id) }, parts)
    : el("div", { class: "rec-static", dataset: { testid: "record-lead" } }, parts);
  return el("li", { class: "rec-item" }, body);
}

function recordList(title, id, items, render) {
  return el("div", { class: "rec-group", dataset: { group: id } },
    el("h5", {}, title, el("span", { class: "rec-count" }, ` ${items.length}`)),
    items.length ? el("ul", { class: "rec-list" }, items.map(render)) : el("p", { class: "muted" }, "–"));
}

/** The "Customer record" section of a ticket (``customer_history`` of the ticket detail). */
export function renderCustomerRecord(detail, ctx) {
  const { t } = ctx;
  const h = detail.customer_history;
  if (!h) return null;
  const customerId = h.customer_id;
  const conversations = h.conversations || [];
  return el("div", { class: "customer-record", dataset: { testid: "customer-record" } },
    detail.repeat_of ? el("p", { class: "rec-repeat", role: "note", dataset: { testid: "repeat-flag" } },
      el("span", { class: "badge badge-repeat" }, t("repeat_flag")), " ",
      ctx.openTicket
        ? el("button", { type: "button", class: "rec-link rec-inline", onclick: () => ctx.openTicket(detail.repeat_of) },
          t("repeat_of", { id: detail.repeat_of }))
        : t("repeat_of", { id: detail.repeat_of }),
      detail.preferred_agent ? ` · ${t("preferred_agent", { name: detail.preferred_agent.display_name })}` : null) : null,
    customerId
      ? dl([[t("customer_id"), customerId], [t("record_channels"), String(new Set(conversations.map((c) => c.channel)).size)]])
      : el("p", { class: "muted" }, t("record_unverified")),
    recordList(t("record_tickets"), "tickets", h.tickets || [], (item) => ticketRow(item, ctx)),
    recordList(t("record_conversations"), "conversations", conversations, (conv) => conversationRow(conv, customerId, ctx)),
    recordList(t("record_orders"), "orders", h.orders || [], (order) => orderRow(order, ctx)),
    recordList(t("record_leads"), "leads", h.leads || [], (lead) => leadRow(lead, ctx)));
}

export function renderContext(detail, ctx) {
  const { t, label, teamName, lang } = ctx;
  const c = detail.context || {};
  const customer = detail.customer || c.customer || {};
  const sentiment = detail.sentiment || c.sentiment;
  const intents = (c.intents || []).slice(-8).reverse();
  const slots = Object.entries(c.slots || {}).filter(([, v]) => v !== null && v !== undefined && v !== "" && !(Array.isArray(v) && !v.length));
  const facts = c.facts || [];
  const faqs = c.faq_candidates || [];
  const transitions = detail.transitions || [];

  const leadCard = ctx.onLead ? renderLeadCard(detail, ctx) : null;

  return el("div", { class: "ctx" },
    leadCard ? section(t("lead_card"), "lead", leadCard) : null,
    detail.customer_history ? section(t("customer_record"), "record", renderCustomerRecord(detail, ctx)) : null,
    section(t("summary"), "summary", detail.summary || c.summary ? el("p", { class: "summary" }, detail.summary || c.summary) : null),
    section(t("customer"), "customer", dl([
      [t("name"), customer.name || t("unknown_customer")],
      [t("tier"), customer.tier ? tierWord(customer.tier, lang) : null],
      [t("verified"), el("span", { class: customer.verified ? "ok" : "warn" }, customer.verified ? t("verified") : t("not_verified"))],
      [t("customer_id"), customer.id],
    ])),
    section(t("context"), "conversation", dl([
      [t("channel"), detail.channel ? channelName(detail.channel, lang) : null],
      [t("sender"), maskId(detail.sender_id)],
      [t("ui_language"), detail.language ? languageName(detail.language, lang) : null],
      [t("reason"), label("reason", detail.reason)],
      [t("category"), label("category", detail.category)],
      [t("team"), teamName(detail.team)],
      [t("priority"), `${detail.priority ?? 0}${detail.effective_priority != null ? ` → ${detail.effective_priority}` : ""}`],
      [t("trigger"), c.trigger],
      [t("sentiment"), sentimentNode(sentiment, ctx)],
      [t("csat"), detail.csat ? t("csat_value", { n: detail.csat.rating }) : null],
    ])),
    section(t("intents"), "intents", intents.length ? el("ul", { class: "intents" }, intents.map((it) => {
      const conf = Number(it.confidence);
      return el("li", {},
        el("span", { class: "intent-name" }, String(it.intent ?? it.name ?? "")),
        Number.isFinite(conf) ? el("meter", { min: "0", max: "1", value: String(conf), "aria-label": `${it.intent ?? ""} ${conf.toFixed(2)}` }) : null,
        el("span", { class: "intent-conf" }, Number.isFinite(conf) ? conf.toFixed(2) : ""),
        it.text ? el("span", { class: "intent-text" }, String(it.text)) : null);
    })) : null),
    section(t("slots"), "slots", slots.length ? dl(slots.map(([k, v]) => [slotName(k, lang), valueWord(v, lang)])) : null),
    section(t("facts"), "facts", facts.map((f) => renderFact(f, ctx))),
    section(t("faq_candidates"), "faq", faqs.length ? el("ul", { class: "faqs" }, faqs.map((f) => {
      if (typeof f !== "object" || f === null) return el("li", {}, String(f));
      const score = Number(f.score);
      return el("li", {}, faqTitle(f, lang), Number.isFinite(score) ? el("span", { class: "muted" }, ` ${score.toFixed(2)}`) : "");
    })) : null),
    section(t("history"), "history", transitions.length ? el("ol", { class: "history" }, transitions.map((tr) =>
      el("li", {}, el("time", { datetime: tr.at || "" }, clock(tr.at, lang)), " ",
        `${tr.from ? label("state", tr.from) : "·"} → ${label("state", tr.to)}`,
        el("span", { class: "muted" }, ` ${actionWord(tr.action, lang)} · ${actorWord(tr.actor, lang)}${tr.team ? ` · ${teamName(tr.team)}` : ""}`)))) : null),
  );
}
