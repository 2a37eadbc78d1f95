// Pure formatting and decision helpers (no DOM), shared by the console and the dashboard.

/** Seconds -> "42s", "3m 05s", "2h 03m", "1d 4h". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function parseTime(iso) {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}

const LOCALES = { "zh-Hans": "zh-CN", "zh-Hant": "zh-TW", en: "en-GB" };

/** Clock time for a transcript line; the date too when it is not today. */
export function clock(iso, lang, now = Date.now()) {
  const ms = parseTime(iso);
  if (ms === null) return "";
  const d = new Date(ms);
  const sameDay = new Date(now).toDateString() === d.toDateString();
  const opts = sameDay ? { hour: "2-digit", minute: "2-digit", second: "2-digit" }
    : { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" };
  return d.toLocaleString(LOCALES[lang] || "zh-CN", opts);
}

/**
 * An instant on a bot card as the bot's text and the customer's widget show it: in the shop's zone (the card's
 * `time_zone`, Asia/Shanghai), "11-18 07:40" or "Nov 18 07:40"; null when it is not a time.
 */
export function shopTime(iso, lang, zone) {
  const ms = parseTime(iso);
  if (ms === null) return null;
  const en = lang === "en";
  const options = (timeZone) => ({ timeZone, month: en ? "short" : "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", hourCycle: "h23" });
  let format;
  try {
    format = new Intl.DateTimeFormat("en-US", options(zone || "Asia/Shanghai"));
  } catch (error) {
    format = new Intl.DateTimeFormat("en-US", options("Asia/Shanghai")); // an unknown zone name
  }
  const p = Object.fromEntries(format.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return `${p.month}${en ? " " : "-"}${p.day} ${p.hour}:${p.minute}`;
}

export function percent(rate) {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return "–";
  return `${(rate * 100).toFixed(rate < 0.1 && rate > 0 ? 1 : 0)}%`;
}

/**
 * SLA state of a ticket at `now` (ms): first response (until the first agent reply) and, for complaints,
 * resolution within the target. Each part: {due, remaining (s, negative when overdue), overdue, met} or null.
 */
export function slaState(ticket, sla, now = Date.now()) {
  const created = parseTime(ticket.created_at);
  const out = { first: null, resolve: null, overdue: false };
  if (created === null) return out;
  const open = ticket.state === "queued" || ticket.state === "assigned";
  const firstDue = parseTime(ticket.sla && ticket.sla.first_response_due)
    ?? created + 1000 * ((sla && sla.first_response_seconds) || 60);
  const firstDone = parseTime(ticket.first_response_at);
  if (firstDone !== null) {
    out.first = { due: firstDue, remaining: (firstDue - firstDone) / 1000, overdue: firstDone > firstDue, met: true };
  } else if (open) {
    const remaining = (firstDue - now) / 1000;
    out.first = { due: firstDue, remaining, overdue: remaining < 0, met: false };
  }
  const resolveDue = parseTime(ticket.sla && ticket.sla.resolve_due)
    ?? (ticket.category === "complaint" ? created + 1000 * ((sla && sla.complaint_resolve_seconds) || 86400) : null);
  if (resolveDue !== null) {
    const closed = parseTime(ticket.closed_at);
    if (closed !== null) {
      out.resolve = { due: resolveDue, remaining: (resolveDue - closed) / 1000, overdue: closed > resolveDue, met: true };
    } else if (open) {
      const remaining = (resolveDue - now) / 1000;
      out.resolve = { due: resolveDue, remaining, overdue: remaining < 0, met: false };
    }
  }
  out.overdue = Boolean((out.first && out.first.overdue && !out.first.met) || (out.resolve && out.resolve.overdue && !out.resolve.met));
  return out;
}

const STATE_ORDER = { queued: 0, assigned: 1, returned_to_bot: 2, closed: 3 };

/** Queue order, as the server sorts: queued first by effective priority (desc) then oldest, then assigned. */
export function compareTickets(a, b) {
  const sa = STATE_ORDER[a.state] ?? 9;
  const sb = STATE_ORDER[b.state] ?? 9;
  if (sa !== sb) return sa - sb;
  if (a.state === "queued") {
    const pa = a.effective_priority ?? a.priority ?? 0;
    const pb = b.effective_priority ?? b.priority ?? 0;
    if (pa !== pb) return pb - pa;
    return (parseTime(a.created_at) ?? 0) - (parseTime(b.created_at) ?? 0);
  }
  if (a.state === "closed" || a.state === "returned_to_bot") {
    return (parseTime(b.updated_at) ?? 0) - (parseTime(a.updated_at) ?? 0);
  }
  return (parseTime(a.created_at) ?? 0) - (parseTime(b.created_at) ?? 0);
}

/** Which queue filter a ticket belongs to, for an agent. */
export function matchesFilter(ticket, filter, agentId) {
  switch (filter) {
    case "open": return ticket.state === "queued" || ticket.state === "assigned";
    case "queued": return ticket.state === "queued";
    case "mine": return ticket.state === "assigned" && ticket.assignee && ticket.assignee.id === agentId;
    case "closed": return ticket.state === "closed" || ticket.state === "returned_to_bot";
    default: return true;
  }
}

export const FILTER_PARAMS = {
  open: { state: "open" },
  queued: { state: "queued" },
  mine: { state: "assigned", mine: "1" },
  closed: { state: "all" },
};

/** Replace {agent} in a canned text. */
export function fillCanned(text, agentName) {
  return String(text || "").split("{agent}").join(agentName || "");
}

/** Median of numbers (null for none). */
export function median(values) {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (!xs.length) return null;
  const mid = Math.floor(xs.length / 2);
  return xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/**
 * What the shopper saw for a customer message: a tapped button sends its payload
 * (`/inform{"city":"上海"}`) but the shopper saw the button's title ("上海"). The title comes from the
 * latest earlier bot message that offered a button with exactly that payload; anything else is the
 * text itself. `messages` is the ticket's transcript in order (the console stores the bot's buttons).
 */
export function shownText(message, messages = []) {
  const text = String(message?.text ?? "");
  if (message?.author !== "customer" || !text.startsWith("/")) return text;
  const at = messages.indexOf(message);
  const earlier = at >= 0 ? messages.slice(0, at) : messages;
  for (let i = earlier.length - 1; i >= 0; i -= 1) {
    const m = earlier[i];
    if (!m || m.author === "customer") continue;
    const data = m.data || {};
    const offered = Array.isArray(data.buttons) ? data.buttons : Array.isArray(data.quick_replies) ? data.quick_replies : [];
    const hit = offered.find((b) => b && b.payload === text && b.title);
    if (hit) return String(hit.title);
  }
  return text;
}
