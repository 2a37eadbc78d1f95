// The lead card of the context panel: the presales lead a handoff brought (docs/presales.md), its quote status
// with a button per allowed move, and an edit form that PATCHes the card. Words, never codes: statuses, priorities,
// types and product lines are labelled in the UI language. Built with dom.el only: every value is text.
import { api } from "./api.js";
import { el } from "./dom.js";
import { clock } from "./format.js";
import { t } from "./i18n.js";
import { errorText, toast } from "./shell.js";
import { productLineWord } from "./words.js";

/** kernel/leads.py TRANSITIONS: the moves the server allows (it checks again and answers 409). */
export const MOVES = {
  new: ["contacted", "quoted", "lost"],
  contacted: ["quoted", "won", "lost"],
  quoted: ["contacted", "won", "lost"],
  won: [],
  lost: ["contacted"],
};
/** The form's fields: [key, kind]; kind text | number | date | list | priority | type | textarea. */
const FORM = [
  ["product", "text"], ["quantity", "number"], ["customisation", "textarea"], ["cities", "list"],
  ["needed_by", "date"], ["company", "text"], ["contact_name", "text"], ["phone", "text"], ["email", "text"],
  ["wechat", "text"], ["priority", "priority"], ["type", "type"], ["note", "textarea"],
];

// one edit at a time; the open form survives the panel's re-renders (a live event must not wipe what is typed)
let editing = null; // {leadId, node}

// the server formats money in the shop's currency (kernel/seller.py): value_text "$8,940.00"
function money(lead) {
  if (lead.value_text) return lead.value_text;
  return lead.value_cents == null ? null : String(lead.value_cents);
}

function rows(items) {
  const shown = items.filter((r) => r && r[1] !== null && r[1] !== undefined && r[1] !== "" && !(Array.isArray(r[1]) && !r[1].length));
  return el("dl", { class: "kv" }, shown.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v instanceof Node ? v : String(v))]));
}

function statusLine(lead, lang) {
  const steps = [["created_at", "new"], ["contacted_at", "contacted"], ["quoted_at", "quoted"], ["closed_at", lead.status]];
  return steps.filter(([key]) => lead[key]).map(([key, status]) =>
    el("li", {}, el("span", {}, t(`lead_status_${status}`)), " ", el("time", { datetime: lead[key] }, clock(lead[key], lang))));
}

function view(detail, lead, ctx) {
  const { lang } = ctx;
  const moves = (MOVES[lead.status] || []).map((to) => el("button", {
    type: "button", class: `btn btn-small lead-move lead-move-${to}`, dataset: { testid: `lead-move-${to}` },
    onclick: (ev) => move(ev.currentTarget, lead, to, ctx),
  }, t(`lead_move_${to}`)));
  const notes = (lead.notes || []).length ? el("details", { class: "lead-notes", dataset: { testid: "lead-notes" } },
    el("summary", {}, t("lead_notes", { n: lead.notes.length })),
    el("ul", {}, lead.notes.map((n) => el("li", {}, n)))) : null;
  return el("div", { class: "lead-card", dataset: { testid: "lead-card", status: lead.status } },
    el("div", { class: "fact-head" },
      el("strong", {}, t(`lead_type_${lead.type}`)),
      el("span", { class: `badge badge-lead-${lead.priority}`, dataset: { testid: "lead-priority" } }, t(`lead_priority_${lead.priority}`)),
      el("span", { class: `badge badge-lead-status-${lead.status}`, dataset: { testid: "lead-status" } }, t(`lead_status_${lead.status}`)),
      lead.quote_overdue ? el("span", { class: "badge badge-quote-overdue", dataset: { testid: "lead-quote-overdue" } }, t("lead_quote_overdue")) : null),
    rows([
      [t("lead_product"), [lead.product, lead.sku].filter(Boolean).join(" · ")],
      [t("lead_product_line"), lead.product_line ? productLineWord(lead.product_line, lang) : null],
      [t("lead_quantity"), lead.quantity != null ? el("span", { dataset: { testid: "lead-quantity" } }, String(lead.quantity)) : null],
      [t("lead_value"), money(lead)],
      [t("lead_customisation"), lead.customisation],
      [t("lead_cities"), (lead.cities || []).join("、")],
      [t("lead_region"), lead.region],
      [t("lead_needed_by"), lead.needed_by],
      [t("lead_quote_due"), lead.quote_due_at && ["new", "contacted"].includes(lead.status)
        ? el("time", { datetime: lead.quote_due_at, dataset: { testid: "lead-quote-due" } }, clock(lead.quote_due_at, lang)) : null],
      [t("lead_company"), lead.company],
      [t("lead_contact_name"), lead.contact_name],
      [t("lead_phone"), lead.phone],
      [t("lead_email"), lead.email],
      [t("lead_wechat"), lead.wechat],
      [t("lead_stock"), lead.stock_note],
      [t("lead_note"), lead.note],
      [t("lead_owner"), lead.owner ? lead.owner.display_name : null],
      [t("lead_preferred"), detail.preferred_agent && !lead.owner ? detail.preferred_agent.display_name : null],
    ]),
    notes,
    el("ol", { class: "lead-steps" }, statusLine(lead, lang)),
    el("div", { class: "lead-actions" }, moves,
      el("button", { type: "button", class: "btn btn-small", dataset: { testid: "lead-edit" },
        onclick: () => { editing = { leadId: lead.lead_id, node: form(lead, ctx) }; ctx.rerender(); } }, t("lead_edit"))));
}

function input(key, kind, lead) {
  const id = `lead-field-${key}`;
  const value = lead[key];
  if (kind === "priority" || kind === "type") {
    const options = kind === "priority" ? ["hot", "warm"] : ["quote", "sample"];
    return el("select", { id, name: key }, options.map((o) =>
      el("option", { value: o, selected: value === o }, t(`lead_${kind}_${o}`))));
  }
  if (kind === "textarea") return el("textarea", { id, name: key, rows: "2", maxlength: key === "note" ? "2000" : "500" }, value || "");
  const attrs = { id, name: key, autocomplete: "off" };
  if (kind === "number") Object.assign(attrs, { type: "number", min: "1", inputmode: "numeric", value: value ?? "" });
  else if (kind === "date") Object.assign(attrs, { type: "date", value: value || "" });
  else Object.assign(attrs, { type: "text", value: kind === "list" ? (value || []).join("、") : value || "" });
  return el("input", attrs);
}

function collect(formNode, lead) {
  const edit = {};
  for (const [key, kind] of FORM) {
    const raw = formNode.elements[key].value;
    let value;
    if (kind === "number") value = raw.trim() === "" ? null : Number(raw);
    else if (kind === "list") value = raw.split(/[、,，;；\n]/).map((s) => s.trim()).filter(Boolean);
    else if (kind === "date") value = raw || null;
    else value = raw;
    const before = lead[key] ?? (kind === "list" ? [] : kind === "number" || kind === "date" ? null : "");
    if (JSON.stringify(value) !== JSON.stringify(before)) edit[key] = value;
  }
  return edit;
}

function form(lead, ctx) {
  const error = el("p", { class: "lead-error", role: "alert", hidden: true, dataset: { testid: "lead-error" } });
  const node = el("form", { class: "lead-form", novalidate: true, dataset: { testid: "lead-form" } },
    FORM.map(([key, kind]) => el("div", { class: "lead-field" },
      el("label", { for: `lead-field-${key}` }, t(`lead_${key}`)), input(key, kind, lead))),
    error,
    el("div", { class: "lead-actions" },
      el("button", { type: "submit", class: "btn btn-primary btn-small", dataset: { testid: "lead-save" } }, t("lead_save")),
      el("button", { type: "button", class: "btn btn-small", onclick: () => { editing = null; ctx.rerender(); } }, t("cancel"))));
  node.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const edit = collect(node, lead);
    if (!Object.keys(edit).length) { editing = null; ctx.rerender(); return; }
    const button = node.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const saved = await api.editLead(lead.lead_id, edit);
      editing = null;
      ctx.onLead(saved);
      toast(t("lead_saved"));
    } catch (err) {
      error.textContent = errorText(err); // the server names the field
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
  return node;
}

async function move(button, lead, to, ctx) {
  button.disabled = true;
  try {
    ctx.onLead(await api.moveLead(lead.lead_id, to));
    toast(t("lead_moved", { status: t(`lead_status_${to}`) }));
  } catch (err) {
    toast(errorText(err), "error");
    button.disabled = false;
  }
}

/** The card of ``detail.lead`` (null when the ticket has no lead). ctx: {lang, onLead(lead), rerender()}. */
export function renderLeadCard(detail, ctx) {
  const lead = detail.lead;
  if (!lead) { editing = null; return null; }
  if (editing && editing.leadId === lead.lead_id) return editing.node;
  editing = null;
  return view(detail, lead, ctx);
}
