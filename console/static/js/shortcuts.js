// Keyboard shortcuts of the inbox and the "?" list of them. A shortcut key works when the focus is not in a text
// field (typing stays typing); Escape leaves a text field. The keys and their words are one table.
import { el, replaceChildren } from "./dom.js";
import { t } from "./i18n.js";

export const SHORTCUTS = [
  { keys: ["j"], word: "shortcut_next", action: "next" },
  { keys: ["k"], word: "shortcut_prev", action: "prev" },
  { keys: ["r"], word: "shortcut_reply", action: "reply" },
  { keys: ["n"], word: "shortcut_note", action: "note" },
  { keys: ["/"], word: "shortcut_search", action: "search" },
  { keys: ["?"], word: "shortcut_help", action: "help" },
  { keys: ["/"], word: "shortcut_canned", action: null, label: "/ …" },
  { keys: ["Ctrl", "Enter"], word: "shortcut_send", action: null },
  { keys: ["Esc"], word: "shortcut_escape", action: null },
];

/** Whether typing goes to this element (then letters are text, not shortcuts). */
export function isTyping(target) {
  if (!target || !(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag !== "INPUT") return false;
  return !["button", "checkbox", "radio", "submit", "reset"].includes((target.type || "").toLowerCase());
}

function renderList() {
  replaceChildren(document.getElementById("shortcuts-list"), SHORTCUTS.map((s) => [
    el("dt", {}, s.label ? el("kbd", {}, s.label) : s.keys.map((k, i) => [i ? " + " : "", el("kbd", {}, k)])),
    el("dd", {}, t(s.word)),
  ]));
}

export function openHelp() {
  const dialog = document.getElementById("shortcuts-dialog");
  if (dialog.open) return;
  renderList();
  dialog.showModal();
  document.getElementById("shortcuts-close").focus();
}

/** handlers: {next, prev, reply, note, search}; each does its job (the page knows how). */
export function initShortcuts(handlers) {
  document.getElementById("btn-shortcuts").addEventListener("click", openHelp);
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (document.querySelector("dialog[open]")) return; // a dialog has the keyboard
    if (event.key === "Escape" && isTyping(event.target)) {
      event.target.blur();
      return;
    }
    if (isTyping(event.target)) return;
    const shortcut = SHORTCUTS.find((s) => s.action && s.keys.length === 1 && s.keys[0] === event.key);
    if (!shortcut) return;
    event.preventDefault();
    if (shortcut.action === "help") openHelp();
    else handlers[shortcut.action]?.();
  });
}
