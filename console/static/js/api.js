// The console HTTP API (docs/console-api.md): session cookie + X-CSRF-Token on every state-changing request.

let leaving = false;

/** Go to the login page once: the logout button, the stream's "session ended" and a 401 can all ask for it in the
 *  same moment, and a second navigation would abort the first one. */
export function toLogin() {
  if (leaving) return;
  leaving = true;
  window.location.assign("/login");
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || "error";
  }
}

let csrfToken = null;

export function setCsrf(token) { csrfToken = token; }

async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    if (csrfToken) headers["X-CSRF-Token"] = csrfToken;
    init.body = JSON.stringify(body ?? {});
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, "network", String(err && err.message ? err.message : err));
  }
  let data = null;
  const type = response.headers.get("content-type") || "";
  if (type.includes("application/json")) {
    try { data = await response.json(); } catch (_) { data = null; }
  }
  if (!response.ok) {
    const err = new ApiError(response.status, data && data.error, data && data.message);
    if (response.status === 401 && path !== "/api/auth/login" && path !== "/api/auth/me") {
      toLogin();
    }
    throw err;
  }
  return data;
}

export const api = {
  login: (username, password) => request("POST", "/api/auth/login", { username, password }),
  me: () => request("GET", "/api/auth/me"),
  logout: () => request("POST", "/api/auth/logout", {}),
  config: () => request("GET", "/api/config"),
  tickets: (params = {}) => request("GET", `/api/tickets?${new URLSearchParams(params)}`),
  ticket: (id) => request("GET", `/api/tickets/${encodeURIComponent(id)}`),
  claim: (id) => request("POST", `/api/tickets/${encodeURIComponent(id)}/claim`, {}),
  seen: (id) => request("POST", `/api/tickets/${encodeURIComponent(id)}/seen`, {}),
  reply: (id, text) => request("POST", `/api/tickets/${encodeURIComponent(id)}/messages`, { text }),
  note: (id, text) => request("POST", `/api/tickets/${encodeURIComponent(id)}/notes`, { text }),
  transfer: (id, team, note) => request("POST", `/api/tickets/${encodeURIComponent(id)}/transfer`, note ? { team, note } : { team }),
  close: (id, resolution) => request("POST", `/api/tickets/${encodeURIComponent(id)}/close`, { resolution }),
  handBack: (id, note) => request("POST", `/api/tickets/${encodeURIComponent(id)}/return`, note ? { note } : {}),
  canned: (lang) => request("GET", `/api/canned?${new URLSearchParams(lang ? { lang } : {})}`),
  agents: () => request("GET", "/api/agents"),
  presence: () => request("GET", "/api/presence"),
  setPresence: (presence) => request("PUT", "/api/presence", { presence }),
  presenceAgents: () => request("GET", "/api/presence/agents"),
  assign: (id, agent) => request("POST", `/api/tickets/${encodeURIComponent(id)}/assign`, { agent }),
  search: (params) => request("GET", `/api/search?${new URLSearchParams(params)}`),
  widgetTicket: (id) => request("GET", `/api/widget/tickets/${encodeURIComponent(id)}`),
  csatComments: (days) => request("GET", `/api/widget/csat-comments?${new URLSearchParams({ days })}`),
  adminAgents: () => request("GET", "/api/admin/agents"),
  adminCreateAgent: (body) => request("POST", "/api/admin/agents", body),
  adminUpdateAgent: (username, body) => request("PATCH", `/api/admin/agents/${encodeURIComponent(username)}`, body),
  adminPassword: (username, password) => request("POST", `/api/admin/agents/${encodeURIComponent(username)}/password`, { password }),
  adminTeams: () => request("GET", "/api/admin/teams"),
  adminCreateTeam: (body) => request("POST", "/api/admin/teams", body),
  adminUpdateTeam: (id, body) => request("PATCH", `/api/admin/teams/${encodeURIComponent(id)}`, body),
  adminCanned: () => request("GET", "/api/admin/canned"),
  adminCreateCanned: (body) => request("POST", "/api/admin/canned", body),
  adminUpdateCanned: (id, body) => request("PATCH", `/api/admin/canned/${encodeURIComponent(id)}`, body),
  adminDeleteCanned: (id) => request("DELETE", `/api/admin/canned/${encodeURIComponent(id)}`, {}),
  adminEscalation: () => request("GET", "/api/admin/escalation"),
  adminSetEscalation: (id, body) => request("PUT", `/api/admin/escalation/${id.split(".").map(encodeURIComponent).join("/")}`, body),
  adminResetEscalation: (id) => request("DELETE", `/api/admin/escalation/${id.split(".").map(encodeURIComponent).join("/")}`, {}),
  adminAudit: (page, perPage) => request("GET", `/api/admin/audit?${new URLSearchParams({ page, per_page: perPage })}`),
  editLead: (leadId, edit) => request("PATCH", `/api/leads/${encodeURIComponent(leadId)}`, edit),
  moveLead: (leadId, status) => request("POST", `/api/leads/${encodeURIComponent(leadId)}/status`, { status }),
  dashboard: (params) => request("GET", `/api/metrics/dashboard?${new URLSearchParams(params)}`),
  followups: (state = "open") => request("GET", `/api/followups?${new URLSearchParams({ state })}`),
  followupDone: (id, note) => request("POST", `/api/followups/${encodeURIComponent(id)}/done`, { note }),
  kbEntries: () => request("GET", "/api/kb/entries"),
  kbLearned: () => request("GET", "/api/kb/learned?limit=50"),
  kbLink: (rowIds, entryId) => request("POST", "/api/kb/unanswered/link", { row_ids: rowIds, entry_id: entryId }),
  kbDraft: (rowIds, answer, entryId) => request("POST", "/api/kb/unanswered/draft", entryId ? { row_ids: rowIds, answer, entry_id: entryId } : { row_ids: rowIds, answer }),
  kbDismiss: (rowIds) => request("POST", "/api/kb/unanswered/dismiss", { row_ids: rowIds }),
  kbRemovePhrasing: (id) => request("DELETE", `/api/kb/learned/phrasings/${encodeURIComponent(id)}`),
  kbRemoveEntry: (id) => request("DELETE", `/api/kb/learned/entries/${encodeURIComponent(id)}`),
};

/** Who is logged in (and the CSRF token), or a redirect to /login. */
export async function requireSession() {
  try {
    const me = await api.me();
    setCsrf(me.csrf_token);
    return me.agent;
  } catch (err) {
    if (err.status === 401) {
      toLogin();
      return new Promise(() => {}); // the page is going away
    }
    throw err;
  }
}
