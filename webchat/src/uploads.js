// Photos and files from the shopper (docs/widget.md#photos-and-files): the attach button, checks before sending,
// the upload to the console (POST {console}/api/public/uploads, a multipart "simple" request: no preflight), the
// picture in the shopper's bubble, and the shopper's own files shown again after a reload (fetched with the
// session id, shown from a blob: URL; the session id never lands in the page).
//
// Nothing is lost: every file gets a client id and waits in a queue (kept in IndexedDB, so a reload keeps it too)
// until the console stored it *and* put it into the conversation; a retry names the same client id, so the
// console stores it once. Refusals (type, size, empty, too many) are said in the bubble and the file is not
// resent; the console or the chat service down: the bubble says so and the file is retried.

import { el } from "./cards.js";
import { randomId } from "./storage.js";

export const ACCEPT = ["image/jpeg", "image/png", "image/webp", "image/gif", "application/pdf"];
const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;
const RETRY_MS = [2000, 5000, 10000, 30000];
const DB_NAME = "kefu-uploads";
const STORE = "pending";

/** The type from the file's first bytes (what the console also checks), or null. */
export function sniffBytes(bytes) {
  const b = bytes || new Uint8Array(0);
  const starts = (...sig) => sig.every((v, i) => b[i] === v);
  if (starts(0xff, 0xd8, 0xff)) return "image/jpeg";
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "image/png";
  if (starts(0x47, 0x49, 0x46, 0x38) && (b[4] === 0x37 || b[4] === 0x39) && b[5] === 0x61) return "image/gif";
  if (starts(0x52, 0x49, 0x46, 0x46) && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50) return "image/webp";
  if (starts(0x25, 0x50, 0x44, 0x46, 0x2d)) return "application/pdf";
  return null;
}

export function formatSize(bytes, language) {
  const mb = bytes / (1024 * 1024);
  if (mb >= 1) return `${mb.toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

/** A small IndexedDB queue of files not yet sent; every call fails soft (private modes have no IndexedDB). */
class PendingFiles {
  constructor(namespace) {
    this.namespace = namespace;
    this.db = null;
  }

  async open() {
    if (this.db !== null) return this.db;
    this.db = await new Promise((resolve) => {
      try {
        const request = window.indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "client_id" });
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => resolve(false);
      } catch (error) {
        resolve(false);
      }
    });
    return this.db;
  }

  async run(mode, work) {
    const db = await this.open();
    if (!db) return null;
    return new Promise((resolve) => {
      try {
        const tx = db.transaction(STORE, mode);
        const result = work(tx.objectStore(STORE));
        tx.oncomplete = () => resolve(result && "result" in result ? result.result : true);
        tx.onerror = () => resolve(null);
      } catch (error) {
        resolve(null);
      }
    });
  }

  put(item) {
    return this.run("readwrite", (store) =>
      store.put({ client_id: item.client_id, ns: this.namespace, session: item.session, name: item.name, blob: item.blob, created: item.created }),
    );
  }

  remove(clientId) {
    return this.run("readwrite", (store) => store.delete(clientId));
  }

  async all(session) {
    const rows = (await this.run("readonly", (store) => store.getAll())) || [];
    return rows.filter((r) => r && r.ns === this.namespace && r.session === session && r.blob);
  }
}

export class Uploader {
  /** `widget`: the KefuWidget (its consoleUrl, sessionId, t, language, log helpers). */
  constructor(widget) {
    this.widget = widget;
    this.maxBytes = DEFAULT_MAX_BYTES;
    this.queue = []; // {client_id, name, blob, row, tries, holdUntil, state}
    this.pending = new PendingFiles(widget.server);
    this.blobUrls = new Map(); // attachment id -> object URL (the shopper's files restored from history)
    this.timer = null;
  }

  get enabled() {
    return Boolean(this.widget.consoleUrl);
  }

  /** The attach button and its hidden file input, for the composer. */
  controls() {
    const t = this.widget.t;
    const input = el("input");
    input.type = "file";
    input.accept = ACCEPT.join(",");
    input.multiple = true;
    input.hidden = true;
    input.setAttribute("aria-hidden", "true");
    input.tabIndex = -1;
    input.addEventListener("change", () => {
      const files = Array.from(input.files || []);
      input.value = "";
      for (const file of files) this.add(file);
    });
    const button = el("button", "attach", "📎");
    button.type = "button";
    button.title = t.attach;
    button.setAttribute("aria-label", t.attach);
    button.addEventListener("click", () => input.click());
    this.input = input;
    this.button = button;
    return [input, button];
  }

  /** Check one chosen file and queue it; a refusal is shown as a failed bubble with the reason. */
  async add(file) {
    const t = this.widget.t;
    const item = { client_id: randomId("f-"), name: String(file.name || ""), blob: file, tries: 0, created: Date.now() };
    let head = new Uint8Array(0);
    try {
      head = new Uint8Array(await file.slice(0, 16).arrayBuffer());
    } catch (error) {
      // unreadable (a file removed meanwhile): the empty check below says so
    }
    const type = sniffBytes(head);
    item.kind = type && type.startsWith("image/") ? "image" : "file";
    const row = this.bubble(item, type && type.startsWith("image/") ? URL.createObjectURL(file) : null);
    if (!file.size) return this.fail(item, t.upload_empty);
    if (!type) return this.fail(item, t.upload_type);
    if (file.size > this.maxBytes) return this.fail(item, t.upload_too_large(formatSize(this.maxBytes)));
    if (this.widget.privacyNotice) this.widget.privacyNotice.acknowledge();
    item.row = row;
    item.session = this.widget.sessionId;
    this.queue.push(item);
    this.pending.put(item);
    this.flush();
  }

  /** The shopper's bubble for a file: the picture (or a file chip) and a status line. */
  bubble(item, src, status = "sending") {
    const w = this.widget;
    const row = w.userRow("", status, Date.now() / 1000);
    row.classList.add("attachment");
    row.dataset.messageId = item.client_id;
    const bubble = row.querySelector(".bubble");
    bubble.append(this.content(item.kind, item.name, src, item.blob ? item.blob.size : 0));
    w.bubbles.set(item.client_id, row);
    w.seen.add(`u:${item.client_id}`);
    w.append(row);
    item.row = row;
    return row;
  }

  content(kind, name, src, size) {
    const t = this.widget.t;
    if (kind === "image") {
      const img = el("img", "photo");
      img.alt = name ? t.photo_alt(name) : t.photo;
      img.addEventListener("load", () => this.widget.scrollDown()); // the picture's height arrives late
      if (src) img.src = src;
      return img;
    }
    const chip = el("span", "file-chip", `📄 ${name || t.file}${size ? ` · ${formatSize(size)}` : ""}`);
    return chip;
  }

  fail(item, reason) {
    this.widget.setUserStatus(item.client_id, "failed", reason);
    this.widget.announce(reason);
    this.forget(item);
  }

  forget(item) {
    this.queue = this.queue.filter((q) => q !== item);
    this.pending.remove(item.client_id);
  }

  /** Files a reload interrupted: shown again and sent (the console keeps the first copy if it had one). */
  async restore() {
    if (!this.enabled || !this.widget.sessionId) return;
    for (const saved of await this.pending.all(this.widget.sessionId)) {
      if (this.queue.some((q) => q.client_id === saved.client_id)) continue;
      const type = saved.blob.type || "";
      const item = { ...saved, tries: 0, kind: type.startsWith("image/") ? "image" : "file" };
      if (this.widget.seen.has(`u:${item.client_id}`)) {
        this.pending.remove(item.client_id); // history has it: it was delivered before the reload
        continue;
      }
      this.bubble(item, item.kind === "image" ? URL.createObjectURL(item.blob) : null);
      this.queue.push(item);
    }
    this.flush();
  }

  /** Send what is due; called after a choice, on (re)connect and by a timer. */
  flush() {
    const w = this.widget;
    if (!this.enabled) return;
    const now = Date.now();
    for (const item of this.queue) {
      if (item.state === "sending" || (item.holdUntil && item.holdUntil > now)) continue;
      if (!w.sessionId || !w.confirmed) {
        w.setUserStatus(item.client_id, "queued_offline");
        continue;
      }
      this.send(item);
    }
  }

  schedule(item) {
    item.holdUntil = Date.now() + RETRY_MS[Math.min(item.tries, RETRY_MS.length - 1)];
    item.tries += 1;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.flush(), RETRY_MS[Math.min(item.tries - 1, RETRY_MS.length - 1)] + 50);
  }

  async send(item) {
    const w = this.widget;
    const t = w.t;
    item.state = "sending";
    w.setUserStatus(item.client_id, "sending");
    const form = new FormData();
    form.append("session_id", w.sessionId);
    form.append("client_id", item.client_id);
    form.append("language", w.language);
    form.append("file", item.blob, item.name || (item.kind === "image" ? "photo" : "document"));
    let response = null;
    let body = null;
    try {
      response = await fetch(`${w.consoleUrl}/api/public/uploads`, { method: "POST", body: form, credentials: "omit" });
      body = await response.json().catch(() => null);
    } catch (error) {
      response = null;
    }
    item.state = null;
    if (response && (response.status === 200 || response.status === 201) && body && body.attachment) {
      this.forget(item);
      w.setUserStatus(item.client_id, "sent");
      if (item.row) item.row.dataset.attachment = body.attachment.id;
      w.onAttachmentSent(body);
      return;
    }
    const code = body && body.error;
    if (!response) {
      w.setUserStatus(item.client_id, "sending", t.upload_console_down);
      this.schedule(item);
    } else if (response.status === 502 || response.status >= 500) {
      w.setUserStatus(item.client_id, "sending", t.upload_saved_retrying);
      this.schedule(item);
    } else if (response.status === 429) {
      w.setUserStatus(item.client_id, "sending", t.upload_rate);
      item.holdUntil = Date.now() + 60000;
      window.setTimeout(() => this.flush(), 60050);
    } else if (code === "invalid_session") {
      this.schedule(item); // the chat confirms a new session, then this retries
    } else {
      const reason =
        code === "unsupported_type" ? t.upload_type
        : code === "too_large" ? t.upload_too_large(formatSize(this.maxBytes))
        : code === "empty_file" ? t.upload_empty
        : code === "too_many_files" ? t.upload_too_many
        : t.upload_failed;
      this.fail(item, reason);
    }
  }

  /** A file the shopper sent earlier, from the history: the picture fetched with the session id. */
  async show(container, attachment) {
    const w = this.widget;
    if (!attachment || typeof attachment !== "object") return;
    const kind = attachment.kind === "image" ? "image" : "file";
    const node = this.content(kind, String(attachment.name || ""), null, Number(attachment.size) || 0);
    container.append(node);
    if (!w.consoleUrl || !w.sessionId || !/^[0-9a-f]{32}$/.test(String(attachment.id || ""))) return;
    let url = this.blobUrls.get(attachment.id);
    if (!url) {
      try {
        const response = await fetch(
          `${w.consoleUrl}/api/public/uploads/${attachment.id}?session_id=${encodeURIComponent(w.sessionId)}`,
          { credentials: "omit", cache: "no-store" },
        );
        if (!response.ok) throw new Error(String(response.status));
        url = URL.createObjectURL(await response.blob());
        this.blobUrls.set(attachment.id, url);
      } catch (error) {
        node.classList.add("missing");
        node.title = w.t.upload_unavailable;
        return;
      }
    }
    if (kind === "image") node.src = url;
    else {
      const link = el("a", "file-chip", node.textContent);
      link.href = url;
      link.download = String(attachment.name || "document.pdf");
      node.replaceWith(link);
    }
  }
}
