// The agent's presence in the top bar (online / away / offline, docs/console-ui.md): chosen here, kept by the server
// (PUT /api/presence), followed live (the `agent.presence` event: another tab, a logout elsewhere). While online, the
// server assigns new conversations to the agent up to their capacity.
import { api } from "./api.js";
import { t } from "./i18n.js";
import { errorText, toast } from "./shell.js";

const $ = (id) => document.getElementById(id);
let current = null; // the server's presence JSON for me

function render() {
  if (!current) return;
  const select = $("presence-select");
  // what the server says I am now (a console that was disconnected too long is offline until it beats again)
  select.value = current.presence;
  const dot = $("presence-dot");
  dot.className = `presence-dot presence-${current.presence}`;
  $("presence-load").textContent = t("presence_load", { n: current.open_tickets, cap: current.capacity });
  document.body.dataset.presence = current.presence;
}

export function presenceWord(value) {
  return t(`presence_${value}`);
}

/** The `agent.presence` live event (mine: update the top bar). */
export function onPresenceEvent(agentId, data) {
  if (!data || !data.agent || data.agent.id !== agentId) return;
  current = data.agent;
  render();
}

/** My load changed (a ticket was assigned to me, or closed): refresh the count. */
export async function refreshPresence() {
  try {
    current = (await api.presence()).presence;
    render();
  } catch (_) { /* the next event or change brings it */ }
}

export async function initPresence() {
  const select = $("presence-select");
  select.addEventListener("change", async () => {
    const wanted = select.value;
    try {
      current = (await api.setPresence(wanted)).presence;
      toast(t("presence_changed", { p: presenceWord(current.presence) }));
    } catch (err) {
      toast(errorText(err), "error");
    }
    render();
  });
  document.addEventListener("kefu:lang", render);
  await refreshPresence();
}
