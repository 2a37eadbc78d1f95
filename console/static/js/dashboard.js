// Supervisor dashboard: GET /api/metrics/dashboard (a window of days or a from/to date range, broken down by channel or
// language), /api/agents and /api/followups, drawn as SVG and tables; the CSV export is a plain download link.
import { ApiError, api, requireSession } from "./api.js";
import { el, replaceChildren } from "./dom.js";
import { clock, duration, percent } from "./format.js";
import { daily, donut, hbar, stacked, vbar } from "./charts.js";
import { LANGUAGE_NAMES, LANGUAGES, getLang, hasKey, t } from "./i18n.js";
import { errorText, initShell, toast } from "./shell.js";
import { channelName, languageName, productLineWord } from "./words.js";

const REASONS = ["complaint", "explicit_request", "presales", "repeated_misses", "negative_sentiment", "identity"];
const REASON_COLORS = { complaint: "#f04438", explicit_request: "#1f6feb", presales: "#7a5af8", repeated_misses: "#f79009", negative_sentiment: "#c11574", identity: "#0ba5ec" };
const CSAT_COLORS = { 1: "#f04438", 2: "#f79009", 3: "#fdb022", 4: "#66c61c", 5: "#12b76a" };

let last = null;
let followups = null; // GET /api/followups: low ratings waiting for a supervisor
let agents = null;
let kbEntries = null; // GET /api/kb/entries: what a group can be linked to
let learned = null; // GET /api/kb/learned: recent phrasings and drafted entries, and the rebuild's state
let rebuild = null;
let comments = null;
const drafting = new Set(); // groups whose "new entry" form is open: the periodic reload waits for them

function card(span, title, id, ...body) {
  return el("section", { class: `card span-${span}`, "aria-labelledby": `h-${id}`, dataset: { card: id } },
    el("h2", { id: `h-${id}` }, title), body);
}

function kpi(span, title, id, value, sub) {
  return card(span, title, id, el("div", { class: "kpi-value", dataset: { kpi: id } }, value), sub ? el("div", { class: "kpi-sub" }, sub) : null);
}

/** One row per day of the window (days without data count as zero), oldest first. */
export function fillDays(daily, window) {
  const byDate = new Map((daily || []).map((d) => [d.date, d]));
  const to = Date.parse(window?.last_day ? `${window.last_day}T00:00:00Z` : window?.to || ""); // a date range ends on its last day
  const n = Number(window?.days) || 0;
  if (!Number.isFinite(to) || n < 1 || n > 366) return daily || [];
  const out = [];
  for (let i = n - 1; i >= 0; i -= 1) {
    const date = new Date(to - i * 86400000).toISOString().slice(0, 10);
    out.push(byDate.get(date) || { date, conversations: 0, handoffs: 0, csat_average: null });
  }
  for (const d of daily || []) if (!out.some((x) => x.date === d.date)) out.push(d);
  return out.sort((a, b) => (a.date < b.date ? -1 : 1));
}

/** Presales leads (console/leads/metrics.py): how many, where from, how fast they were contacted and quoted. */
function presalesCards(p, lang) {
  if (!p) return [];
  const bars = (counts, word) => Object.entries(counts || {}).map(([k, v]) => ({ label: word(k, lang), value: v, display: String(v), color: "#7a5af8" }));
  const lines = bars(p.by_product_line, productLineWord);
  const channels = bars(p.by_channel, channelName);
  const fc = p.first_contact_seconds || {};
  const qs = p.quote_seconds || {};
  return [
    kpi(2, t("presales_leads"), "presales_leads", String(p.leads ?? 0),
      t("presales_with_lead", { n: p.presales_tickets_with_lead ?? 0, m: p.presales_tickets ?? 0 })),
    kpi(3, t("qualification_rate"), "qualification_rate", p.qualification_rate == null ? "—" : percent(p.qualification_rate),
      t("qualification_help", { n: p.checkouts ?? 0 })),
    kpi(2, t("median_first_contact"), "first_contact", duration(fc.median), t("samples_n", { n: fc.count || 0 })),
    kpi(2, t("median_time_to_quote"), "time_to_quote", duration(qs.median), t("samples_n", { n: qs.count || 0 })),
    kpi(3, t("leads_won_lost"), "won_lost", `${p.won ?? 0} / ${p.lost ?? 0}`, t("leads_won_lost_help")),
    card(6, t("leads_by_product_line"), "leads_by_line", lines.length ? hbar(lines, { ariaLabel: lines.map((r) => `${r.label} ${r.value}`).join(", ") }) : el("p", { class: "muted" }, t("no_data"))),
    card(6, t("leads_by_channel"), "leads_by_channel", channels.length ? hbar(channels, { ariaLabel: channels.map((r) => `${r.label} ${r.value}`).join(", ") }) : el("p", { class: "muted" }, t("no_data"))),
  ];
}

function reasonLabel(r) { return hasKey(`reason_${r}`) ? t(`reason_${r}`) : r; }

const fixed = (v, digits = 2) => (v == null ? "–" : Number(v).toFixed(digits));

/** A channel or language of the breakdown, in words. */
function sliceName(by, key, lang) {
  if (!key || key === "unknown") return t("value_unknown");
  return by === "language" ? languageName(key, lang) : channelName(key, lang);
}

/** The issue-23 measures (console/dashboard.py): FCR, repeat contacts, answer helpfulness, bot CSAT, CES, follow-ups. */
function serviceCards(s) {
  if (!s) return [];
  const fcr = s.fcr || {};
  const rep = s.repeat_contact || {};
  const helpful = s.answer_helpful || {};
  return [
    kpi(2, t("fcr_rate"), "fcr", percent(fcr.rate), t("fcr_help", { n: fcr.resolved_first ?? 0, m: fcr.tickets ?? 0 })),
    kpi(2, t("repeat_rate"), "repeat", percent(rep.rate), t("repeat_help", { n: rep.repeated ?? 0, m: rep.contacts ?? 0 })),
    kpi(2, t("answer_helpful"), "helpful", percent(helpful.rate), t("votes_n", { n: helpful.votes ?? 0 })),
    kpi(2, t("bot_csat"), "bot_csat", fixed(s.bot_csat?.average), t("ratings_n", { n: s.bot_csat?.count ?? 0 })),
    kpi(2, t("ces_average"), "ces", fixed(s.ces?.average), t("ces_help", { n: s.ces?.count ?? 0 })),
    kpi(2, t("follow_ups"), "follow_ups", String(s.follow_ups ?? 0), t("follow_ups_help")),
  ];
}

/** One row per channel (or language) with every figure; the same numbers as the CSV export. */
function breakdownTable(b, lang) {
  const rows = (b && b.rows) || [];
  if (!rows.length) return el("p", { class: "muted" }, t("no_data"));
  const heads = [b.by === "language" ? t("ui_language") : t("channel"), t("conversations"), t("containment_rate"),
    t("faq_answer_rate"), t("answer_helpful"), t("bot_csat"), t("ces_average"), t("agent_csat"), t("fcr_rate"),
    t("repeat_rate"), t("follow_ups"), t("median_first_response"), t("median_handle")];
  return el("table", { class: "data", id: "breakdown", dataset: { by: b.by } },
    el("thead", {}, el("tr", {}, heads.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.map((r) => el("tr", { dataset: { key: r.key } },
      el("th", { scope: "row" }, sliceName(b.by, r.key, lang)),
      el("td", { class: "num" }, String(r.conversations)),
      el("td", { class: "num" }, percent(r.containment_rate)),
      el("td", { class: "num" }, percent(r.faq?.answer_rate)),
      el("td", { class: "num" }, `${percent(r.answer_helpful?.rate)} (${r.answer_helpful?.votes ?? 0})`),
      el("td", { class: "num" }, `${fixed(r.bot_csat?.average)} (${r.bot_csat?.count ?? 0})`),
      el("td", { class: "num" }, `${fixed(r.ces?.average)} (${r.ces?.count ?? 0})`),
      el("td", { class: "num" }, `${fixed(r.agent_csat?.average)} (${r.agent_csat?.count ?? 0})`),
      el("td", { class: "num" }, `${percent(r.fcr?.rate)} (${r.fcr?.resolved_first ?? 0}/${r.fcr?.tickets ?? 0})`),
      el("td", { class: "num" }, `${percent(r.repeat_contact?.rate)} (${r.repeat_contact?.repeated ?? 0}/${r.repeat_contact?.contacts ?? 0})`),
      el("td", { class: "num" }, String(r.follow_ups ?? 0)),
      el("td", { class: "num" }, duration(r.first_response_seconds?.median)),
      el("td", { class: "num" }, duration(r.handle_seconds?.median))))));
}

/** Tickets a low rating reopened: open the ticket, write what was done, mark it done. */
function followupList(list, lang) {
  if (!list) return el("p", { class: "muted" }, t("no_data"));
  if (!list.length) return el("p", { class: "muted" }, t("followups_none"));
  return el("ul", { class: "history followups" }, list.map((f) => {
    const note = el("input", { type: "text", maxlength: 2000, placeholder: t("followup_note"), "aria-label": t("followup_note"), dataset: { role: "note" } });
    return el("li", { dataset: { followup: f.id, ticket: f.ticket_id } },
      el("a", { href: `/console#ticket=${encodeURIComponent(f.ticket_id)}` }, t("followup_ticket", { id: f.ticket_id })), " · ",
      t("followup_rated", { n: f.rating, agent: f.ticket?.agent || "–", t: clock(f.ticket?.closed_at, lang, 0) }), " · ",
      `${channelName(f.ticket?.channel, lang)} · ${languageName(f.ticket?.language, lang)}`,
      f.ticket?.summary ? el("div", { class: "kpi-sub" }, f.ticket.summary) : null,
      el("div", { class: "review-controls" }, note,
        el("button", { type: "button", class: "primary", dataset: { action: "followup-done" }, onclick: () => act(() => {
          if (!note.value.trim()) throw new Error(t("followup_write_note"));
          return api.followupDone(f.id, note.value.trim());
        }, () => t("followup_done_ok")) }, t("followup_done"))));
  }));
}

function render(m) {
  const lang = getLang();
  $window().textContent = m.window ? t("range_days", { a: m.window.first_day, b: m.window.last_day, n: m.window.days }) : "";
  const faq = m.faq || {};
  const csat = m.csat || { distribution: {} };
  const byReasonRate = m.handoff_rate_by_reason || {};
  const byReason = m.handoffs_by_reason || {};
  const reasons = [...new Set([...REASONS, ...Object.keys(byReason)])];
  const fr = m.first_response_seconds || {};
  const hd = m.handle_seconds || {};
  const queue = m.queue || {};
  const unanswered = m.unanswered || { available: false, reason: "" };

  const containment = m.containment_rate;
  const days = fillDays(m.daily, m.window);
  const faqParts = [
    { label: t("faq_answered"), value: faq.answered || 0, color: "#12b76a" },
    { label: t("faq_clarify"), value: faq.clarify || 0, color: "#fdb022" },
    { label: t("faq_no_answer"), value: faq.no_answer || 0, color: "#f04438" },
  ];
  const csatRows = [1, 2, 3, 4, 5].map((n) => ({ label: `${n}★`, value: (csat.distribution || {})[String(n)] || 0, color: CSAT_COLORS[n] }));

  const cards = [
    card(3, t("containment_rate"), "containment",
      el("div", { class: "donut-wrap" }, donut(containment, { label: percent(containment), ariaLabel: `${t("containment_rate")} ${percent(containment)}` })),
      el("div", { class: "kpi-sub" }, t("containment_help")),
      el("div", { class: "kpi-sub", dataset: { kpi: "containment" } }, `${t("conversations")} ${m.conversations ?? 0} · ${t("handed_off")} ${m.handed_off ?? 0}`)),
    card(3, t("faq_answer_rate"), "faq",
      el("div", { class: "kpi-value", dataset: { kpi: "faq_rate" } }, percent(faq.answer_rate)),
      stacked(faqParts, { ariaLabel: faqParts.map((p) => `${p.label} ${p.value}`).join(", ") }),
      el("div", { class: "legend" }, faqParts.map((p) => el("span", {}, el("i", { style: `background:${p.color}` }), `${p.label} ${p.value}`)))),
    kpi(2, t("median_first_response"), "first_response", duration(fr.median), t("samples_n", { n: fr.count || 0 })),
    kpi(2, t("median_handle"), "handle", duration(hd.median), t("samples_n", { n: hd.count || 0 })),
    kpi(2, t("agent_csat"), "csat_avg", csat.average != null ? Number(csat.average).toFixed(2) : "–", t("ratings_n", { n: csat.count || 0 })),
    card(6, t("handoff_by_reason"), "by_reason",
      hbar(reasons.map((r) => ({ label: reasonLabel(r), value: byReasonRate[r] || 0, display: `${percent(byReasonRate[r] || 0)} (${byReason[r] || 0})`, color: REASON_COLORS[r] })),
        { ariaLabel: reasons.map((r) => `${reasonLabel(r)} ${percent(byReasonRate[r] || 0)}`).join(", ") })),
    card(3, t("csat_distribution"), "csat_dist",
      vbar(csatRows, { ariaLabel: csatRows.map((r, i) => `${i + 1}: ${r.value}`).join(", ") })),
    comments ? card(6, t("csat_comments"), "csat_comments", comments.length
      ? el("ul", { class: "history" }, comments.map((c) => el("li", { dataset: { testid: "csat-comment" } },
        el("span", { "aria-label": t("csat_value", { n: c.rating }) }, `${"★".repeat(c.rating)}${"☆".repeat(5 - c.rating)} `),
        String(c.comment || ""),
        el("span", { class: "muted" }, ` · ${c.ticket_id ? `#${c.ticket_id}` : t("bot_csat")} · ${clock(new Date(c.created_at * 1000).toISOString(), lang)}`))))
      : el("p", { class: "muted" }, t("csat_comments_none"))) : null,
    card(3, t("queue_now"), "queue",
      el("div", { class: "kpi-value" }, t("queued_n", { n: queue.queued ?? 0 })),
      el("div", { class: "kpi-sub" }, t("assigned_n", { n: queue.assigned ?? 0 })),
      el("div", { class: "kpi-sub" }, t("oldest_wait", { t: duration(queue.oldest_wait_seconds ?? 0) })),
      agents ? el("ul", { class: "history", "aria-label": t("agents") }, agents.map((a) =>
        el("li", {}, el("span", { class: a.online ? "ok" : "muted" }, a.online ? "● " : "○ "),
          `${a.display_name} · ${a.online ? t("online") : t("offline")} · ${t("open_tickets_n", { n: a.open_tickets ?? 0 })}`))) : null),
    card(12, t("daily"), "daily",
      days.length ? [
        daily(days, [{ key: "conversations", color: "#1f6feb" }, { key: "handoffs", color: "#f04438" }],
          { width: Math.max(480, (document.getElementById("dash").clientWidth || 1200) - 40), ariaLabel: days.map((d) => `${d.date}: ${d.conversations}/${d.handoffs}`).join(", ") }),
        el("div", { class: "legend" },
          el("span", {}, el("i", { style: "background:#1f6feb" }), t("conversations")),
          el("span", {}, el("i", { style: "background:#f04438" }), t("handed_off"))),
      ] : el("p", { class: "muted" }, t("no_data"))),
    ...serviceCards(m.measures),
    card(12, t("breakdown_title"), "breakdown", breakdownTable(m.breakdown, lang)),
    card(12, t("followups_title"), "followups", followupList(followups, lang)),
    ...presalesCards(m.presales, lang),
    card(12, t("unanswered"), "unanswered", unansweredTable(unanswered)),
  ];
  replaceChildren(document.getElementById("dash"), cards);
}

function unansweredTable(u) {
  if (!u.available) return el("p", { class: "notice" }, t("unanswered_unavailable", { m: u.reason || "" }));
  const groups = u.groups || [];
  const status = el("p", { id: "kb-status", class: "muted", role: "status", "aria-live": "polite" });
  showRebuild(status, rebuild);
  const list = el("datalist", { id: "kb-entries" }, (kbEntries || []).map((e) =>
    el("option", { value: e.id }, `${e.id} · ${e.title[getLang()] || e.title["zh-Hans"] || Object.values(e.title)[0] || ""}`)));
  const table = groups.length ? el("table", { class: "data" },
    el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, t("question")), el("th", { scope: "col" }, t("count")),
      el("th", { scope: "col" }, t("examples")), el("th", { scope: "col" }, t("last_seen")),
      el("th", { scope: "col" }, t("review")))),
    el("tbody", {}, groups.map((g, i) => el("tr", { dataset: { group: i } },
      el("td", {}, String(g.question ?? "")),
      el("td", { class: "num" }, String(g.count ?? 0)),
      el("td", {}, el("ul", { class: "examples" }, (g.examples || []).slice(0, 4).map((x) => el("li", {}, String(x))))),
      el("td", {}, clock(g.last_seen, getLang(), 0)),
      el("td", { class: "review" }, reviewControls(g, i))))))
    : el("p", { class: "muted" }, t("unanswered_none"));
  return [status, list, table, learnedList()];
}

/** Link to an entry (the bot's first candidate proposed), draft a new entry, or dismiss: one group's row ids. */
function reviewControls(g, i) {
  const ids = g.row_ids || [];
  const entry = el("input", { type: "text", list: "kb-entries", value: (g.candidates || [])[0] || "", "aria-label": t("link_to_entry"), dataset: { role: "entry" }, autocomplete: "off" });
  const answer = el("textarea", { rows: 3, maxlength: 4000, "aria-label": t("answer_text"), dataset: { role: "answer" } });
  const lang = el("select", { "aria-label": t("answer_language"), dataset: { role: "answer-lang" } },
    LANGUAGES.map((l) => el("option", { value: l, selected: l === getLang() }, LANGUAGE_NAMES[l])));
  const newId = el("input", { type: "text", maxlength: 128, placeholder: t("entry_id_optional"), "aria-label": t("entry_id_optional"), dataset: { role: "new-id" } });
  const form = el("div", { class: "draft", hidden: true, dataset: { role: "draft" } }, answer, lang, newId,
    el("button", { type: "button", class: "primary", dataset: { action: "create" }, onclick: () => act(() => {
      if (!answer.value.trim()) throw new Error(t("write_answer"));
      return api.kbDraft(ids, { [lang.value]: answer.value }, newId.value.trim() || null);
    }, (r) => t("learn_drafted", { id: r.entry_id })) }, t("create_entry")),
    el("button", { type: "button", onclick: () => { form.hidden = true; drafting.delete(i); } }, t("cancel")));
  return el("div", { class: "review-controls" },
    entry,
    el("button", { type: "button", class: "primary", dataset: { action: "link" }, onclick: () => act(() => {
      if (!entry.value.trim()) throw new Error(t("choose_entry"));
      return api.kbLink(ids, entry.value.trim());
    }, (r) => t("learn_linked", { id: r.entry_id, n: r.phrasings_added })) }, t("link")),
    el("button", { type: "button", dataset: { action: "new" }, onclick: () => { form.hidden = false; drafting.add(i); answer.focus(); } }, t("new_entry")),
    el("button", { type: "button", dataset: { action: "dismiss" }, onclick: () => act(() => api.kbDismiss(ids), (r) => t("learn_dismissed", { n: r.dismissed })) }, t("dismiss")),
    form);
}

function learnedList() {
  const items = [
    ...(learned?.entries || []).map((e) => el("li", {}, `${e.entry_id} · ${Object.values(e.questions || {}).flat()[0] || ""} `,
      el("button", { type: "button", class: "link", onclick: () => act(() => api.kbRemoveEntry(e.entry_id), () => t("learn_removed")) }, t("undo")))),
    ...(learned?.phrasings || []).map((p) => el("li", {}, `${p.text} → ${p.entry_id} `,
      el("button", { type: "button", class: "link", onclick: () => act(() => api.kbRemovePhrasing(p.id), () => t("learn_removed")) }, t("undo")))),
  ];
  return el("details", { class: "learned" }, el("summary", {}, t("learned_recent")),
    items.length ? el("ul", { class: "history" }, items) : el("p", { class: "muted" }, t("learned_none")));
}

function showRebuild(node, r) {
  if (!node || !r) return;
  if (r.state === "building") node.textContent = t("kb_building");
  else if (r.state === "failed") node.textContent = t("kb_failed", { m: r.error || "" });
  else if (r.version) node.textContent = t("kb_updated", { t: clock(r.finished_at, getLang(), 0), n: r.entries ?? "?" });
  else node.textContent = "";
  node.dataset.state = r.state || "idle";
}

/** Run a review action, say what it did, reload the list and follow the rebuild until it is done. */
async function act(call, message) {
  let result;
  try {
    result = await call();
  } catch (err) {
    toast(err instanceof ApiError ? errorText(err) : String(err.message || err), "error");
    return;
  }
  drafting.clear();
  toast(message(result));
  if (result && result.rebuild) rebuild = result.rebuild;
  await load();
  followRebuild();
}

let following = false;
async function followRebuild() {
  if (following) return;
  following = true;
  try {
    while (rebuild && rebuild.state === "building") {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      try {
        learned = await api.kbLearned();
        rebuild = learned.rebuild;
      } catch (_) { break; }
      showRebuild(document.getElementById("kb-status"), rebuild);
    }
    if (last) render(last);
  } finally {
    following = false;
  }
}

function $window() { return document.getElementById("window"); }

/** The request's window and breakdown: the chosen number of days, or the from/to dates of "custom dates". */
export function rangeParams(days, from, to, by) {
  const params = days === "custom" ? { ...(from ? { from } : {}), ...(to ? { to } : {}) } : { days: days || "7" };
  if (days === "custom" && !from && !to) params.days = "7";
  return { ...params, by: by || "channel" };
}

function currentParams() {
  const value = (id) => document.getElementById(id).value;
  return rangeParams(value("days"), value("from"), value("to"), value("by"));
}

async function load(periodic = false) {
  if (periodic && (drafting.size || document.activeElement?.closest?.("[data-card='unanswered'], [data-card='followups']"))) return; // never wipe a review in progress
  const params = currentParams();
  document.getElementById("export").href = `/api/metrics/dashboard.csv?${new URLSearchParams(params)}`;
  const error = document.getElementById("dash-error");
  error.hidden = true;
  try {
    const [metrics, agentList, entryList, learnedNow, followupList] = await Promise.all([api.dashboard(params), api.agents().catch(() => null),
      api.kbEntries().catch(() => null), api.kbLearned().catch(() => null), api.followups().catch(() => null)]);
    const commented = await api.csatComments(Math.min(366, Number(params.days) || 30)).catch(() => null);
    comments = commented ? commented.comments : null; // the web widget's words after a rating
    last = metrics;
    followups = followupList ? followupList.followups : null;
    agents = agentList ? agentList.agents : null;
    kbEntries = entryList ? entryList.entries : kbEntries;
    if (learnedNow) { learned = learnedNow; rebuild = learned.rebuild; }
    render(metrics);
    document.body.dataset.ready = "1";
  } catch (err) {
    error.textContent = err.status === 403 ? t("supervisors_only") : errorText(err);
    error.hidden = false;
    document.body.dataset.ready = "1";
  }
}

async function init() {
  const agent = await requireSession();
  initShell(agent);
  document.getElementById("nav-dashboard").hidden = false;
  const days = document.getElementById("days");
  const from = document.getElementById("from");
  const to = document.getElementById("to");
  const nameDays = () => { for (const option of days.options) if (option.value !== "custom") option.textContent = t("days_n", { n: option.value }); };
  nameDays();
  days.addEventListener("change", () => {
    if (days.value !== "custom") { from.value = ""; to.value = ""; }
    load();
  });
  for (const input of [from, to]) {
    input.addEventListener("change", () => {
      days.value = "custom";
      if (from.value && to.value) load(); // one date alone waits for the other (or for Refresh: a week from it)
    });
  }
  document.getElementById("by").addEventListener("change", () => load());
  document.getElementById("refresh").addEventListener("click", () => load());
  document.addEventListener("kefu:lang", () => {
    nameDays();
    if (last) render(last);
  });
  await load();
  setInterval(() => load(true), 30000);
  followRebuild();
}

init().catch((err) => toast(errorText(err), "error"));
