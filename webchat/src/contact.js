// Off hours (docs/widget.md#off-hours): when the shopper is handed to a person while nobody works, a small form
// offers to leave a phone number, a WeChat id or an e-mail address (each optional). It goes to the console
// (POST {console}/api/public/contact) and is shown to the agent on the ticket. The words promise only what runs:
// the reply comes here, in the chat (and is waiting the next time the shopper opens it); the agent may use the
// contact themselves. Kefu sends no SMS and no e-mail.

import { el } from "./cards.js";

const PHONE_CN = /^1[3-9]\d{9}$/;
const PHONE_INTL = /^\+\d{7,15}$/;
const WECHAT = /^[A-Za-z][A-Za-z0-9_-]{5,19}$/;
const EMAIL = /^[^\s@"<>()]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

/** The fields checked as the console checks them: {values} or {field, error} (i18n key). */
export function checkContact(raw) {
  let phone = String(raw.phone || "").replace(/[\s\-()]/g, "");
  if (phone.startsWith("+86")) phone = phone.slice(3);
  const wechat = String(raw.wechat || "").trim();
  const email = String(raw.email || "").trim().toLowerCase();
  if (phone && !(PHONE_CN.test(phone) || PHONE_INTL.test(phone))) return { field: "phone", error: "contact_bad_phone" };
  if (wechat && !WECHAT.test(wechat)) return { field: "wechat", error: "contact_bad_wechat" };
  if (email && !EMAIL.test(email)) return { field: "email", error: "contact_bad_email" };
  if (!phone && !wechat && !email) return { field: "phone", error: "contact_empty" };
  return { values: { phone, wechat, email } };
}

/** What the shopper reads once it is kept: the masked contact, in one line. */
export function describeContact(contact, t) {
  if (!contact) return "";
  const parts = [];
  if (contact.phone) parts.push(`${t.contact_phone} ${contact.phone}`);
  if (contact.wechat) parts.push(`${t.contact_wechat} ${contact.wechat}`);
  if (contact.email) parts.push(`${t.contact_email} ${contact.email}`);
  return parts.join("，");
}

export class ContactForm {
  constructor(widget) {
    this.widget = widget;
    this.node = null;
    this.left = null; // the masked contact the console keeps, once left
  }

  /** Offer the form once, while the shopper waits off hours and has not left a contact. */
  offer() {
    const w = this.widget;
    if (!w.consoleUrl || this.node || this.left) return;
    const t = w.t;
    const box = el("form", "contact");
    box.setAttribute("novalidate", "");
    box.setAttribute("aria-label", t.contact_title);
    box.append(el("div", "contact-title", t.contact_title), el("p", "contact-help", t.contact_help));
    const error = el("div", "contact-error");
    error.setAttribute("role", "alert");
    error.hidden = true;
    const inputs = {};
    for (const [name, type, autocomplete] of [["phone", "tel", "tel"], ["wechat", "text", "off"], ["email", "email", "email"]]) {
      const id = `kefu-contact-${name}`;
      const label = el("label", null, t[`contact_${name}`]);
      label.htmlFor = id;
      const input = el("input");
      input.id = id;
      input.type = type;
      input.name = name;
      input.autocomplete = autocomplete;
      input.maxLength = name === "email" ? 254 : 32;
      input.placeholder = t[`contact_${name}_hint`];
      input.addEventListener("input", () => {
        error.hidden = true; // a new try: the last complaint goes away
        input.removeAttribute("aria-invalid");
      });
      inputs[name] = input;
      const field = el("div", "field");
      field.append(label, input);
      box.append(field);
    }
    const actions = el("div", "contact-actions");
    const save = el("button", "primary", t.contact_save);
    save.type = "submit";
    const skip = el("button", "secondary", t.contact_skip);
    skip.type = "button";
    skip.addEventListener("click", () => {
      box.remove();
      this.node = null;
      this.skipped = true;
    });
    actions.append(save, skip);
    box.append(error, actions);
    box.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit(inputs, error, save);
    });
    this.node = box;
    w.append(box);
  }

  showError(error, inputs, field, message) {
    error.textContent = message;
    error.hidden = false;
    for (const [name, input] of Object.entries(inputs)) input.setAttribute("aria-invalid", String(name === field));
    if (field && inputs[field]) inputs[field].focus();
  }

  async submit(inputs, error, save) {
    const w = this.widget;
    const t = w.t;
    const checked = checkContact({ phone: inputs.phone.value, wechat: inputs.wechat.value, email: inputs.email.value });
    if (checked.error) return this.showError(error, inputs, checked.field, t[checked.error]);
    if (!w.sessionId) return this.showError(error, inputs, null, t.contact_offline);
    save.disabled = true;
    let response = null;
    let body = null;
    try {
      response = await fetch(`${w.consoleUrl}/api/public/contact`, {
        method: "POST",
        credentials: "omit",
        headers: { "Content-Type": "text/plain;charset=UTF-8" }, // a simple request: no preflight
        body: JSON.stringify({ session_id: w.sessionId, language: w.language, ...checked.values }),
      });
      body = await response.json().catch(() => null);
    } catch (failure) {
      response = null;
    }
    save.disabled = false;
    if (!response || response.status >= 500 || response.status === 429) {
      return this.showError(error, inputs, null, t.contact_offline); // what was typed stays in the form
    }
    if (!response.ok || !body || !body.contact) {
      const field = body && body.field;
      const key = field === "wechat" ? "contact_bad_wechat" : field === "email" ? "contact_bad_email" : "contact_bad_phone";
      return this.showError(error, inputs, field, body && body.error === "invalid_contact" ? t[key] : t.contact_offline);
    }
    this.kept(body.contact);
  }

  /** The contact is with the console: the form becomes one line saying what happens next. */
  kept(contact) {
    const w = this.widget;
    this.left = contact;
    const text = w.t.contact_kept(describeContact(contact, w.t));
    if (this.node) {
      const note = el("div", "notice contact-kept", text);
      this.node.replaceWith(note);
      this.node = note;
    }
    w.announce(text);
  }
}
