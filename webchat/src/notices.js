// Replies the shopper has not seen (docs/widget.md#off-hours): the console records up to when the shopper had the
// widget open on a visible page (POST {console}/api/public/notices/seen) and counts the agents' replies after that
// (GET {console}/api/public/notices). A shopper who left before the agent answered finds, on their next visit, the
// launcher's badge with the count, the tab title "(1) 客服回复了您 · <page title>", and a line in the chat above the
// reply; opening the widget marks them seen (here and for the agent, who sees "seen at ..." on the ticket).

import { el } from "./cards.js";

export class ReplyNotices {
  constructor(widget) {
    this.widget = widget;
    this.pageTitle = null;
    this.count = 0;
    this.markTimer = null;
  }

  get enabled() {
    return Boolean(this.widget.consoleUrl);
  }

  async fetch() {
    const w = this.widget;
    if (!this.enabled || !w.sessionId) return null;
    try {
      const response = await fetch(`${w.consoleUrl}/api/public/notices?session_id=${encodeURIComponent(w.sessionId)}`, {
        credentials: "omit",
        cache: "no-store",
      });
      if (!response.ok) return null;
      return await response.json();
    } catch (error) {
      return null; // the console down: the chat itself still shows the replies
    }
  }

  /** On load, after the history: replies that came while the shopper was away. */
  async check() {
    const w = this.widget;
    const body = await this.fetch();
    if (!body) return null;
    const unread = Number(body.unread) || 0;
    if (unread > 0) {
      const line = el("div", "notice reply-notice", w.t.reply_notice(body.agent || w.t.agent_default, unread));
      line.setAttribute("role", "status");
      w.placeNotice(line);
      this.add(unread, true);
      if (w.open && this.visible()) this.markSoon();
    }
    return body;
  }

  visible() {
    return typeof document.visibilityState !== "string" || document.visibilityState === "visible";
  }

  /** ``n`` more replies the shopper has not seen: the tab title, and the launcher's badge for replies that came
   * while away (a live reply already counts on the badge). */
  add(n, badge = false) {
    const w = this.widget;
    this.count += n;
    if (badge && !w.open) w.setUnread(w.unread + n);
    if (this.pageTitle === null) this.pageTitle = document.title;
    document.title = `${w.t.title_notice(this.count)} · ${this.pageTitle}`;
  }

  /** An agent's reply arrived live: seen at once when the panel is open on a visible page, else counted. */
  live() {
    const w = this.widget;
    if (w.open && this.visible()) this.markSoon();
    else this.add(1);
  }

  /** The shopper looks at the chat now (panel opened, tab shown). */
  looked() {
    const w = this.widget;
    if (!w.open || !this.visible()) return;
    if (this.count > 0 || this.pageTitle !== null) this.markSoon();
  }

  markSoon() {
    window.clearTimeout(this.markTimer);
    this.markTimer = window.setTimeout(() => this.mark(), 300);
  }

  async mark() {
    const w = this.widget;
    if (this.pageTitle !== null) {
      document.title = this.pageTitle;
      this.pageTitle = null;
    }
    this.count = 0;
    if (!this.enabled || !w.sessionId) return;
    try {
      await fetch(`${w.consoleUrl}/api/public/notices/seen`, {
        method: "POST",
        credentials: "omit",
        headers: { "Content-Type": "text/plain;charset=UTF-8" },
        body: JSON.stringify({ session_id: w.sessionId }),
      });
    } catch (error) {
      // the console down: the agent's "seen" line waits for the next open
    }
  }
}
