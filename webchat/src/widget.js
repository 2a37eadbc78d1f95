// The Kefu chat widget: UI in a shadow root, socket.io to Rasa, history from the console.
//
// Protocol (docs/widget.md): Rasa's socket.io events session_request/session_confirm and
// user_uttered/bot_uttered, plus Kefu's user_uttered_ack, kefu_error and bot_typing when
// the server is Kefu's channel. Every outgoing message has a client id (metadata.message_id)
// and stays in a persisted outbox until the server acknowledges it (after the turn was
// processed), so a network drop or a reload never loses it and the server never processes it
// twice.
//
// Session ids are issued and signed by the server: the widget asks with the id it stored (or
// none) and keeps whatever id session_confirm names. A page whose signed-in customer differs
// from the one the stored session belongs to (another userToken, or none after one: logged
// out) starts a new session instead of showing the previous customer's conversation.
//
// Feedback (docs/widget.md#feedback): the 👍/👎 buttons the bot puts under an FAQ answer
// (/answer_feedback{...}) are drawn as two small icons in the answer's row, and the CSAT stars of a
// closed chat or of a bot-only conversation as a star box. Both send their payload quietly: no
// customer bubble, the icons or stars themselves show what was chosen (also after a reload).
//
// Photos and files (uploads.js), the off-hours contact form (contact.js) and the replies the shopper has not
// seen (notices.js) talk to the console over HTTP; every message shows its time in the shop's zone; an empty
// conversation offers suggested first questions; a CSAT rating may carry a comment.
//
// All server and user text is rendered with textContent.

import { io } from "socket.io-client";
import { SHOP_TIME_ZONE, cardActions, el, messageTime, renderCard } from "./cards.js";
import { ContactForm } from "./contact.js";
import { pickLanguage, strings } from "./i18n.js";
import { ReplyNotices } from "./notices.js";
import { PrivacyNotice } from "./privacy.js";
import { Storage, randomId } from "./storage.js";
import { css } from "./styles.js";
import { Uploader } from "./uploads.js";

const MAX_CHARS = 2000;
const RESEND_AFTER_MS = 8000;
const RATE_RETRY_MS = 15000;
const SVG_NS = "http://www.w3.org/2000/svg";
const CHAT_ICON = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2zm3 6a1.3 1.3 0 1 0 0 2.6A1.3 1.3 0 0 0 7 10zm5 0a1.3 1.3 0 1 0 0 2.6 1.3 1.3 0 0 0 0-2.6zm5 0a1.3 1.3 0 1 0 0 2.6 1.3 1.3 0 0 0 0-2.6z";
const MAX_COMMENT = 1000;
const CSAT_PAYLOAD = /^\/csat_rating\{"rating":\s*([1-5])\}$/;
const FEEDBACK_PAYLOAD = /^\/answer_feedback\{"feedback":"(up|down)","offer":"([\w-]{1,64})"\}$/;

function icon(path) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const p = document.createElementNS(SVG_NS, "path");
  p.setAttribute("d", path);
  svg.append(p);
  return svg;
}

/**
 * Identity of a bot message, the same for its live emit and its restored copy: the event's time
 * (milliseconds) plus its content. One action often says several things within the same
 * millisecond ("did you mean…" and "none of these"), so time alone would drop all but the first.
 */
function botKey(payload) {
  const timestamp = payload && payload.timestamp;
  if (typeof timestamp !== "number" || !isFinite(timestamp)) return null;
  const custom = payload.custom && typeof payload.custom === "object" ? payload.custom : {};
  const kind = (custom.kefu_event && custom.kefu_event.type) || (custom.kefu_card && custom.kefu_card.type) || "";
  return `b:${Math.round(timestamp * 1000)}:${kind}:${typeof payload.text === "string" ? payload.text : ""}`;
}

function kefuEvent(payload) {
  const custom = payload && payload.custom;
  return custom && typeof custom === "object" && custom.kefu_event && typeof custom.kefu_event === "object"
    ? custom.kefu_event
    : null;
}

function kefuCard(payload) {
  const custom = payload && payload.custom;
  return custom && typeof custom === "object" && custom.kefu_card && typeof custom.kefu_card === "object"
    ? custom.kefu_card
    : null;
}

/** Who a userToken is for: the customer id inside a signed web token, else the token itself. */
function tokenSubject(token) {
  if (!token) return "";
  const text = String(token);
  try {
    const part = text.split(".")[0].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(part + "===".slice((part.length + 3) % 4)));
    if (claims && typeof claims === "object" && claims.cid) return `cid:${claims.cid}`;
  } catch (error) {
    // not a Kefu web token: the token string stands for the customer
  }
  return `tok:${text}`;
}

/** FNV-1a of the subject, so browser storage does not keep the customer id itself. */
function identityOf(token) {
  const subject = tokenSubject(token);
  if (!subject) return "";
  let hash = 0x811c9dc5;
  for (let i = 0; i < subject.length; i += 1) {
    hash ^= subject.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `u${hash.toString(16)}`;
}

/** A stored session belongs to someone else when a signed-in customer changed or logged out. */
export function needsNewSession(storedIdentity, currentIdentity) {
  if (storedIdentity === null || storedIdentity === undefined) return false; // first visit
  if (storedIdentity === currentIdentity) return false;
  return storedIdentity !== ""; // anonymous -> signed in keeps the conversation
}

function buttonsOf(payload) {
  const raw = (payload && (payload.buttons || payload.quick_replies)) || [];
  return Array.isArray(raw) ? raw.filter((b) => b && typeof b === "object" && (b.title || b.payload)) : [];
}

export class KefuWidget {
  constructor(options) {
    this.server = (options.server || window.location.origin).replace(/\/$/, "");
    this.consoleUrl = options.console ? options.console.replace(/\/$/, "") : null;
    this.socketPath = options.socketPath || "/socket.io";
    this.config = options.config || {};
    this.language = pickLanguage(this.config.language || options.lang, navigator.languages || [navigator.language]);
    this.t = strings(this.language);
    this.userToken = this.config.userToken || options.userToken || null;
    this.storage = new Storage(this.server);
    this.identity = identityOf(this.userToken);
    if (needsNewSession(this.storage.get("identity"), this.identity)) this.forgetSession();
    this.storage.set("identity", this.identity);
    this.sessionId = this.storage.get("session");
    this.outbox = this.storage.getJSON("outbox", []).filter((m) => m && m.message_id && m.text);
    this.seen = new Set();
    this.bubbles = new Map(); // message_id -> row element of a user message
    this.mode = "bot";
    this.agentName = null;
    this.unread = 0;
    this.open = false;
    this.confirmed = false;
    this.everConfirmed = false;
    this.lastCsat = null;
    this.thumbs = new Map(); // offer id -> the 👍/👎 box under that answer
    this.retryTimer = null;
    this.kefuServer = false;
    this.timeZone = typeof this.config.timeZone === "string" ? this.config.timeZone : SHOP_TIME_ZONE;
    this.uploader = new Uploader(this);
    this.contact = new ContactForm(this);
    this.replyNotices = new ReplyNotices(this);
    this.offHours = false; // handed over while nobody works, and no agent has answered yet
    this.suggestions = null; // the chips of an empty conversation
  }

  /** Drop the stored session and queued messages (they belong to another customer). */
  forgetSession() {
    this.storage.remove("session");
    this.storage.remove("outbox");
    this.sessionId = null;
    this.outbox = [];
  }

  /** The page's customer changed (setUserToken): start a new session when it must. */
  setUserToken(token) {
    const next = token ? String(token) : null;
    const identity = identityOf(next);
    const fresh = needsNewSession(this.identity, identity);
    this.userToken = next;
    this.identity = identity;
    this.storage.set("identity", identity);
    if (!fresh) return;
    this.forgetSession();
    this.seen = new Set();
    this.bubbles = new Map();
    this.lastCsat = null;
    this.thumbs = new Map();
    if (this.log) {
      this.log.textContent = "";
      this.setMode("bot");
      this.renderGreeting();
    }
    if (this.socket && this.socket.connected) {
      this.confirmed = false;
      this.socket.emit("session_request", { session_id: null });
    }
  }

  // ------------------------------------------------------------------ UI
  mount() {
    this.host = document.createElement("div");
    this.host.id = "kefu-widget";
    this.host.setAttribute("data-kefu-widget", "");
    const root = this.host.attachShadow({ mode: "open" });
    this.root = root;
    const style = document.createElement("style");
    style.textContent = css(this.config.colors || {});
    root.append(style);

    const t = this.t;
    const position = this.config.position === "left" ? "left" : "right";
    this.frame = el("div", `kefu ${position}`);
    this.frame.setAttribute("lang", this.language);

    this.panel = el("section", "panel");
    this.panel.id = "kefu-panel";
    this.panel.hidden = true;
    this.panel.setAttribute("role", "dialog");
    this.panel.setAttribute("aria-label", this.config.title || t.title);

    const header = el("header");
    if (this.config.avatar) {
      const img = el("img", "avatar");
      img.src = String(this.config.avatar);
      img.alt = "";
      header.append(img);
    } else {
      const letter = el("span", "avatar", (this.config.title || t.title).slice(0, 1));
      letter.setAttribute("aria-hidden", "true");
      header.append(letter);
    }
    const titles = el("div", "titles");
    this.titleEl = el("h2", null, this.config.title || t.title);
    this.statusEl = el("div", "status", t.status_bot);
    titles.append(this.titleEl, this.statusEl);
    const closeButton = el("button", "close", "×");
    closeButton.type = "button";
    closeButton.setAttribute("aria-label", t.close);
    closeButton.addEventListener("click", () => this.setOpen(false));
    header.append(titles, closeButton);

    this.netbar = el("div", "netbar", t.offline);
    this.netbar.hidden = true;
    this.netbar.setAttribute("role", "status");

    this.log = el("div", "log");
    this.log.setAttribute("role", "log");
    this.log.setAttribute("aria-live", "polite");
    this.log.setAttribute("aria-label", t.log_label);
    this.log.tabIndex = 0;

    this.typingEl = el("div", "typing");
    this.typingEl.hidden = true;
    this.typingEl.setAttribute("aria-label", t.typing);
    this.typingEl.append(el("span"), el("span"), el("span"));

    this.announcer = el("div", "sr-only");
    this.announcer.setAttribute("role", "status");
    this.announcer.setAttribute("aria-live", "polite");

    const form = el("form");
    form.setAttribute("novalidate", "");
    const label = el("label", "sr-only", t.input_label);
    label.htmlFor = "kefu-input";
    this.input = el("textarea");
    this.input.id = "kefu-input";
    this.input.rows = 1;
    this.input.maxLength = MAX_CHARS;
    this.input.placeholder = t.placeholder;
    this.input.setAttribute("autocomplete", "off");
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    const sendButton = el("button", "send", t.send);
    sendButton.type = "submit";
    if (this.uploader.enabled) form.append(...this.uploader.controls());
    form.append(label, this.input, sendButton);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });

    this.panel.append(header, this.netbar, this.log, form, this.announcer);

    this.launcher = el("button", "launcher");
    this.launcher.type = "button";
    this.launcher.setAttribute("aria-label", t.open);
    this.launcher.setAttribute("aria-expanded", "false");
    this.launcher.setAttribute("aria-controls", "kefu-panel");
    this.launcher.append(icon(CHAT_ICON));
    this.badge = el("span", "badge");
    this.badge.hidden = true;
    this.badge.setAttribute("aria-hidden", "true");
    this.launcher.append(this.badge);
    this.launcher.addEventListener("click", () => this.setOpen(!this.open));

    this.frame.append(this.panel, this.launcher);
    root.append(this.frame);
    this.frame.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.open) {
        event.stopPropagation();
        this.setOpen(false);
      }
    });
    document.body.append(this.host);

    this.renderGreeting();
    this.privacyNotice = new PrivacyNotice(this.storage, t, this.language, this.config); // privacy.js
    this.privacyNotice.mount((node) => this.append(node));
    if (this.storage.get("open") === "1") this.setOpen(true, false);
  }

  setOpen(open, focus = true) {
    this.open = open;
    this.panel.hidden = !open;
    this.frame.classList.toggle("open", open);
    this.launcher.setAttribute("aria-expanded", String(open));
    this.storage.set("open", open ? "1" : "0");
    if (open) {
      this.setUnread(0);
      this.replyNotices.looked();
      this.scrollDown();
      if (focus) this.input.focus();
    } else if (focus) {
      this.launcher.focus();
    }
  }

  setUnread(count) {
    this.unread = count;
    this.badge.hidden = count === 0;
    this.badge.textContent = count > 99 ? "99+" : String(count);
    this.launcher.setAttribute("aria-label", count ? `${this.t.open} (${this.t.unread(count)})` : this.t.open);
  }

  announce(text) {
    this.announcer.textContent = "";
    window.setTimeout(() => {
      this.announcer.textContent = text;
    }, 50);
  }

  scrollDown() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  append(node) {
    if (this.typingEl.parentNode === this.log) this.log.insertBefore(node, this.typingEl);
    else this.log.append(node);
    this.scrollDown();
  }

  renderGreeting() {
    const greeting = this.config.greeting;
    const text =
      typeof greeting === "string" ? greeting : greeting && typeof greeting === "object" ? greeting[this.language] : null;
    const row = this.botRow(text || this.t.greeting, "bot");
    row.dataset.greeting = "true";
    this.append(row);
  }

  /** The message's time in the shop's zone, as a <time> element (null without a time). */
  stamp(seconds) {
    const shown = messageTime(seconds, this.language, this.timeZone);
    if (!shown) return null;
    const node = el("time", "stamp", shown);
    node.dateTime = new Date(seconds * 1000).toISOString();
    return node;
  }

  botRow(text, author, agentName, at) {
    const row = el("div", `row ${author}`);
    const who = author === "agent" ? this.t.agent_label(agentName || this.agentName || this.t.agent_default) : this.t.bot;
    const line = el("div", "who", who);
    const time = this.stamp(at);
    if (time) line.append(document.createTextNode(" · "), time);
    row.append(line);
    if (text) row.append(el("div", "bubble", text));
    return row;
  }

  userRow(text, status, at) {
    const row = el("div", "row user");
    const label = el("span", "sr-only", `${this.t.you}: `);
    const bubble = el("div", "bubble");
    bubble.append(label, document.createTextNode(text));
    row.append(bubble);
    const footer = el("div", "foot");
    const time = this.stamp(at);
    if (time) footer.append(time);
    const meta = el("span", "meta", status ? this.t[status] : "");
    meta.hidden = !status;
    footer.append(meta);
    row.append(footer);
    return row;
  }

  setUserStatus(messageId, status, detail) {
    const row = this.bubbles.get(messageId);
    if (!row) return;
    const meta = row.querySelector(".meta");
    row.classList.toggle("failed", status === "failed");
    row.dataset.status = status;
    if (meta) {
      meta.textContent = detail || (status ? this.t[status] : "");
      meta.hidden = !meta.textContent;
    }
  }

  notice(text, kind) {
    const node = el("div", `notice${kind ? ` ${kind}` : ""}`, text);
    this.append(node);
    return node;
  }

  replies(buttons, { disabled = false } = {}) {
    const box = el("div", "replies");
    for (const b of buttons) {
      const title = String(b.title || b.payload);
      const button = el("button", null, title);
      button.type = "button";
      button.disabled = disabled;
      button.addEventListener("click", () => {
        for (const other of box.querySelectorAll("button")) other.disabled = true;
        this.send(String(b.payload || b.title), title);
      });
      box.append(button);
    }
    return box;
  }

  showTyping(on) {
    if (on && this.mode === "agent") on = false; // a paused bot never answers; the agent has no typing signal
    if (on) {
      this.typingEl.hidden = false;
      this.log.append(this.typingEl);
      this.scrollDown();
    } else {
      this.typingEl.hidden = true;
    }
  }

  setMode(mode, agentName) {
    this.mode = mode;
    if (agentName) this.agentName = agentName;
    const t = this.t;
    this.statusEl.classList.toggle("agent", mode === "agent");
    this.statusEl.textContent =
      mode === "agent" ? t.status_agent(this.agentName || t.agent_default) : mode === "queued" ? t.status_queued : t.status_bot;
  }

  // ------------------------------------------------------------------ messages in
  /** Render one bot/agent message (live or restored). Returns true when something new was shown. */
  renderBot(payload, { live, author: forcedAuthor, agent } = {}) {
    const key = botKey(payload);
    if (key) {
      if (this.seen.has(key)) return false;
      this.seen.add(key);
    }
    const t = this.t;
    const event = kefuEvent(payload);
    const card = kefuCard(payload);
    let buttons = buttonsOf(payload);
    const text = typeof payload.text === "string" ? payload.text : "";
    let author = forcedAuthor || "bot";
    let agentName = agent;
    let csat = false;

    if (event) {
      const type = String(event.type || "");
      const name = event.agent ? String(event.agent) : null;
      if (type === "agent_message") {
        author = "agent";
        agentName = name || this.agentName;
        this.offHours = false;
        if (this.mode !== "agent") this.setMode("agent", agentName);
        if (live) this.replyNotices.live();
      } else if (type === "handoff_queued") {
        this.setMode("queued");
        this.offHours = event.staffed === false;
        const minutes = event.eta_seconds ? Math.max(1, Math.round(Number(event.eta_seconds) / 60)) : null;
        this.notice(
          // the server words the place and wait once (bot/responses/handoff.yml), for the bot and this banner
          typeof event.notice === "string" && event.notice
            ? event.notice
            : event.staffed === false && event.opens_at_local
            ? t.banner_offline(String(event.opens_at_local))
            : t.banner_queued(event.position ? String(event.position) : null, minutes),
          "handoff",
        );
      } else if (type === "agent_joined") {
        // the greeting is the agent's own ("您好，人工客服小王已接入…"): labelled with the agent, not the bot
        author = "agent";
        agentName = name || this.agentName;
        this.offHours = false;
        this.setMode("agent", name);
        this.notice(t.banner_agent_joined(name || t.agent_default), "handoff");
        if (live) this.announce(t.banner_agent_joined(name || t.agent_default));
      } else if (type === "transferred") {
        this.setMode("queued");
        this.notice(t.banner_transferred(event.team_label ? String(event.team_label) : event.team ? String(event.team) : ""), "handoff");
      } else if (type === "handoff_closed") {
        this.setMode("bot");
        this.offHours = false;
        this.notice(t.banner_closed, "handoff");
        csat = true;
        buttons = buttons.filter((b) => !CSAT_PAYLOAD.test(String(b.payload || "")));
      } else if (type === "returned_to_bot") {
        this.setMode("bot");
        this.offHours = false;
        this.notice(t.banner_returned, "handoff");
      } else if (type === "rating_request" && event.kind === "bot_csat") {
        csat = true;
        buttons = buttons.filter((b) => !CSAT_PAYLOAD.test(String(b.payload || "")));
      }
    }
    const feedback = buttons.filter((b) => FEEDBACK_PAYLOAD.test(String(b.payload || "")));
    if (feedback.length) buttons = buttons.filter((b) => !feedback.includes(b));

    const parts = [];
    if (text) parts.push(text);
    const row = this.botRow(text, author, agentName, payload.timestamp);
    if (author === "agent") row.dataset.agent = agentName || "";
    if (payload.image || (payload.attachment && payload.attachment.type === "image")) {
      const src = payload.image || (payload.attachment.payload && payload.attachment.payload.src);
      if (typeof src === "string" && /^https?:\/\//i.test(src)) {
        const img = el("img");
        img.src = src;
        img.alt = "";
        img.style.maxWidth = "100%";
        img.style.borderRadius = "10px";
        row.append(img);
      }
    }
    if (card) {
      const node = renderCard(card, t);
      if (node) row.append(node);
      if (!buttons.length) buttons = cardActions(card);
    }
    if (buttons.length) row.append(this.replies(buttons));
    if (feedback.length) row.append(this.renderThumbs(feedback));
    if (row.childNodes.length > 1) this.append(row);
    if (csat) this.renderCsat(event, event && event.type === "rating_request" ? t.bot_csat_question : t.csat_question);
    if (live) {
      this.showTyping(false);
      if (!this.open) this.setUnread(this.unread + 1);
      if (this.offHours && event && event.type === "handoff_queued") this.contact.offer();
    }
    return true;
  }

  /** Two small icons under an FAQ answer; a click sends the payload without a customer bubble. */
  renderThumbs(buttons) {
    const t = this.t;
    const box = el("div", "thumbs");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", t.answer_feedback);
    const label = el("span", "thumbs-label", t.answer_feedback);
    box.append(label);
    for (const b of buttons) {
      const payload = String(b.payload);
      const [, value, offer] = FEEDBACK_PAYLOAD.exec(payload);
      const button = el("button", null, value === "up" ? "👍" : "👎");
      button.type = "button";
      button.dataset.feedback = value;
      button.title = typeof b.title === "string" && b.title ? b.title.replace(/^[👍👎]\s*/u, "") : t[`answer_feedback_${value}`];
      button.setAttribute("aria-label", button.title);
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", () => {
        if (box.dataset.chosen) return;
        this.markThumbs(box, value);
        this.send(payload, null, { quiet: true });
      });
      box.dataset.offer = offer;
      box.append(button);
    }
    if (box.dataset.offer) this.thumbs.set(box.dataset.offer, box);
    return box;
  }

  markThumbs(box, value) {
    if (!box || box.dataset.chosen) return;
    box.dataset.chosen = value;
    box.querySelectorAll("button").forEach((b) => {
      b.disabled = true;
      b.setAttribute("aria-pressed", String(b.dataset.feedback === value));
      b.classList.toggle("on", b.dataset.feedback === value);
    });
    const label = box.querySelector(".thumbs-label");
    if (label) label.textContent = this.t.answer_feedback_thanks;
  }

  renderCsat(event, title) {
    const t = this.t;
    const box = el("div", "csat");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", title || t.csat_question);
    const question = el("div", null, title || t.csat_question);
    const stars = el("div", "stars");
    const buttons = [];
    for (let n = 1; n <= 5; n += 1) {
      const b = el("button", null, "★");
      b.type = "button";
      b.setAttribute("aria-label", t.csat_star(n));
      b.dataset.rating = String(n);
      b.addEventListener("mouseenter", () => buttons.forEach((x, i) => x.classList.toggle("on", i < n)));
      b.addEventListener("focus", () => buttons.forEach((x, i) => x.classList.toggle("on", i < n)));
      b.addEventListener("click", () => {
        if (box.dataset.rated) return;
        this.markRated(box, n);
        this.send(`/csat_rating{"rating":${n}}`, null, { quiet: true }); // the bot thanks once, in its reply
        this.offerComment(box, n, event);
      });
      buttons.push(b);
      stars.append(b);
    }
    stars.addEventListener("mouseleave", () => {
      if (!box.dataset.rated) buttons.forEach((x) => x.classList.remove("on"));
    });
    box.append(question, stars);
    this.lastCsat = box;
    this.append(box);
    if (event && event.ticket_id) box.dataset.ticket = String(event.ticket_id);
  }

  /** After the stars: an optional comment, stored with the rating by the console. */
  offerComment(box, rating, event) {
    if (!this.consoleUrl || box.querySelector(".comment")) return;
    const t = this.t;
    const form = el("form", "comment");
    form.setAttribute("novalidate", "");
    const id = `kefu-comment-${randomId("").slice(0, 8)}`;
    const label = el("label", null, t.csat_comment_label);
    label.htmlFor = id;
    const input = el("textarea");
    input.id = id;
    input.rows = 2;
    input.maxLength = MAX_COMMENT;
    input.placeholder = t.csat_comment_hint;
    const send = el("button", null, t.csat_comment_send);
    send.type = "submit";
    const status = el("div", "comment-status");
    status.setAttribute("role", "status");
    form.append(label, input, send, status);
    input.addEventListener("input", () => {
      status.textContent = "";
    });
    const clientId = randomId("c-");
    form.addEventListener("submit", async (submitEvent) => {
      submitEvent.preventDefault();
      const comment = input.value.trim();
      if (!comment) {
        status.textContent = t.csat_comment_empty;
        input.focus();
        return;
      }
      send.disabled = true;
      const kind = event && event.type === "rating_request" ? "bot" : "agent";
      const body = { session_id: this.sessionId, client_id: clientId, rating, comment, kind };
      if (event && Number.isInteger(event.ticket_id)) body.ticket_id = event.ticket_id;
      let ok = false;
      try {
        const response = await fetch(`${this.consoleUrl}/api/public/csat-comment`, {
          method: "POST",
          credentials: "omit",
          headers: { "Content-Type": "text/plain;charset=UTF-8" },
          body: JSON.stringify(body),
        });
        ok = response.ok;
      } catch (error) {
        ok = false;
      }
      send.disabled = false;
      if (ok) {
        const done = el("div", "comment-done", t.csat_comment_thanks);
        done.dataset.comment = comment;
        form.replaceWith(done);
        this.announce(t.csat_comment_thanks);
      } else {
        status.textContent = t.csat_comment_failed; // the words stay in the box for another try
      }
    });
    box.append(form);
  }

  markRated(box, n) {
    if (!box) return;
    box.dataset.rated = String(n);
    box.querySelectorAll("button").forEach((b, i) => {
      b.disabled = true;
      b.classList.toggle("on", i < n);
      b.setAttribute("aria-pressed", String(i < n));
    });
    const question = box.firstChild;
    if (question) question.textContent = this.t.csat_rated(n);
  }

  renderUserFromHistory(message) {
    const said = String(message.text || "");
    const feedback = FEEDBACK_PAYLOAD.exec(said);
    const rated = CSAT_PAYLOAD.exec(said);
    if (feedback || rated) {
      // a quiet click (👍/👎, stars): shown by the control it came from, never as a bubble
      if (message.message_id) this.dropFromOutbox(message.message_id);
      if (feedback) this.markThumbs(this.thumbs.get(feedback[2]), feedback[1]);
      else if (this.lastCsat && !this.lastCsat.dataset.rated) this.markRated(this.lastCsat, Number(rated[1]));
      return;
    }
    const id = message.message_id;
    const key = id ? `u:${id}` : `uh:${message.timestamp}`;
    if (this.seen.has(key)) {
      if (id) {
        this.setUserStatus(id, "");
        this.dropFromOutbox(id);
      }
      return;
    }
    this.seen.add(key);
    const attachment = message.attachment && typeof message.attachment === "object" ? message.attachment : null;
    const row = this.userRow(attachment ? "" : message.text || "", "", message.timestamp);
    if (attachment) {
      row.classList.add("attachment");
      this.uploader.show(row.querySelector(".bubble"), attachment);
    }
    if (id) {
      this.bubbles.set(id, row);
      this.dropFromOutbox(id);
    }
    this.append(row);
    // conversations from before the stars were quiet: the rating was a bubble "评分：★★★★☆"
    if (/^(評分|评分|Rating)[:：]/.test(String(message.text || "")) && this.lastCsat) {
      this.markRated(this.lastCsat, (String(message.text).match(/★/g) || []).length);
    }
  }

  async loadHistory() {
    if (!this.consoleUrl || !this.sessionId) return;
    let body;
    try {
      const response = await fetch(
        `${this.consoleUrl}/api/public/history?session_id=${encodeURIComponent(this.sessionId)}`,
        { credentials: "omit", cache: "no-store" },
      );
      if (!response.ok) throw new Error(`history ${response.status}`);
      body = await response.json();
    } catch (error) {
      if (!this.historyFailedShown) {
        this.historyFailedShown = true;
        this.notice(this.t.history_failed, "error");
      }
      return;
    }
    const messages = Array.isArray(body && body.messages) ? body.messages : [];
    for (const m of messages) {
      if (!m || typeof m !== "object") continue;
      if (m.author === "customer") {
        this.renderUserFromHistory(m);
        if (!CSAT_PAYLOAD.test(String(m.text || "")) && !FEEDBACK_PAYLOAD.test(String(m.text || ""))) this.hideSuggestions();
      }
      else
        this.renderBot(
          { text: m.text, buttons: m.buttons, custom: m.custom, timestamp: m.timestamp },
          { live: false, author: m.author === "agent" ? "agent" : "bot", agent: m.agent },
        );
    }
    this.historyLoaded = true;
  }

  // ------------------------------------------------------------------ messages out
  submit() {
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = "";
    this.send(text);
    this.input.focus();
  }

  send(text, displayText, { quiet = false } = {}) {
    const message = { message_id: randomId("m-"), text: String(text).slice(0, MAX_CHARS), created: Date.now() };
    if (!quiet) this.hideSuggestions();
    if (displayText && displayText !== text) message.display_text = String(displayText);
    if (quiet) message.quiet = true; // a control's click: no bubble, the control shows it
    if (!quiet && this.privacyNotice) this.privacyNotice.acknowledge();
    this.outbox.push(message);
    this.saveOutbox();
    this.showPending(message);
    this.flush();
  }

  showPending(message) {
    if (message.quiet) return;
    const key = `u:${message.message_id}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const row = this.userRow(message.display_text || message.text, this.confirmed ? "sending" : "queued_offline",
      (message.created || Date.now()) / 1000);
    row.dataset.messageId = message.message_id;
    this.bubbles.set(message.message_id, row);
    this.append(row);
  }

  saveOutbox() {
    this.storage.setJSON("outbox", this.outbox);
  }

  dropFromOutbox(messageId) {
    const before = this.outbox.length;
    this.outbox = this.outbox.filter((m) => m.message_id !== messageId);
    if (this.outbox.length !== before) this.saveOutbox();
  }

  metadata(message) {
    const metadata = { message_id: message.message_id, language: this.language };
    if (message.display_text) metadata.display_text = message.display_text;
    if (this.userToken) metadata.kefu_user_token = this.userToken;
    return metadata;
  }

  emitMessage(message) {
    message.sentAt = Date.now();
    this.socket.emit("user_uttered", {
      message: message.text,
      session_id: this.sessionId,
      metadata: this.metadata(message),
    });
    if (!this.kefuServer) {
      // plain Rasa sends no acks and does not de-duplicate: sent once is all we can do
      this.dropFromOutbox(message.message_id);
      this.setUserStatus(message.message_id, "");
    }
  }

  /** Send every queued message that is due, oldest first; the server drops doubles. */
  flush(force = false) {
    if (!this.socket || !this.socket.connected || !this.confirmed) return;
    const now = Date.now();
    for (const message of this.outbox) {
      if (message.holdUntil && message.holdUntil > now) continue;
      if (force || !message.sentAt || now - message.sentAt > RESEND_AFTER_MS) {
        this.setUserStatus(message.message_id, "sending");
        this.emitMessage(message);
        if (this.mode !== "agent") this.showTyping(true);
      }
    }
  }

  onAck(ack) {
    if (!ack || typeof ack.message_id !== "string") return;
    this.dropFromOutbox(ack.message_id);
    this.setUserStatus(ack.message_id, "sent");
  }

  onError(error) {
    if (!error || typeof error !== "object") return;
    const id = typeof error.message_id === "string" ? error.message_id : null;
    const t = this.t;
    const message = id ? this.outbox.find((m) => m.message_id === id) : null;
    this.showTyping(false);
    if (error.code === "rate_limited" && message) {
      message.holdUntil = Date.now() + RATE_RETRY_MS;
      message.sentAt = null;
      this.setUserStatus(id, "sending", t.error_rate);
    } else if (error.code === "processing_failed" && message) {
      message.holdUntil = Date.now() + 3000;
      message.sentAt = null;
    } else if (error.code === "no_session" || error.code === "invalid_session") {
      if (error.code === "invalid_session") this.sessionId = null;
      if (message) message.sentAt = null;
      this.confirmed = false;
      this.socket.emit("session_request", { session_id: this.sessionId });
    } else if (id) {
      this.dropFromOutbox(id);
      this.setUserStatus(id, "failed", error.code === "message_too_long" ? t.error_too_long : t.error_generic);
      this.announce(error.code === "message_too_long" ? t.error_too_long : t.error_generic);
    }
  }

  // ------------------------------------------------------------------ connection
  async start() {
    this.mount();
    const config = this.loadConfig();
    if (this.sessionId) await this.loadHistory();
    for (const message of this.outbox) this.showPending(message);
    if (this.outbox.some((m) => !m.quiet)) this.hideSuggestions();
    this.afterHistory(config);
    this.connect(); // the server issues the session id (session_confirm)
    this.retryTimer = window.setInterval(() => this.flush(), 2000);
    window.addEventListener("offline", () => {
      if (this.socket) this.socket.disconnect();
    });
    document.addEventListener("visibilitychange", () => this.replyNotices.looked());
    window.addEventListener("online", () => {
      if (this.socket && !this.socket.connected) this.socket.connect();
    });
    window.addEventListener("storage", (event) => {
      // another tab got a new session id (the server refused the old one, or the customer changed)
      if (event.key === `${this.storage.prefix}session` && event.newValue && event.newValue !== this.sessionId) {
        this.sessionId = event.newValue;
        if (this.socket && this.socket.connected) {
          this.confirmed = false;
          this.socket.emit("session_request", { session_id: this.sessionId });
        }
      }
    });
  }

  /** The console's widget settings: upload limit, the shop's time zone, suggested questions (or null). */
  async loadConfig() {
    if (!this.consoleUrl) return null;
    try {
      const response = await fetch(`${this.consoleUrl}/api/public/widget/config?lang=${encodeURIComponent(this.language)}`, {
        credentials: "omit",
        cache: "no-store",
      });
      if (!response.ok) return null;
      const body = await response.json();
      if (body && body.uploads && Number(body.uploads.max_bytes) > 0) this.uploader.maxBytes = Number(body.uploads.max_bytes);
      if (body && typeof body.time_zone === "string" && typeof this.config.timeZone !== "string") this.timeZone = body.time_zone;
      return body;
    } catch (error) {
      return null;
    }
  }

  /** After the history: replies that came while away, the off-hours form, suggested first questions. */
  async afterHistory(configPromise) {
    const notices = this.sessionId ? await this.replyNotices.check() : null;
    if (notices && notices.contact) this.contact.left = notices.contact;
    if (this.offHours && this.mode === "queued") this.contact.offer();
    const config = await configPromise;
    const own = Array.isArray(this.config.suggestions) ? this.config.suggestions : null;
    this.showSuggestions(own || (config && Array.isArray(config.suggestions) ? config.suggestions : []));
  }

  /** 2-4 chips under the greeting of an empty conversation; a tap sends the question. */
  showSuggestions(questions) {
    const list = questions.filter((q) => typeof q === "string" && q.trim()).slice(0, 4);
    if (!list.length || this.suggestions === false || this.log.querySelector(".row.user")) return;
    const box = el("div", "suggestions");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", this.t.suggestions_label);
    box.append(el("div", "suggestions-title", this.t.suggestions_label));
    for (const question of list) {
      const chip = el("button", "chip", question.trim());
      chip.type = "button";
      chip.addEventListener("click", () => this.send(question.trim()));
      box.append(chip);
    }
    const greeting = this.log.querySelector('[data-greeting="true"]');
    if (greeting && greeting.nextSibling) this.log.insertBefore(box, greeting.nextSibling);
    else this.append(box);
    this.suggestions = box;
  }

  hideSuggestions() {
    if (this.suggestions) this.suggestions.remove();
    this.suggestions = false; // once the shopper wrote, never again in this conversation
  }

  /** A line about replies the shopper has not seen, at the end of the chat. */
  placeNotice(node) {
    this.append(node);
  }

  /** The console stored a photo or file and put it into the conversation. */
  onAttachmentSent(body) {
    if (this.mode !== "bot" || this.attachmentTipShown) return;
    // the bot reads no pictures: say so once, and offer a person who can look at it
    this.attachmentTipShown = true;
    const row = this.botRow(this.t.upload_bot_tip, "bot", null, body && body.timestamp);
    row.append(this.replies([{ title: this.t.upload_to_person, payload: "/human_handoff" }]));
    this.append(row);
  }

  connect() {
    const socket = io(this.server, {
      path: this.socketPath,
      transports: ["websocket", "polling"],
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
      timeout: 10000,
    });
    this.socket = socket;
    socket.on("connect", () => {
      socket.emit("session_request", { session_id: this.sessionId });
    });
    socket.on("kefu_session", (info) => {
      this.kefuServer = Boolean(info && Array.isArray(info.features) && info.features.includes("ack"));
    });
    socket.on("session_confirm", (data) => {
      const id = typeof data === "string" ? data : data && data.session_id;
      if (typeof id !== "string" || !id) return;
      if (id !== this.sessionId) {
        this.sessionId = id;
        this.storage.set("session", id);
      }
      const reconnect = this.everConfirmed;
      this.confirmed = true;
      this.everConfirmed = true;
      for (const m of this.outbox) this.setUserStatus(m.message_id, "sending");
      if (!this.netbar.hidden) {
        this.netbar.hidden = true;
        this.announce(this.t.reconnected);
      }
      this.flush(true);
      this.uploader.flush();
      if (!reconnect) this.uploader.restore(); // files a reload interrupted
      if (reconnect) this.loadHistory(); // fill in replies that arrived while we were away
    });
    socket.on("disconnect", () => {
      this.confirmed = false;
      this.showTyping(false);
      this.netbar.hidden = false;
      for (const m of this.outbox) {
        m.sentAt = null;
        this.setUserStatus(m.message_id, "queued_offline");
      }
    });
    socket.on("connect_error", () => {
      this.netbar.hidden = false;
    });
    socket.on("bot_uttered", (payload) => {
      if (payload && typeof payload === "object") this.renderBot(payload, { live: true });
    });
    socket.on("user_uttered_ack", (ack) => this.onAck(ack));
    socket.on("kefu_error", (error) => this.onError(error));
    socket.on("bot_typing", (data) => this.showTyping(Boolean(data && data.typing)));
  }
}
