// The privacy notice (docs/privacy.md): one short line under the greeting, with a link to the seller's privacy
// policy, shown to a visitor until they send their first message; after that it is remembered (browser storage)
// and not shown again on later visits.
//
// The seller sets the link on the embed script (data-privacy-url="https://shop.example/privacy") or in
// window.KefuWidgetConfig.privacyUrl; only http(s) links are used (anything else shows the line without a link).
// The text is the widget's own (i18n.js: privacy_notice, privacy_link), or config.privacyNotice: a string or
// {"zh-Hans": ..., "zh-Hant": ..., "en": ...}.

import { el } from "./cards.js";

const SEEN_KEY = "privacy_seen";

function scriptData() {
  const script =
    document.currentScript || Array.from(document.scripts).find((s) => /kefu-widget(\.min)?\.js/.test(s.src || ""));
  return (script && script.dataset) || {};
}

/** The seller's privacy-policy link as an absolute http(s) URL, or null. */
export function privacyUrl(config, data) {
  const raw = (config && config.privacyUrl) || (data && data.privacyUrl) || "";
  if (typeof raw !== "string" || !raw.trim()) return null;
  try {
    const url = new URL(raw.trim(), window.location.href);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch (error) {
    return null;
  }
}

export class PrivacyNotice {
  constructor(storage, t, language, config) {
    this.storage = storage;
    this.t = t;
    this.language = language;
    this.config = config || {};
    this.url = privacyUrl(this.config, scriptData());
    this.node = null;
  }

  get seen() {
    return this.storage.get(SEEN_KEY) === "1";
  }

  text() {
    const custom = this.config.privacyNotice;
    if (typeof custom === "string" && custom.trim()) return custom;
    if (custom && typeof custom === "object" && typeof custom[this.language] === "string") return custom[this.language];
    return this.t.privacy_notice;
  }

  /** Add the notice with ``append`` unless this visitor has already written to us. */
  mount(append) {
    if (this.seen || (this.node && this.node.isConnected)) return;
    const row = el("div", "privacy-notice");
    row.setAttribute("role", "note");
    Object.assign(row.style, { margin: "4px 12px 8px", fontSize: "12px", color: "#57606a", textAlign: "center" });
    row.append(document.createTextNode(`${this.text()} `));
    if (this.url) {
      const link = el("a", null, this.t.privacy_link);
      link.href = this.url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      Object.assign(link.style, { color: "inherit", textDecoration: "underline" });
      row.append(link);
    }
    this.node = row;
    append(row);
  }

  /** The visitor sent a message: they have seen it (the line stays for this page, later visits skip it). */
  acknowledge() {
    if (!this.seen) this.storage.set(SEEN_KEY, "1");
  }
}
