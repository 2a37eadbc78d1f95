// Search across open and closed conversations (GET /api/search): the box above the queue, results in place of the
// queue, 20 a page; a result opens the conversation (a closed one read-only). Every value is set as text.
import { api } from "./api.js";
import { el, replaceChildren } from "./dom.js";
import { clock } from "./format.js";
import { getLang, hasKey, t } from "./i18n.js";
import { errorText, toast } from "./shell.js";

const $ = (id) => document.getElementById(id);
const PER_PAGE = 20;
const search = { q: "", state: "all", page: 1, pages: 0, open: false };
let opener = null;
let words = null;

function word(prefix, value) {
  const key = `${prefix}_${value}`;
  return hasKey(key) ? t(key) : String(value ?? "");
}

function resultItem(result) {
  const ticket = result.ticket;
  const match = result.match || {};
  const line = match.field === "text" ? match.snippet || "" : `${word("search_field", match.field)}: ${match.value}`;
  return el("li", {}, el("button", {
    type: "button",
    class: `queue-item search-result state-${ticket.state}`,
    dataset: { ticketId: ticket.id },
    onclick: () => opener(ticket.id),
  },
  el("span", { class: "qi-top" },
    el("span", { class: "qi-name" }, `#${ticket.id} · ${ticket.customer?.name || t("unknown_customer")}`),
    el("span", { class: `badge badge-state-${ticket.state}` }, word("state", ticket.state))),
  el("span", { class: "qi-mid" },
    el("span", { class: `badge badge-cat-${ticket.category}` }, word("category", ticket.category)),
    el("span", { class: "badge" }, `→ ${words.teamName(ticket.team)}`),
    ticket.assignee ? el("span", { class: "qi-assignee" }, t("claimed_by", { name: ticket.assignee.display_name })) : null),
  el("span", { class: "qi-last" }, ticket.summary || ""),
  el("span", { class: "qi-bottom search-match" }, line,
    el("time", { class: "muted" }, ` · ${clock(ticket.created_at, getLang())}`))));
}

function show(open) {
  search.open = open;
  $("search-panel").hidden = !open;
  for (const id of ["queue-list", "queue-empty"]) $(id).classList.toggle("search-hidden", open);
  document.querySelector(".filters").classList.toggle("search-hidden", open);
}

async function run(page = 1) {
  const q = $("search-q").value.trim();
  if (!q) { clearSearch(); return; }
  try {
    const answer = await api.search({ q, state: $("search-state").value, page, per_page: PER_PAGE });
    Object.assign(search, { q, state: answer.query.state, page: answer.page, pages: answer.pages });
    const field = word("search_field", answer.query.field);
    $("search-summary").textContent = answer.total
      ? t("search_summary", { n: answer.total, field })
      : t("search_none", { field });
    replaceChildren($("search-results"), answer.results.map(resultItem));
    $("search-page").textContent = answer.pages > 1 ? t("search_page", { page: answer.page, pages: answer.pages }) : "";
    $("search-prev").disabled = answer.page <= 1;
    $("search-next").disabled = answer.page >= answer.pages;
    $("search-prev").hidden = $("search-next").hidden = answer.pages <= 1;
    show(true);
  } catch (err) {
    toast(errorText(err), "error");
  }
}

export function clearSearch() {
  $("search-q").value = "";
  replaceChildren($("search-results"));
  show(false);
}

export function focusSearch() {
  $("search-q").focus();
  $("search-q").select();
}

/** `open(ticketId)` opens a result in the ticket view; `helpers.teamName(id)` says a team in words. */
export function initSearch(open, helpers) {
  opener = open;
  words = helpers;
  $("search-form").addEventListener("submit", (event) => { event.preventDefault(); run(1); });
  $("search-clear").addEventListener("click", () => { clearSearch(); $("search-q").focus(); });
  $("search-prev").addEventListener("click", () => run(Math.max(1, search.page - 1)));
  $("search-next").addEventListener("click", () => run(search.page + 1));
  $("search-q").addEventListener("keydown", (event) => {
    if (event.key === "Escape") { event.preventDefault(); clearSearch(); $("search-q").blur(); }
  });
  document.addEventListener("kefu:lang", () => { if (search.open) run(search.page); });
}
