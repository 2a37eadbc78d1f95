import { api, setCsrf } from "./api.js";
import { applyI18n, bindLanguageSelect, t } from "./i18n.js";

function nextUrl() {
  const next = new URLSearchParams(window.location.search).get("next");
  // only local paths: never an open redirect
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/console";
}

async function init() {
  applyI18n(document);
  bindLanguageSelect(document.getElementById("lang-select"));
  try {
    const me = await api.me();
    if (me && me.agent) { window.location.replace(nextUrl()); return; }
  } catch (_) { /* not logged in */ }

  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  const submit = document.getElementById("login-submit");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const username = form.username.value.trim();
    const password = form.password.value;
    if (!username || !password) {
      error.textContent = t("login_failed");
      error.hidden = false;
      (username ? form.password : form.username).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = t("signing_in");
    try {
      const result = await api.login(username, password);
      setCsrf(result.csrf_token);
      window.location.assign(nextUrl());
    } catch (err) {
      error.textContent = err.status === 401 ? t("login_failed") : t("error_generic", { m: err.message });
      error.hidden = false;
      form.password.select();
      form.password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = t("sign_in");
    }
  });
}

init();
