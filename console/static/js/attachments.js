// What the web widget adds to a ticket (docs/console-ui.md, "From the web widget"):
// - the shopper's photos and files inline in the transcript (GET /api/attachments/{id}: the agent's session cookie,
//   served with nosniff and Content-Disposition; a photo opens full size in a new tab, a PDF downloads);
// - the context panel's "web widget" section (GET /api/widget/tickets/{id}): the contact left outside staffed
//   hours (whole only for the agent the ticket is assigned to, masked for everyone else), whether the shopper has
//   seen the agents' replies, and the comments that came with a CSAT rating.
// Built with dom.el (text only); the one <img> gets a src built from a checked id, never from the server's text.
import { api } from "./api.js";
import { el } from "./dom.js";
import { clock } from "./format.js";

const ATTACHMENT_ID = /^[0-9a-f]{32}$/;

export function formatSize(bytes) {
  const n = Number(bytes) || 0;
  return n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} KB`;
}

/** The photo or file a customer message carries (``data.attachment``), or null. */
export function attachmentNode(message, t) {
  const a = message?.data?.attachment;
  if (!a || typeof a !== "object" || !ATTACHMENT_ID.test(String(a.id || ""))) return null;
  const href = `/api/attachments/${a.id}`;
  const name = String(a.name || "");
  const caption = `${name} · ${formatSize(a.size)}`;
  if (a.kind === "image") {
    const img = document.createElement("img");
    img.className = "msg-photo";
    img.src = href;
    img.alt = t("attachment_photo_alt", { name });
    img.loading = "lazy";
    img.addEventListener("error", () => {
      img.replaceWith(el("span", { class: "msg-attachment-missing" }, t("attachment_missing")));
    });
    const link = el("a", { href, class: "msg-photo-link", title: t("attachment_open"), "aria-label": t("attachment_open") }, img);
    link.target = "_blank";
    link.rel = "noopener";
    return el("figure", { class: "msg-attachment", dataset: { attachment: a.id } }, link,
      el("figcaption", {}, caption));
  }
  return el("div", { class: "msg-attachment", dataset: { attachment: a.id } },
    el("a", { href, class: "msg-file" }, `📄 ${caption}`));
}

const cache = new Map(); // ticket id -> {key, data}

function mark(ticket) {
  return `${ticket.id}:${(ticket.messages || []).length}:${ticket.assignee?.id ?? ""}:${ticket.state}:${ticket.csat?.rating ?? ""}`;
}

/** The context panel's section for what came from the web widget; empty (nothing shown) for other channels. */
export function widgetSection(ticket, t, lang, rerender) {
  const box = el("section", { class: "ctx-section ctx-widget", dataset: { section: "widget" } });
  box.hidden = true;
  const cached = cache.get(ticket.id);
  if (cached && cached.key === mark(ticket)) {
    fill(box, cached.data, t, lang);
    return box;
  }
  api.widgetTicket(ticket.id).then((data) => {
    cache.set(ticket.id, { key: mark(ticket), data });
    fill(box, data, t, lang);
    if (!box.isConnected && rerender) rerender();
  }).catch(() => {
    // the section is extra: the rest of the ticket works without it
  });
  return box;
}

function fill(box, data, t, lang) {
  const rows = [];
  const contact = data?.contact;
  if (contact) {
    const items = [["contact_phone", contact.phone], ["contact_wechat", contact.wechat], ["contact_email", contact.email]]
      .filter(([, v]) => v);
    rows.push(el("div", { class: "widget-contact", dataset: { testid: "widget-contact" } },
      el("h5", {}, t("widget_contact")),
      el("dl", { class: "kv" }, items.map(([k, v]) => [el("dt", {}, t(k)), el("dd", {}, String(v))])),
      el("p", { class: "muted" }, contact.masked ? t("widget_contact_masked") : t("widget_contact_whole")),
      el("p", { class: "muted" }, t("widget_contact_left", { when: clock(isoOf(contact.left_at), lang) }))));
  }
  const notice = data?.reply_notice;
  if (notice && notice.replies > 0) {
    const text = notice.unseen > 0
      ? t("widget_replies_unseen", { n: notice.unseen })
      : t("widget_replies_seen", { when: clock(isoOf(notice.seen_at), lang) });
    rows.push(el("p", { class: `widget-notice${notice.unseen > 0 ? " unseen" : ""}`, dataset: { testid: "widget-notice" } }, text));
  }
  for (const c of data?.csat_comments || []) {
    rows.push(el("blockquote", { class: "widget-comment", dataset: { testid: "csat-comment" } },
      el("span", { class: "stars", "aria-label": t("csat_value", { n: c.rating }) }, "★".repeat(c.rating) + "☆".repeat(5 - c.rating)),
      " ", String(c.comment || "")));
  }
  const files = data?.attachments || [];
  if (files.length) rows.push(el("p", { class: "muted" }, t("widget_attachments", { n: files.length })));
  if (!rows.length) return;
  box.append(el("h4", {}, t("widget_section")), ...rows);
  box.hidden = false;
}

function isoOf(seconds) {
  return typeof seconds === "number" ? new Date(seconds * 1000).toISOString() : null;
}
