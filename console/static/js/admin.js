// Supervisor administration (/admin): agents, teams (names, categories, staffed hours), canned responses, the
// escalation word lists and the audit log, through /api/admin/... (docs/console-api.md). Everything from the server goes in as text (dom.js).
import { api, requireSession } from "./api.js";
import { $, el, replaceChildren } from "./dom.js";
import { clock } from "./format.js";
import { getLang, hasKey, pick, t } from "./i18n.js";
import { confirmDialog, errorText, initShell, toast } from "./shell.js";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const PER_PAGE = 20;
const state = { me: null, agents: [], teams: [], categories: [], canned: [], escalation: [], audit: null, page: 1,
  editing: { agent: null, team: null, canned: null, escalation: null } };

const teamName = (id) => { const team = state.teams.find((x) => x.id === id); return team ? pick(team.name) : id; };
const categoryWord = (c) => (hasKey(`category_${c}`) ? t(`category_${c}`) : c);
const yesNo = (v) => t(v ? "admin_active" : "admin_inactive");
const splitList = (text) => text.split(/[,，、\s]+/).map((x) => x.trim()).filter(Boolean);

function headRow(...keys) { return el("thead", {}, el("tr", {}, keys.map((k) => el("th", { scope: "col" }, t(k))))); }
function button(key, onclick, extra = {}) { return el("button", { class: "btn btn-small", type: "button", onclick, ...extra }, t(key)); }

async function act(work, done) {
  try {
    const result = await work();
    if (done) toast(done);
    await load();
    return result;
  } catch (err) {
    toast(errorText(err), "error");
    return null;
  }
}

// -- agents ----------------------------------------------------------------------------------------------
function renderAgents() {
  const rows = state.agents.map((a) => el("tr", { dataset: { agent: a.username }, class: a.active ? "" : "muted" },
    el("td", {}, a.username), el("td", {}, a.display_name), el("td", {}, t(`role_${a.role}`)),
    el("td", {}, a.teams.map(teamName).join("、") || "—"),
    el("td", { dataset: { testid: "capacity" } }, a.capacity ?? t("admin_capacity_default")), el("td", {}, yesNo(a.active)),
    el("td", {}, a.last_seen_at ? clock(a.last_seen_at, getLang()) : "—"),
    el("td", { class: "row-actions" },
      button("admin_edit", () => editAgent(a), { dataset: { action: "edit" } }),
      button("admin_reset_password", () => resetPassword(a), { dataset: { action: "password" } }),
      a.username === state.me.username ? null : button(a.active ? "admin_deactivate" : "admin_activate",
        () => toggleAgent(a), { dataset: { action: a.active ? "deactivate" : "activate" } }))));
  replaceChildren($("#agents-table"), headRow("username", "admin_display_name", "admin_role", "admin_teams",
    "admin_capacity_short", "admin_status", "admin_last_seen", "admin_actions"), el("tbody", {}, rows));
  const chosen = new Set(state.editing.agent ? state.editing.agent.teams : []);
  const boxes = state.teams.filter((x) => x.active).map((x) => el("label", { class: "admin-check" },
    el("input", { type: "checkbox", name: "team", value: x.id, checked: chosen.has(x.id) }), " ", pick(x.name)));
  replaceChildren($("#agent-teams"), boxes);
}

function editAgent(agent) {
  state.editing.agent = agent;
  $("#agent-username").value = agent.username;
  $("#agent-username").disabled = true;
  $("#agent-display").value = agent.display_name;
  $("#agent-role").value = agent.role;
  $("#agent-capacity").value = agent.capacity ?? "";
  $("#agent-password-field").hidden = true;
  $("#agent-cancel").hidden = false;
  $("#agent-form-title").textContent = t("admin_edit_agent", { name: agent.username });
  renderAgents();
  $("#agent-display").focus();
}

function resetAgentForm() {
  state.editing.agent = null;
  $("#agent-form").reset();
  $("#agent-username").disabled = false;
  $("#agent-password-field").hidden = false;
  $("#agent-cancel").hidden = true;
  $("#agent-form-title").textContent = t("admin_new_agent");
  renderAgents();
}

async function saveAgent(event) {
  event.preventDefault();
  const teams = [...document.querySelectorAll("#agent-teams input:checked")].map((x) => x.value);
  const capacity = $("#agent-capacity").value.trim();
  // empty: the default capacity; the server checks the number (0-50) and says what is wrong
  const body = { display_name: $("#agent-display").value, role: $("#agent-role").value, teams,
    capacity: capacity === "" ? null : Number(capacity) };
  const editing = state.editing.agent;
  const saved = editing
    ? await act(() => api.adminUpdateAgent(editing.username, body), t("admin_saved"))
    : await act(() => api.adminCreateAgent({ ...body, username: $("#agent-username").value, password: $("#agent-password").value }),
      t("admin_saved"));
  if (saved) resetAgentForm();
}

async function toggleAgent(agent) {
  if (agent.active && !(await confirmDialog(t("admin_confirm_deactivate", { name: agent.username })))) return;
  await act(() => api.adminUpdateAgent(agent.username, { active: !agent.active }), t("admin_saved"));
}

function resetPassword(agent) {
  const dialog = $("#password-dialog");
  $("#password-title").textContent = t("admin_password_for", { name: agent.username });
  $("#password-new").value = "";
  const onClose = async () => {
    dialog.removeEventListener("close", onClose);
    const password = $("#password-new").value;
    $("#password-new").value = "";
    if (dialog.returnValue !== "ok") return;
    const done = await act(() => api.adminPassword(agent.username, password));
    if (done) toast(t("admin_password_done", { n: done.sessions_ended }));
  };
  dialog.addEventListener("close", onClose);
  dialog.returnValue = "cancel";
  dialog.showModal();
  $("#password-new").focus();
}

// -- teams -----------------------------------------------------------------------------------------------
function hoursText(hours) {
  if (!hours) return t("admin_shop_hours");
  return DAYS.filter((d) => hours[d] && hours[d].length).map((d) => `${t(`day_${d}`)} ${hours[d].join(", ")}`).join("；") || t("admin_closed");
}

function renderTeams() {
  const rows = state.teams.map((x) => el("tr", { dataset: { team: x.id }, class: x.active ? "" : "muted" },
    el("td", {}, x.id), el("td", {}, pick(x.name)), el("td", {}, x.categories.map(categoryWord).join("、") || "—"),
    el("td", {}, hoursText(x.hours)), el("td", { class: "num" }, String(x.agents)), el("td", { class: "num" }, String(x.open_tickets)),
    el("td", {}, yesNo(x.active)),
    el("td", { class: "row-actions" },
      button("admin_edit", () => editTeam(x), { dataset: { action: "edit" } }),
      button(x.active ? "admin_deactivate" : "admin_activate", () => toggleTeam(x), { dataset: { action: x.active ? "deactivate" : "activate" } }))));
  replaceChildren($("#teams-table"), headRow("admin_id", "admin_name", "admin_categories_short", "admin_hours",
    "admin_members", "admin_open_tickets", "admin_status", "admin_actions"), el("tbody", {}, rows));
  renderCategoryChoices();
}

/** One checkbox per handoff category, saying which team has it now (taking it moves it to this team). */
function renderCategoryChoices() {
  const box = $("#team-categories");
  const checked = new Set([...box.querySelectorAll("input:checked")].map((x) => x.value));
  const editing = state.editing.team;
  const holder = (c) => state.teams.find((x) => x.active && x.categories.includes(c));
  replaceChildren(box, state.categories.map((c) => {
    const team = holder(c);
    const label = team && (!editing || team.id !== editing.id) ? t("admin_category_now", { c: categoryWord(c), team: pick(team.name) }) : categoryWord(c);
    return el("label", { class: "admin-check" }, el("input", { type: "checkbox", name: "category", value: c, checked: checked.has(c) }), " ", label);
  }));
}

function checkCategories(categories) {
  for (const box of document.querySelectorAll("#team-categories input")) box.checked = categories.includes(box.value);
}

function fillHours(hours) {
  $("#team-shop-hours").checked = !hours;
  $("#team-hours").hidden = !hours;
  for (const day of DAYS) $(`#hours-${day}`).value = hours && hours[day] ? hours[day].join(", ") : "";
}

function editTeam(team) {
  state.editing.team = team;
  $("#team-id").value = team.id;
  $("#team-id").disabled = true;
  $("#team-name-hans").value = team.name["zh-Hans"] || "";
  $("#team-name-hant").value = team.name["zh-Hant"] || "";
  $("#team-name-en").value = team.name.en || "";
  renderCategoryChoices();
  checkCategories(team.categories);
  fillHours(team.hours);
  $("#team-cancel").hidden = false;
  $("#team-form-title").textContent = t("admin_edit_team", { name: team.id });
  $("#team-name-hans").focus();
}

function resetTeamForm() {
  state.editing.team = null;
  $("#team-form").reset();
  $("#team-id").disabled = false;
  checkCategories([]);
  renderCategoryChoices();
  fillHours(null);
  $("#team-cancel").hidden = true;
  $("#team-form-title").textContent = t("admin_new_team");
}

async function saveTeam(event) {
  event.preventDefault();
  let hours = null;
  if (!$("#team-shop-hours").checked) {
    hours = {};
    for (const day of DAYS) hours[day] = splitList($(`#hours-${day}`).value);
  }
  const body = { name: { "zh-Hans": $("#team-name-hans").value, "zh-Hant": $("#team-name-hant").value, en: $("#team-name-en").value },
    categories: [...document.querySelectorAll("#team-categories input:checked")].map((x) => x.value), hours };
  const editing = state.editing.team;
  const saved = editing
    ? await act(() => api.adminUpdateTeam(editing.id, body), t("admin_saved"))
    : await act(() => api.adminCreateTeam({ ...body, id: $("#team-id").value.trim() }), t("admin_saved"));
  if (saved) resetTeamForm();
}

async function toggleTeam(team) {
  if (team.active && !(await confirmDialog(t("admin_confirm_team", { name: pick(team.name) })))) return;
  await act(() => api.adminUpdateTeam(team.id, { active: !team.active }), t("admin_saved"));
}

// -- canned responses ------------------------------------------------------------------------------------
function renderCanned() {
  const rows = state.canned.map((c) => el("tr", { dataset: { canned: c.id } },
    el("td", {}, c.id), el("td", {}, pick(c.title)), el("td", { class: "admin-text" }, pick(c.text)),
    el("td", { class: "row-actions" },
      button("admin_edit", () => editCanned(c), { dataset: { action: "edit" } }),
      button("admin_delete", () => deleteCanned(c), { dataset: { action: "delete" } }))));
  replaceChildren($("#canned-table"), headRow("admin_id", "admin_title_col", "admin_text", "admin_actions"), el("tbody", {}, rows));
}

function editCanned(item) {
  state.editing.canned = item;
  $("#canned-id").value = item.id;
  $("#canned-id").disabled = true;
  for (const [suffix, lang] of [["hans", "zh-Hans"], ["hant", "zh-Hant"], ["en", "en"]]) {
    $(`#canned-title-${suffix}`).value = item.title[lang] || "";
    $(`#canned-text-${suffix}`).value = item.text[lang] || "";
  }
  $("#canned-cancel").hidden = false;
  $("#canned-form-title").textContent = t("admin_edit_canned", { name: item.id });
  $("#canned-title-hans").focus();
}

function resetCannedForm() {
  state.editing.canned = null;
  $("#canned-form").reset();
  $("#canned-id").disabled = false;
  $("#canned-cancel").hidden = true;
  $("#canned-form-title").textContent = t("admin_new_canned");
}

async function saveCanned(event) {
  event.preventDefault();
  const words = (prefix) => ({ "zh-Hans": $(`#${prefix}-hans`).value, "zh-Hant": $(`#${prefix}-hant`).value, en: $(`#${prefix}-en`).value });
  const body = { title: words("canned-title"), text: words("canned-text") };
  const editing = state.editing.canned;
  const saved = editing
    ? await act(() => api.adminUpdateCanned(editing.id, body), t("admin_saved"))
    : await act(() => api.adminCreateCanned({ ...body, id: $("#canned-id").value.trim() }), t("admin_saved"));
  if (saved) resetCannedForm();
}

async function deleteCanned(item) {
  if (!(await confirmDialog(t("admin_confirm_delete", { name: pick(item.title) })))) return;
  await act(() => api.adminDeleteCanned(item.id), t("admin_saved"));
}

// -- escalation word lists --------------------------------------------------------------------------------
const listName = (id) => t(`escalation_${id.replace(".", "_")}`);

function renderEscalation() {
  const rows = state.escalation.map((x) => el("tr", { dataset: { escalation: x.id }, class: x.overridden ? "" : "muted" },
    el("td", {}, listName(x.id)),
    el("td", {}, x.overridden ? t("admin_escalation_saved_by", { who: x.updated_by, when: clock(x.updated_at, getLang()) }) : t("admin_escalation_default")),
    el("td", { class: "admin-text" }, x.words.length ? x.words.join("、") : t("admin_escalation_off")),
    el("td", { class: "row-actions" },
      button("admin_edit", () => editEscalation(x), { dataset: { action: "edit" } }),
      x.overridden ? button("admin_escalation_reset", () => resetEscalation(x), { dataset: { action: "reset" } }) : null)));
  replaceChildren($("#escalation-table"), headRow("admin_escalation_list", "admin_escalation_source", "admin_escalation_words_col",
    "admin_actions"), el("tbody", {}, rows));
  if (state.editing.escalation) $("#escalation-form-title").textContent = t("admin_escalation_edit", { name: listName(state.editing.escalation.id) });
}

function editEscalation(item) {
  state.editing.escalation = item;
  $("#escalation-words").value = item.words.join("\n");
  $("#escalation-confirm-empty").checked = false;
  $("#escalation-form").hidden = false;
  renderEscalation();
  $("#escalation-words").focus();
}

function closeEscalationForm() {
  state.editing.escalation = null;
  $("#escalation-form").reset();
  $("#escalation-form").hidden = true;
}

async function saveEscalation(event) {
  event.preventDefault();
  const editing = state.editing.escalation;
  if (!editing) return;
  const words = $("#escalation-words").value.split(/\r?\n/).map((x) => x.trim()).filter(Boolean);
  const saved = await act(() => api.adminSetEscalation(editing.id, { words, confirm_empty: $("#escalation-confirm-empty").checked }),
    t("admin_saved"));
  if (saved) closeEscalationForm();
}

async function resetEscalation(item) {
  if (!(await confirmDialog(t("admin_escalation_confirm_reset", { name: listName(item.id) })))) return;
  const done = await act(() => api.adminResetEscalation(item.id), t("admin_saved"));
  if (done && state.editing.escalation && state.editing.escalation.id === item.id) closeEscalationForm();
}

// -- the audit log ---------------------------------------------------------------------------------------
function change(item) {
  const before = item.before || {};
  const after = item.after || {};
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
  const show = (v) => (v === undefined ? "—" : typeof v === "string" ? v : JSON.stringify(v));
  return keys.map((k) => `${k}: ${item.before ? `${show(before[k])} → ` : ""}${show(after[k])}`).join("\n");
}

function renderAudit() {
  const audit = state.audit || { items: [], total: 0 };
  const rows = audit.items.map((i) => el("tr", { dataset: { audit: i.id } },
    el("td", {}, clock(i.at, getLang())), el("td", {}, i.actor), el("td", {}, i.address || "—"),
    el("td", {}, hasKey(`audit_${i.action.replace(".", "_")}`) ? t(`audit_${i.action.replace(".", "_")}`) : i.action),
    el("td", {}, `${i.target.kind} ${i.target.id}`), el("td", { class: "admin-text" }, change(i))));
  replaceChildren($("#audit-table"), headRow("admin_when", "admin_who", "admin_address", "admin_what", "admin_target",
    "admin_change"), el("tbody", {}, rows));
  const pages = Math.max(1, Math.ceil(audit.total / PER_PAGE));
  $("#audit-page").textContent = t("admin_page", { n: state.page, m: pages });
  $("#audit-prev").disabled = state.page <= 1;
  $("#audit-next").disabled = state.page >= pages;
}

// -- loading ---------------------------------------------------------------------------------------------
function render() {
  renderAgents();
  renderTeams();
  renderCanned();
  renderEscalation();
  renderAudit();
}

async function load() {
  const error = $("#admin-error");
  try {
    const [agents, teams, canned, escalation, audit] = await Promise.all([api.adminAgents(), api.adminTeams(), api.adminCanned(),
      api.adminEscalation(), api.adminAudit(state.page, PER_PAGE)]);
    Object.assign(state, { agents: agents.agents, teams: teams.teams, categories: teams.categories, canned: canned.canned,
      escalation: escalation.lists, audit });
    error.hidden = true;
    render();
  } catch (err) {
    error.textContent = err.status === 403 ? t("admin_supervisors_only") : errorText(err);
    error.hidden = false;
  }
  document.body.dataset.ready = "1";
}

async function init() {
  state.me = await requireSession();
  initShell(state.me);
  replaceChildren($("#team-hours"), DAYS.map((day) => el("label", { class: "field" }, el("span", { "data-i18n": `day_${day}` }, t(`day_${day}`)),
    el("input", { id: `hours-${day}`, placeholder: "09:00-18:00", autocomplete: "off", maxlength: "80" }))));
  $("#team-shop-hours").addEventListener("change", () => { $("#team-hours").hidden = $("#team-shop-hours").checked; });
  $("#agent-form").addEventListener("submit", saveAgent);
  $("#agent-cancel").addEventListener("click", resetAgentForm);
  $("#team-form").addEventListener("submit", saveTeam);
  $("#team-cancel").addEventListener("click", resetTeamForm);
  $("#canned-form").addEventListener("submit", saveCanned);
  $("#canned-cancel").addEventListener("click", resetCannedForm);
  $("#escalation-form").addEventListener("submit", saveEscalation);
  $("#escalation-cancel").addEventListener("click", closeEscalationForm);
  $("#audit-prev").addEventListener("click", () => { state.page = Math.max(1, state.page - 1); load(); });
  $("#audit-next").addEventListener("click", () => { state.page += 1; load(); });
  document.addEventListener("kefu:lang", render);
  if (state.me.role !== "supervisor") {
    $("#admin-error").textContent = t("admin_supervisors_only");
    $("#admin-error").hidden = false;
    document.body.dataset.ready = "1";
    return;
  }
  await load();
}

init().catch((err) => toast(errorText(err), "error"));
