// The top bar shared by the console, the dashboard and the administration page: who is logged in, language, logout, toasts.
import { api, toLogin } from "./api.js";
import { applyI18n, bindLanguageSelect, t } from "./i18n.js";
import { el } from "./dom.js";

export function initShell(agent) {
  applyI18n(document);
  bindLanguageSelect(document.getElementById("lang-select"));
  const who = document.getElementById("whoami");
  const renderWho = () => {
    who.textContent = `${agent.display_name} (${agent.username}) · ${t(`role_${agent.role}`)}`;
  };
  renderWho();
  document.addEventListener("kefu:lang", renderWho);
  const dash = document.getElementById("nav-dashboard");
  if (dash && agent.role === "supervisor") dash.hidden = false;
  const admin = document.getElementById("nav-admin"); // administration: supervisors only (the API says 403 to agents)
  if (admin && agent.role === "supervisor") admin.hidden = false;
  document.getElementById("logout").addEventListener("click", async () => {
    try { await api.logout(); } catch (_) { /* the session may already be gone */ }
    toLogin();
  });
}

/** A short message; errors go to the alert region and stay longer. */
export function toast(message, kind = "info") {
  const region = document.getElementById(kind === "error" ? "alerts" : "toasts");
  if (!region) return;
  const item = el("div", { class: `toast toast-${kind}` }, message);
  region.appendChild(item);
  setTimeout(() => item.remove(), kind === "error" ? 9000 : 3500);
}

/** Ask with the page's <dialog>; resolves true on OK. */
export async function confirmDialog(message) {
  return (await askDialog(message)).ok;
}

/** Ask with the page's <dialog>, optionally with a note field; resolves {ok, note} (note: trimmed text or ""). */
export function askDialog(message, { withNote = false } = {}) {
  const dialog = document.getElementById("confirm-dialog");
  const field = document.getElementById("confirm-note-field");
  const note = document.getElementById("confirm-note");
  document.getElementById("confirm-text").textContent = message;
  field.hidden = !withNote;
  note.value = "";
  return new Promise((resolve) => {
    const onClose = () => {
      dialog.removeEventListener("close", onClose);
      resolve({ ok: dialog.returnValue === "ok", note: withNote ? note.value.trim() : "" });
    };
    dialog.addEventListener("close", onClose);
    dialog.returnValue = "cancel";
    dialog.showModal();
    (withNote ? note : document.getElementById("confirm-ok")).focus();
  });
}

export function errorText(err) {
  if (!err) return t("error_generic", { m: "?" });
  if (err.status === 502 || err.code === "rasa_unavailable") return t("error_rasa");
  if (err.status === 409) return t("error_conflict", { m: err.message });
  if (err.status === 403) return t("error_forbidden", { m: err.message });
  return t("error_generic", { m: err.message });
}
