// The agent inbox: live queue (SSE), ticket view with transcript, context panel, composer and actions.
// Every piece of server text is inserted as text (dom.el / textContent), never as HTML.
import { api, requireSession } from "./api.js";
import { el, clear, replaceChildren } from "./dom.js";
import {
  FILTER_PARAMS, clock, compareTickets, duration, fillCanned, matchesFilter, parseTime, shownText, slaState,
} from "./format.js";
import { getLang, hasKey, pick, t } from "./i18n.js";
import { askDialog, confirmDialog, errorText, initShell, toast } from "./shell.js";
import { renderContext } from "./context_panel.js";
import { attachmentNode, widgetSection } from "./attachments.js";
import { LiveStream } from "./stream.js";
import { initPresence, onPresenceEvent, presenceWord, refreshPresence } from "./presence.js";
import { focusSearch, initSearch } from "./search.js";
import { initShortcuts } from "./shortcuts.js";
import { initCannedSuggest } from "./canned_suggest.js";

const state = {
  agent: null,
  config: null,
  canned: [],
  filter: "open",
  tickets: new Map(), // id -> Ticket summary
  selectedId: null,
  detail: null, // TicketDetail of the selected ticket
  mode: "reply",
  busy: false,
  notify: false, // opt-in desktop notification + sound on a customer message on my tickets
  roster: new Map(), // supervisors: agent id -> presence, capacity and load (GET /api/presence/agents)
};
const NOTIFY_KEY = "kefu.console.notify";

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------------------------- helpers
function label(prefix, value) {
  const key = `${prefix}_${value}`;
  return hasKey(key) ? t(key) : String(value ?? "");
}

function teamName(id) {
  const team = (state.config?.teams || []).find((x) => x.id === id);
  return team ? pick(team.name) : String(id ?? "");
}

function resolutionName(id) {
  const r = (state.config?.resolutions || []).find((x) => x.id === id);
  return r ? pick(r.name) : String(id ?? "");
}

function customerName(ticket) {
  return ticket.customer?.name || t("unknown_customer");
}

function inScope(ticket) {
  const a = state.agent;
  if (a.role === "supervisor") return true;
  if (ticket.assignee && ticket.assignee.id === a.id) return true;
  return (a.teams || []).includes(ticket.team);
}

function canAct(ticket) {
  return state.agent.role === "supervisor" || Boolean(ticket.assignee && ticket.assignee.id === state.agent.id);
}

function isMine(ticket) {
  return ticket.state === "assigned" && Boolean(ticket.assignee && ticket.assignee.id === state.agent.id);
}

function isOpen(ticket) {
  return ticket.state === "queued" || ticket.state === "assigned";
}

function slaChip(part, kind) {
  if (!part) return null;
  const title = t(kind === "first" ? "sla_first_response" : "sla_resolve");
  let text;
  let cls = "sla";
  if (part.met) {
    text = part.overdue ? t("sla_overdue", { t: duration(-part.remaining) }) : t("sla_met");
    cls += part.overdue ? " sla-overdue sla-done" : " sla-ok sla-done";
  } else if (part.overdue) {
    text = t("sla_overdue", { t: duration(-part.remaining) });
    cls += " sla-overdue";
  } else {
    text = t("sla_left", { t: duration(part.remaining) });
    cls += part.remaining < 15 ? " sla-warn" : " sla-ok";
  }
  return el("span", { class: cls, dataset: { sla: kind } }, `${title} · ${text}`);
}

// ---------------------------------------------------------------------------------------------- queue
function visibleTickets() {
  return [...state.tickets.values()]
    .filter((tk) => matchesFilter(tk, state.filter, state.agent.id))
    .sort((a, b) => (Number(isMine(b)) - Number(isMine(a))) || compareTickets(a, b)); // my tickets pinned on top
}

function queueItem(ticket, now) {
  const sla = slaState(ticket, state.config?.sla, now);
  const selected = ticket.id === state.selectedId;
  const waitedFrom = parseTime(ticket.created_at);
  const waiting = ticket.state === "queued" && waitedFrom !== null ? (now - waitedFrom) / 1000 : null;
  const last = ticket.last_message;
  const mine = isMine(ticket);
  const unread = mine ? ticket.unread || 0 : 0;
  const button = el("button", {
    type: "button",
    class: `queue-item state-${ticket.state} cat-${ticket.category}${sla.overdue ? " overdue" : ""}${selected ? " selected" : ""}${mine ? " mine" : ""}${unread ? " unread" : ""}`,
    "aria-current": selected ? "true" : null,
    dataset: { ticketId: ticket.id },
    onclick: () => selectTicket(ticket.id, true),
  },
  el("span", { class: "qi-top" },
    mine ? el("span", { class: "qi-pin" }, t("mine_pinned")) : null,
    el("span", { class: "qi-name" }, customerName(ticket)),
    unread ? el("span", { class: "qi-unread", "aria-label": t("unread_count", { n: unread }) }, String(unread)) : null,
    el("span", { class: `badge badge-state-${ticket.state}` }, label("state", ticket.state))),
  el("span", { class: "qi-mid" },
    el("span", { class: `badge badge-cat-${ticket.category}` }, label("category", ticket.category)),
    el("span", { class: "badge", title: t("team") }, `→ ${teamName(ticket.team)}`),
    ticket.customer?.tier ? el("span", { class: "badge badge-tier" }, ticket.customer.tier) : null,
    ticket.lead?.quote_overdue ? el("span", { class: "badge badge-quote-overdue", dataset: { testid: "quote-overdue" } }, t("lead_quote_overdue")) : null,
    ticket.repeat_of ? el("span", { class: "badge badge-repeat", title: t("repeat_of", { id: ticket.repeat_of }), dataset: { testid: "repeat" } }, t("repeat_short")) : null,
    el("span", { class: "qi-prio", title: t("priority") }, t("priority_short", { n: ticket.effective_priority ?? ticket.priority ?? 0 }))),
  el("span", { class: "qi-last" }, last ? `${label("author", last.author)}: ${last.text}` : ticket.summary || ""),
  el("span", { class: "qi-bottom" },
    waiting !== null ? el("span", { class: "qi-wait", dataset: { waitFrom: waitedFrom } }, t("waiting_for", { t: duration(waiting) })) : null,
    ticket.assignee ? el("span", { class: "qi-assignee" }, t("claimed_by", { name: ticket.assignee.display_name })) : null,
    el("span", { class: "qi-sla" }, slaChip(sla.first, "first"), slaChip(sla.resolve, "resolve"))));
  return el("li", {}, button);
}

function renderQueue() {
  const list = $("queue-list");
  const focusedId = document.activeElement?.closest?.(".queue-item")?.dataset.ticketId;
  const now = Date.now();
  const items = visibleTickets();
  replaceChildren(list, items.map((tk) => queueItem(tk, now)));
  $("queue-empty").hidden = items.length > 0;
  $("queue-empty").textContent = t("queue_empty");
  const waiting = [...state.tickets.values()].filter((tk) => tk.state === "queued").length;
  $("queue-count").textContent = String(items.length);
  $("queue-count").setAttribute("aria-label", t("queue_count", { n: items.length }));
  const unread = [...state.tickets.values()].filter(isMine).reduce((n, tk) => n + (tk.unread || 0), 0);
  document.title = `${unread ? `${t("unread_title", { n: unread })} · ` : ""}${waiting ? `(${waiting}) ` : ""}Kefu · ${t("app_name")}`;
  if (focusedId) list.querySelector(`[data-ticket-id="${CSS.escape(focusedId)}"]`)?.focus();
}

/** Refresh the timers of the queue and the open ticket in place (no re-render: keeps focus and scroll). */
function tick() {
  const now = Date.now();
  for (const node of document.querySelectorAll("#queue-list .queue-item")) {
    const ticket = state.tickets.get(Number(node.dataset.ticketId));
    if (!ticket) continue;
    const wait = node.querySelector(".qi-wait");
    if (wait) wait.textContent = t("waiting_for", { t: duration((now - Number(wait.dataset.waitFrom)) / 1000) });
    const sla = slaState(ticket, state.config?.sla, now);
    replaceChildren(node.querySelector(".qi-sla"), slaChip(sla.first, "first"), slaChip(sla.resolve, "resolve"));
    node.classList.toggle("overdue", sla.overdue);
  }
  if (state.detail) renderSla();
}

async function loadQueue() {
  const params = { ...FILTER_PARAMS[state.filter] };
  const [open, extra] = await Promise.all([
    api.tickets({ state: "open" }),
    state.filter === "closed" || state.filter === "mine" ? api.tickets(params) : Promise.resolve({ tickets: [] }),
  ]);
  const fresh = new Map();
  for (const tk of [...open.tickets, ...extra.tickets]) fresh.set(tk.id, tk);
  // keep the selected ticket even when it fell out of the lists
  if (state.selectedId && state.tickets.has(state.selectedId) && !fresh.has(state.selectedId)) {
    fresh.set(state.selectedId, state.tickets.get(state.selectedId));
  }
  state.tickets = fresh;
  renderQueue();
}

function upsertTicket(ticket) {
  if (!inScope(ticket)) {
    state.tickets.delete(ticket.id);
    if (state.selectedId === ticket.id) {
      toast(t("ticket_gone"));
      deselect();
    }
    return false;
  }
  const previous = state.tickets.get(ticket.id);
  // events may arrive out of order with a fetch: keep the newest
  if (previous && parseTime(previous.updated_at) > parseTime(ticket.updated_at)) return true;
  // the live events every agent receives carry no per-agent unread count: keep ours
  if (ticket.unread === undefined) ticket.unread = previous ? previous.unread || 0 : 0;
  state.tickets.set(ticket.id, ticket);
  if (state.detail && state.detail.id === ticket.id) {
    // a list row or live event carries the lead's summary only: the open card keeps the whole lead, and a summary
    // that differs from it makes the ticket.updated handler fetch the lead again
    const { lead: _summary, ...rest } = ticket;
    Object.assign(state.detail, rest);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------- ticket view
function deselect() {
  state.selectedId = null;
  state.detail = null;
  $("ticket").hidden = true;
  $("ticket-empty").hidden = false;
  history.replaceState(null, "", "/console");
  renderQueue();
}

async function selectTicket(id, focusPane = false) {
  state.selectedId = id;
  history.replaceState(null, "", `/console#ticket=${id}`);
  renderQueue();
  try {
    state.detail = await api.ticket(id);
  } catch (err) {
    toast(errorText(err), "error");
    if (err.status === 404 || err.status === 403) deselect();
    return;
  }
  if (state.selectedId !== id) return;
  upsertTicket(state.detail);
  if (!document.hidden) markSeen(id);
  renderTicket(true);
  renderQueue();
  if (focusPane) $("ticket-title").focus();
}

function renderTicket(scrollToEnd = false) {
  const d = state.detail;
  if (!d) return;
  $("ticket-empty").hidden = true;
  $("ticket").hidden = false;
  const title = $("ticket-title");
  title.tabIndex = -1;
  title.textContent = `${customerName(d)} · ${t("ticket_title", { id: d.id })}`;
  replaceChildren($("ticket-badges"),
    el("span", { class: `badge badge-state-${d.state}`, dataset: { testid: "ticket-state" } }, label("state", d.state)),
    el("span", { class: `badge badge-cat-${d.category}` }, label("category", d.category)),
    el("span", { class: "badge", title: t("team") }, `${t("team")} · ${teamName(d.team)}`),
    el("span", { class: "badge", title: t("ui_language") }, d.language),
    el("span", { class: "badge" }, d.channel),
    d.assignee ? el("span", { class: "badge badge-assignee" }, t("claimed_by", { name: d.assignee.display_name })) : null,
    !d.assignee && d.preferred_agent ? el("span", { class: "badge badge-preferred", dataset: { testid: "preferred-agent" } },
      t("preferred_agent", { name: d.preferred_agent.display_name })) : null,
    d.resolution ? el("span", { class: "badge" }, resolutionName(d.resolution)) : null,
    d.csat ? el("span", { class: "badge badge-csat" }, `${t("csat")} ${"★".repeat(d.csat.rating)}${"☆".repeat(5 - d.csat.rating)}`) : null);
  renderSla();
  renderActions();
  renderTranscript(scrollToEnd);
  renderComposer();
  replaceChildren($("context"), renderContext(d, { label, teamName, t, lang: getLang(), onLead, rerender: () => renderTicket(),
    resolutionName, openTicket: (id) => selectTicket(id, true) }));
  $("context").prepend(widgetSection(d, t, getLang(), () => renderTicket())); // from the web widget (attachments.js)
}

/** A lead the agent just edited or moved (the server's answer): the card shows it at once. */
function onLead(lead) {
  if (!state.detail || !state.detail.lead || state.detail.lead.lead_id !== lead.lead_id) return;
  state.detail.lead = lead;
  renderTicket();
}

/** The lead summary of a live ticket event differs from the open card: someone else changed it. */
function leadChanged(summary, lead) {
  if (!summary && !lead) return false;
  if (!summary || !lead) return true;
  return summary.lead_id !== lead.lead_id || summary.status !== lead.status || summary.quantity !== lead.quantity
    || summary.priority !== lead.priority || summary.product !== lead.product;
}

function renderSla() {
  const d = state.detail;
  const sla = slaState(d, state.config?.sla, Date.now());
  replaceChildren($("ticket-sla"), slaChip(sla.first, "first"), slaChip(sla.resolve, "resolve"));
}

function renderActions() {
  const d = state.detail;
  const open = isOpen(d);
  $("btn-claim").hidden = d.state !== "queued";
  $("grp-transfer").hidden = !open;
  $("btn-return").hidden = !open;
  $("grp-close").hidden = !(d.state === "assigned");
  $("btn-close").disabled = !canAct(d);
  $("close-resolution").disabled = !canAct(d);
  // no team is chosen for the agent: the first option says "transfer to…", and the button waits for a choice
  const teams = $("transfer-team");
  const current = teams.value;
  replaceChildren(teams, el("option", { value: "" }, t("transfer_pick")), (state.config?.teams || [])
    .filter((x) => x.id !== d.team).map((x) => el("option", { value: x.id }, pick(x.name))));
  teams.value = [...teams.options].some((o) => o.value === current) ? current : "";
  $("btn-transfer").disabled = !teams.value;
  renderAssign(d, open);
  const res = $("close-resolution");
  const chosen = res.value;
  replaceChildren(res, (state.config?.resolutions || []).map((x) => el("option", { value: x.id }, pick(x.name))));
  if (chosen) res.value = chosen;
}

/** Supervisors: reassign the open ticket to an agent of its team (presence and load beside each name). */
function renderAssign(d, open) {
  const group = $("grp-assign");
  group.hidden = !(open && state.agent.role === "supervisor");
  if (group.hidden) return;
  const select = $("assign-agent");
  const chosen = select.value;
  const agents = [...state.roster.values()]
    .filter((a) => a.teams.includes(d.team) && a.id !== d.assignee?.id)
    .sort((a, b) => (a.presence === "online" ? 0 : 1) - (b.presence === "online" ? 0 : 1) || a.display_name.localeCompare(b.display_name));
  replaceChildren(select, el("option", { value: "" }, t("assign_pick")), agents.map((a) => el("option", { value: a.username },
    t("assign_option", { name: a.display_name, p: presenceWord(a.presence), n: a.open_tickets, cap: a.capacity }))));
  select.value = [...select.options].some((o) => o.value === chosen) ? chosen : "";
  $("btn-assign").disabled = !select.value;
}

async function loadRoster() {
  if (state.agent.role !== "supervisor") return;
  try {
    const answer = await api.presenceAgents();
    state.roster = new Map(answer.agents.map((a) => [a.id, a]));
    if (state.detail) renderActions();
  } catch (_) { /* the assign list stays as it was; the next presence event refreshes it */ }
}

function messageExtras(message) {
  const out = [attachmentNode(message, t)]; // a photo or file from the web widget (attachments.js)
  const data = message.data || {};
  const custom = data.custom || {};
  const card = custom.kefu_card;
  if (card && typeof card === "object") {
    const kind = hasKey(`card_${card.type}`) ? t(`card_${card.type}`) : t("card_other");
    let detail = "";
    if (card.type === "order_status") detail = [card.order_id, card.status_label || card.status].filter(Boolean).join(" · ");
    else if (card.type === "stock") detail = [card.product?.name, card.product?.variant, card.city].filter(Boolean).join(" · ");
    else if (card.type === "order_list") detail = (card.orders || []).map((o) => o.order_id).join(", ");
    out.push(el("div", { class: "msg-card" }, el("strong", {}, kind), detail ? ` ${detail}` : ""));
  }
  const buttons = Array.isArray(data.buttons) ? data.buttons : Array.isArray(data.quick_replies) ? data.quick_replies : [];
  if (buttons.length) {
    out.push(el("div", { class: "msg-buttons" }, t("buttons_offered"),
      buttons.map((b) => el("span", { class: "chip" }, String(b.title ?? b.payload ?? "")))));
  }
  if (message.delivered === false) {
    out.push(el("div", { class: "msg-undelivered", role: "status" },
      `⚠ ${t("undelivered", { reason: undeliveredReason(message.delivery) })}`));
  }
  return out;
}

// Why the customer's channel refused a message (WeChat's 48-hour window, unfollowed): errcode → text.
export function undeliveredReason(delivery) {
  const code = String(delivery?.errcode ?? "");
  if (hasKey(`undelivered_${code}`)) return t(`undelivered_${code}`);
  return t("undelivered_other", { code: code || "?" });
}

function authorLabel(message) {
  if (message.author === "agent") {
    return `${t("author_agent")}${message.agent?.display_name ? ` · ${message.agent.display_name}` : ""}`;
  }
  return label("author", message.author);
}

function messageNode(message) {
  const notice = message.author === "system" || (message.author !== "customer" && message.data?.custom?.kefu_event
    && message.data.custom.kefu_event.type !== "agent_message");
  return el("li", {
    class: `msg msg-${message.author}${notice ? " msg-notice" : ""}`,
    dataset: { messageId: message.id, author: message.author },
  },
  el("div", { class: "msg-meta" },
    el("span", { class: "msg-author" }, authorLabel(message)),
    el("time", { datetime: message.created_at || "" }, clock(message.created_at, getLang()))),
  el("div", { class: "msg-text" }, shownText(message, state.detail?.messages || [])),
  messageExtras(message));
}

function noteNode(note) {
  return el("li", { class: "msg msg-note", dataset: { noteId: note.id } },
    el("div", { class: "msg-meta" },
      el("span", { class: "msg-author" }, `${t("internal_note")} · ${note.agent?.display_name || ""}`),
      el("time", { datetime: note.created_at || "" }, clock(note.created_at, getLang()))),
    el("div", { class: "msg-text" }, note.text || ""));
}

function timeline(detail) {
  const rows = [];
  let index = 0;
  for (const m of detail.messages || []) rows.push({ kind: "message", at: parseTime(m.created_at) ?? 0, index: index++, item: m });
  for (const n of detail.notes || []) rows.push({ kind: "note", at: parseTime(n.created_at) ?? 0, index: index++, item: n });
  // messages keep the server's order; notes slot in by time
  rows.sort((a, b) => (a.kind === "message" && b.kind === "message" ? a.index - b.index : a.at - b.at || a.index - b.index));
  return rows;
}

function renderTranscript(scrollToEnd) {
  const list = $("transcript");
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const nodes = [];
  let sawTranscript = false;
  let dividerDone = false;
  for (const row of timeline(state.detail)) {
    if (row.kind === "message" && row.item.source === "transcript") sawTranscript = true;
    if (row.kind === "message" && row.item.source === "transcript" && !nodes.length) {
      nodes.push(el("li", { class: "divider" }, t("before_handoff")));
    }
    if (sawTranscript && !dividerDone && row.kind === "message" && row.item.source !== "transcript") {
      dividerDone = true;
      nodes.push(el("li", { class: "divider divider-live" }, label("state", "queued"),
        " · ", clock(state.detail.created_at, getLang())));
    }
    nodes.push(row.kind === "note" ? noteNode(row.item) : messageNode(row.item));
  }
  replaceChildren(list, nodes);
  if (scrollToEnd || nearBottom) list.scrollTop = list.scrollHeight;
}

function appendToDetail(kind, item) {
  const d = state.detail;
  const key = kind === "note" ? "notes" : "messages";
  d[key] = d[key] || [];
  if (d[key].some((x) => x.id === item.id)) return false;
  d[key].push(item);
  return true;
}

// ---------------------------------------------------------------------------------------------- composer
function cannedText(entry, lang) {
  const text = entry.text || {};
  return fillCanned(text[lang] || text["zh-Hans"] || text.en || "", state.agent.display_name);
}

function renderComposer() {
  const d = state.detail;
  const replyMode = state.mode === "reply";
  for (const tab of document.querySelectorAll(".composer-tabs .tab")) {
    const on = tab.dataset.mode === state.mode;
    tab.setAttribute("aria-selected", on ? "true" : "false");
    tab.tabIndex = on ? 0 : -1;
  }
  const form = $("composer");
  form.classList.toggle("mode-note", !replyMode);
  const text = $("composer-text");
  text.placeholder = t(replyMode ? "reply_placeholder" : "note_placeholder");
  $("composer-label").textContent = t(replyMode ? "reply" : "note");
  $("composer-send").textContent = t(replyMode ? "send" : "save_note");
  let hint = "";
  let allowed = true;
  if (replyMode) {
    if (d.state === "queued") { hint = t("claim_to_reply"); allowed = false; }
    else if (!isOpen(d)) { hint = t("read_only"); allowed = false; }
    else if (!canAct(d)) { hint = t("not_yours", { name: d.assignee?.display_name || "?" }); allowed = false; }
  }
  $("composer-hint").hidden = !hint;
  $("composer-hint").textContent = hint;
  text.disabled = !allowed;
  $("composer-send").disabled = !allowed || state.busy;
  $("canned").disabled = !allowed || !replyMode;
  const canned = $("canned");
  replaceChildren(canned, el("option", { value: "" }, t("canned_pick")),
    state.canned.map((c) => el("option", { value: c.id }, pick(c.title))));
  updateCount();
}

function updateCount() {
  const max = state.config?.max_message_chars || 4000;
  const length = $("composer-text").value.length;
  const node = $("composer-count");
  node.textContent = length > max ? t("too_long", { n: max }) : t("chars_left", { n: max - length });
  node.classList.toggle("over", length > max);
}

async function submitComposer() {
  const d = state.detail;
  const box = $("composer-text");
  const text = box.value.trim();
  if (!d || !text || state.busy || box.disabled) return;
  state.busy = true;
  $("composer-send").disabled = true;
  try {
    if (state.mode === "reply") {
      const result = await api.reply(d.id, text);
      if (state.detail?.id === d.id && appendToDetail("message", result.message)) renderTranscript(true);
      if (result.delivered === false) toast(t("undelivered_toast", { reason: undeliveredReason(result.delivery) }), "error");
    } else {
      const result = await api.note(d.id, text);
      if (state.detail?.id === d.id && appendToDetail("note", result.note)) renderTranscript(true);
      toast(t("note_ok"));
    }
    box.value = "";
  } catch (err) {
    toast(errorText(err), "error");
    if (err.status === 409) await selectTicket(d.id);
  } finally {
    state.busy = false;
    if (state.detail) renderComposer();
    box.focus();
  }
}

// ---------------------------------------------------------------------------------------------- actions
async function runAction(fn, okMessage) {
  const d = state.detail;
  if (!d || state.busy) return;
  state.busy = true;
  for (const b of document.querySelectorAll(".ticket-actions button")) b.disabled = true;
  try {
    const detail = await fn(d);
    if (detail && detail.id === state.selectedId) {
      state.detail = { customer_history: d.customer_history, ...detail }; // an action's answer has no customer record
      upsertTicket(detail);
      if (!inScope(detail)) return;
      renderTicket();
      renderQueue();
    }
    if (detail && detail.delivered === false) {
      toast(t("undelivered_toast", { reason: undeliveredReason(detail.delivery) }), "error");
    } else {
      toast(okMessage(detail));
    }
  } catch (err) {
    toast(errorText(err), "error");
    if (err.status === 409 || err.status === 403) await selectTicket(d.id);
  } finally {
    state.busy = false;
    for (const b of document.querySelectorAll(".ticket-actions button")) b.disabled = false;
    if (state.detail) { renderActions(); renderComposer(); }
  }
}

function bindActions() {
  $("btn-claim").addEventListener("click", () => runAction(async (d) => {
    const detail = await api.claim(d.id);
    state.mode = "reply";
    setTimeout(() => $("composer-text").focus(), 0);
    return detail;
  }, () => t("claimed_ok")));
  $("transfer-team").addEventListener("change", () => { $("btn-transfer").disabled = !$("transfer-team").value; });
  $("assign-agent").addEventListener("change", () => { $("btn-assign").disabled = !$("assign-agent").value; });
  $("btn-assign").addEventListener("click", async () => {
    const username = $("assign-agent").value;
    const target = [...state.roster.values()].find((a) => a.username === username);
    if (!target || !(await confirmDialog(t("assign_confirm", { name: target.display_name })))) return;
    runAction((d) => api.assign(d.id, username), () => t("assigned_ok", { name: target.display_name }));
  });
  $("btn-transfer").addEventListener("click", async () => {
    const team = $("transfer-team").value;
    if (!team) return;
    const answer = await askDialog(t("transfer_confirm", { team: teamName(team) }), { withNote: true });
    if (!answer.ok) return;
    runAction((d) => api.transfer(d.id, team, answer.note), () => t("transferred_ok", { team: teamName(team) }));
  });
  $("btn-return").addEventListener("click", async () => {
    if (!(await confirmDialog(t("hand_back_confirm")))) return;
    runAction((d) => api.handBack(d.id), () => t("returned_ok"));
  });
  $("btn-close").addEventListener("click", async () => {
    const resolution = $("close-resolution").value;
    if (!resolution) return;
    if (!(await confirmDialog(t("close_confirm", { r: resolutionName(resolution) })))) return;
    runAction((d) => api.close(d.id, resolution), () => t("closed_ok"));
  });
  $("composer").addEventListener("submit", (event) => { event.preventDefault(); submitComposer(); });
  $("composer-text").addEventListener("input", updateCount);
  $("composer-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); submitComposer(); }
  });
  const tabs = [...document.querySelectorAll(".composer-tabs .tab")];
  for (const tab of tabs) {
    tab.addEventListener("click", () => { state.mode = tab.dataset.mode; renderComposer(); $("composer-text").focus(); });
    tab.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
      const next = tabs[(tabs.indexOf(tab) + 1) % tabs.length];
      state.mode = next.dataset.mode;
      renderComposer();
      next.focus();
    });
  }
  $("canned").addEventListener("change", () => {
    const entry = state.canned.find((c) => c.id === $("canned").value);
    if (!entry || !state.detail) return;
    const box = $("composer-text");
    const text = cannedText(entry, state.detail.language);
    box.value = box.value ? `${box.value.replace(/\s+$/, "")} ${text}` : text;
    $("canned").value = "";
    updateCount();
    box.focus();
  });
  for (const button of document.querySelectorAll(".filters .filter")) {
    button.addEventListener("click", async () => {
      state.filter = button.dataset.filter;
      for (const b of document.querySelectorAll(".filters .filter")) b.setAttribute("aria-pressed", b === button ? "true" : "false");
      renderQueue();
      try { await loadQueue(); } catch (err) { toast(errorText(err), "error"); }
    });
  }
  // arrow keys move through the queue; Enter/Space open (native buttons)
  $("queue-list").addEventListener("keydown", (event) => {
    if (!["ArrowDown", "ArrowUp", "Home", "End"].includes(event.key)) return;
    const items = [...document.querySelectorAll("#queue-list .queue-item")];
    if (!items.length) return;
    const at = items.indexOf(document.activeElement);
    let next = at;
    if (event.key === "ArrowDown") next = Math.min(items.length - 1, at + 1);
    if (event.key === "ArrowUp") next = Math.max(0, at - 1);
    if (event.key === "Home") next = 0;
    if (event.key === "End") next = items.length - 1;
    event.preventDefault();
    items[next].focus();
  });
}

// ---------------------------------------------------------------------------------------------- unread, alerts
/** The agent has read ticket `id` now: clear its unread count here and on the server (other tabs refetch). */
function markSeen(id) {
  const ticket = state.tickets.get(id);
  if (!ticket || !isMine(ticket) || !ticket.unread) return;
  ticket.unread = 0;
  renderQueue();
  api.seen(id).catch(() => { /* best effort: the next list fetch counts again */ });
}

/** A customer wrote on one of the tickets: unread + alert when it is mine and I am not looking at it. */
function onCustomerMessage(ticketId, message) {
  const ticket = state.tickets.get(ticketId);
  if (!ticket || !isMine(ticket)) return;
  if (state.selectedId === ticketId && !document.hidden) {
    api.seen(ticketId).catch(() => {});
    return;
  }
  ticket.unread = (ticket.unread || 0) + 1;
  alertAgent(ticket, message);
}

function alertAgent(ticket, message) {
  if (!state.notify) return;
  if ("Notification" in window && Notification.permission === "granted") {
    const note = new Notification(t("notify_title", { name: customerName(ticket) }), {
      body: String(message?.text || "").slice(0, 140), tag: `kefu-ticket-${ticket.id}`,
    });
    note.onclick = () => { window.focus(); selectTicket(ticket.id, true); note.close(); };
  }
  try { // a short two-tone chime, no sound file to load
    const audio = new (window.AudioContext || window.webkitAudioContext)();
    for (const [i, freq] of [[0, 880], [1, 660]]) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.value = 0.08;
      osc.connect(gain).connect(audio.destination);
      osc.start(audio.currentTime + i * 0.15);
      osc.stop(audio.currentTime + i * 0.15 + 0.12);
    }
    setTimeout(() => audio.close(), 600);
  } catch (_) { /* no audio here: the notification and the badge remain */ }
}

function renderNotifyToggle() {
  const button = $("btn-notify");
  button.setAttribute("aria-pressed", String(state.notify));
  button.dataset.i18n = state.notify ? "notify_on" : "notify_off";
  button.textContent = t(button.dataset.i18n);
}

function bindNotifyToggle() {
  try { state.notify = localStorage.getItem(NOTIFY_KEY) === "1"; } catch (_) { state.notify = false; }
  if (state.notify && (!("Notification" in window) || Notification.permission !== "granted")) state.notify = false;
  renderNotifyToggle();
  $("btn-notify").addEventListener("click", async () => {
    let on = !state.notify;
    if (on) {
      const permission = "Notification" in window ? await Notification.requestPermission() : "denied";
      if (permission !== "granted") { toast(t("notify_denied"), "error"); on = false; }
    }
    state.notify = on;
    try { localStorage.setItem(NOTIFY_KEY, on ? "1" : "0"); } catch (_) { /* storage blocked */ }
    renderNotifyToggle();
  });
  document.addEventListener("visibilitychange", () => { if (!document.hidden && state.selectedId) markSeen(state.selectedId); });
}

// ---------------------------------------------------------------------------------------------- live events
function onLiveEvent(type, data) {
  switch (type) {
    case "ticket.created": {
      if (upsertTicket(data.ticket)) {
        renderQueue();
        toast(t("new_ticket_notice", { id: data.ticket.id }));
      }
      break;
    }
    case "ticket.updated": {
      const previous = state.tickets.get(data.ticket.id);
      upsertTicket(data.ticket);
      const mineNow = data.ticket.assignee?.id === state.agent.id;
      const wasMine = previous?.assignee?.id === state.agent.id;
      if (data.transition?.action === "assign" && mineNow && !wasMine) {
        toast(t("assigned_to_you", { id: data.ticket.id }));
        alertAgent(data.ticket, { text: data.ticket.summary || "" });
      }
      if (mineNow || wasMine) refreshPresence(); // my load changed
      if (state.agent.role === "supervisor" && data.transition) loadRoster();
      if (state.detail && state.detail.id === data.ticket.id) {
        if (data.transition && !(state.detail.transitions || []).some((x) => x.id === data.transition.id)) {
          state.detail.transitions = [...(state.detail.transitions || []), data.transition];
        }
        if ("lead" in data.ticket && leadChanged(data.ticket.lead, state.detail.lead)) {
          const id = state.detail.id;
          api.ticket(id).then((fresh) => {
            if (state.detail && state.detail.id === id) { state.detail.lead = fresh.lead; renderTicket(); }
          }).catch(() => {});
        }
        renderTicket();
      }
      renderQueue();
      break;
    }
    case "message.created": {
      if (data.ticket) upsertTicket(data.ticket);
      let fresh = true; // the open ticket's transcript tells a repeated event; other tickets get each event once
      if (state.detail && state.detail.id === data.ticket_id) {
        fresh = appendToDetail("message", data.message);
        if (fresh) { renderTranscript(false); renderSla(); }
      }
      if (fresh && data.message?.author === "customer") onCustomerMessage(data.ticket_id, data.message);
      renderQueue();
      break;
    }
    case "agent.presence": {
      onPresenceEvent(state.agent.id, data);
      if (state.agent.role === "supervisor" && data.agent) {
        state.roster.set(data.agent.id, data.agent);
        if (state.detail) renderActions();
      }
      break;
    }
    case "note.created": {
      if (state.detail && state.detail.id === data.ticket_id && appendToDetail("note", data.note)) renderTranscript(false);
      break;
    }
    default:
      break;
  }
}

async function resync() {
  try {
    await loadQueue();
    if (state.selectedId) {
      const detail = await api.ticket(state.selectedId);
      if (detail.id === state.selectedId) { state.detail = detail; renderTicket(); }
    }
  } catch (err) {
    if (err.status !== 401) toast(errorText(err), "error");
  }
}

function setConnection(up) {
  const conn = $("conn");
  conn.classList.toggle("conn-on", up);
  conn.classList.toggle("conn-off", !up);
  $("conn-text").dataset.i18n = up ? "live" : "reconnecting";
  $("conn-text").textContent = t(up ? "live" : "reconnecting");
  document.body.dataset.live = up ? "1" : "0";
}

// ---------------------------------------------------------------------------------------------- keyboard
/** The tickets as listed now (search results while searching, else the queue), for j/k. */
function listedIds() {
  const panel = $("search-panel");
  const selector = panel.hidden ? "#queue-list .queue-item" : "#search-results .queue-item";
  return [...document.querySelectorAll(selector)].map((node) => Number(node.dataset.ticketId));
}

function step(delta) {
  const ids = listedIds();
  if (!ids.length) return;
  const at = ids.indexOf(state.selectedId);
  const next = at < 0 ? (delta > 0 ? 0 : ids.length - 1) : Math.max(0, Math.min(ids.length - 1, at + delta));
  if (ids[next] !== state.selectedId) selectTicket(ids[next], false);
  const selector = $("search-panel").hidden ? "#queue-list" : "#search-results";
  document.querySelector(`${selector} [data-ticket-id="${ids[next]}"]`)?.focus();
}

function compose(mode) {
  if (!state.detail) return;
  state.mode = mode;
  renderComposer();
  $("composer-text").focus();
}

function bindKeyboard() {
  initShortcuts({ next: () => step(1), prev: () => step(-1), reply: () => compose("reply"), note: () => compose("note"),
    search: focusSearch });
  const box = $("composer-text");
  initCannedSuggest({
    box,
    list: $("canned-suggest"),
    getCanned: () => state.canned,
    enabled: () => Boolean(state.detail) && state.mode === "reply" && !box.disabled,
    textOf: (entry) => cannedText(entry, state.detail?.language || getLang()),
    onInsert: updateCount,
  });
}

// ---------------------------------------------------------------------------------------------- start
async function init() {
  const agent = await requireSession();
  state.agent = agent;
  initShell(agent);
  const [config, canned] = await Promise.all([api.config(), api.canned()]);
  state.config = config;
  state.canned = canned.canned || [];
  $("composer-text").maxLength = config.max_message_chars || 4000;
  bindActions();
  bindNotifyToggle();
  bindKeyboard();
  initSearch((id) => selectTicket(id, true), { teamName });
  await Promise.all([initPresence(), loadRoster()]);
  document.addEventListener("kefu:lang", () => {
    renderQueue();
    if (state.detail) renderTicket();
  });
  const stream = new LiveStream("/api/stream", onLiveEvent, {
    onUp: (reconnected) => { setConnection(true); if (reconnected) resync(); },
    onDown: () => setConnection(false),
  });
  stream.start();
  await loadQueue();
  const fromHash = /ticket=(\d+)/.exec(window.location.hash);
  if (fromHash) await selectTicket(Number(fromHash[1]));
  setInterval(tick, 1000);
  document.body.dataset.ready = "1";
}

init().catch((err) => {
  toast(errorText(err), "error");
  clear($("queue-list"));
});
