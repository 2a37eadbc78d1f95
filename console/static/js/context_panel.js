// The context panel: everything the bot attached to the ticket, so the agent never asks the customer to repeat.
// Built with dom.el only: every value is text.
import { el } from "./dom.js";
import { clock } from "./format.js";
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
  return el("div", { class: "fact fact-order" },
    el("div", { class: "fact-head" }, el("strong", {}, `${t("order")} ${card.order_id ?? ""}`),
      el("span", { class: `badge badge-order-${card.status ?? ""}` }, card.status_label ?? card.status ?? "")),
    dl([
      [t("total"), money(card.amounts?.total)],
      [t("shipping"), [ship.carrier_label ?? ship.carrier, ship.tracking_number].filter(Boolean).join(" ") || ship.store || null],
      [t("expected_delivery"), ship.expected_delivery],
      [t("next_step"), card.next_step],
    ]),
    items.length ? el("ul", { class: "fact-items", "aria-label": t("items") }, items) : null);
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
