// The console's SSE stream (GET /api/stream). EventSource reconnects by itself; when the browser gives up
// (CLOSED, e.g. the console restarted) we open a new one. There is no replay, so after every reconnect the
// caller refetches (onUp(true)).
import { api, toLogin } from "./api.js";

const EVENTS = ["hello", "ticket.created", "ticket.updated", "message.created", "note.created"];

export class LiveStream {
  constructor(url, onEvent, { onUp = () => {}, onDown = () => {} } = {}) {
    this.url = url;
    this.onEvent = onEvent;
    this.onUp = onUp;
    this.onDown = onDown;
    this.source = null;
    this.connectedBefore = false;
    this.retryTimer = null;
    this.delay = 1000;
  }

  start() {
    this.stop();
    const source = new EventSource(this.url, { withCredentials: true });
    this.source = source;
    for (const type of EVENTS) {
      source.addEventListener(type, (event) => {
        let data;
        try { data = JSON.parse(event.data); } catch (_) { return; }
        if (type === "hello") {
          this.delay = 1000;
          this.onUp(this.connectedBefore);
          this.connectedBefore = true;
          return;
        }
        this.onEvent(type, data);
      });
    }
    // the server ended the stream: logout elsewhere, session expired, or the account was deactivated
    source.addEventListener("session_ended", () => {
      this.stop();
      toLogin();
    });
    source.addEventListener("error", () => {
      this.onDown();
      if (source.readyState === EventSource.CLOSED) this.scheduleRestart();
    });
  }

  async scheduleRestart() {
    clearTimeout(this.retryTimer);
    try {
      await api.me(); // 401 → the API module sends us to /login
    } catch (err) {
      if (err.status === 401) { toLogin(); return; }
    }
    this.retryTimer = setTimeout(() => this.start(), this.delay);
    this.delay = Math.min(this.delay * 2, 15000);
  }

  stop() {
    clearTimeout(this.retryTimer);
    if (this.source) this.source.close();
    this.source = null;
  }
}
