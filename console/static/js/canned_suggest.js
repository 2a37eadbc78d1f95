// "/" in the reply box: typing "/" and words lists the canned responses whose title, text or id hold all the words
// (in any of the three languages), Up/Down choose, Enter or Tab inserts the choice in place of "/words", Escape
// closes the list. The list is an ARIA listbox tied to the textarea (aria-activedescendant).
import { el, replaceChildren } from "./dom.js";
import { pick, t } from "./i18n.js";

const MAX_SHOWN = 8;

/** The "/words" being typed just before the caret: {start, words} or null. */
export function slashToken(value, caret) {
  const before = value.slice(0, caret);
  const match = /(^|\s)\/([^\s/]*(?: [^\s/]+)*)$/u.exec(before);
  if (!match) return null;
  return { start: before.length - match[2].length - 1, query: match[2] };
}

/** Canned responses matching every word of `query` (case-insensitive), best first: title matches before text. */
export function matchCanned(canned, query) {
  const words = query.toLowerCase().split(/\s+/u).filter(Boolean);
  const scored = [];
  for (const entry of canned) {
    const titles = Object.values(entry.title || {}).join(" ").toLowerCase();
    const texts = Object.values(entry.text || {}).join(" ").toLowerCase();
    const all = `${entry.id.toLowerCase()} ${titles} ${texts}`;
    if (!words.every((w) => all.includes(w))) continue;
    const inTitle = words.filter((w) => titles.includes(w) || entry.id.toLowerCase().includes(w)).length;
    scored.push({ entry, score: inTitle });
  }
  return scored.sort((a, b) => b.score - a.score).map((x) => x.entry);
}

/**
 * box: the reply textarea; list: the <ul role=listbox>; getCanned(): the canned responses; enabled(): whether the
 * box takes canned text now (reply mode, ticket claimed); textOf(entry): the text to insert (ticket's language).
 */
export function initCannedSuggest({ box, list, getCanned, enabled, textOf, onInsert }) {
  const state = { open: false, items: [], active: 0, token: null };

  function close() {
    state.open = false;
    state.items = [];
    list.hidden = true;
    box.setAttribute("aria-expanded", "false");
    box.removeAttribute("aria-activedescendant");
  }

  function render() {
    const nodes = state.items.map((entry, i) => el("li", {
      id: `canned-option-${i}`, role: "option", class: `canned-option${i === state.active ? " active" : ""}`,
      "aria-selected": i === state.active ? "true" : "false", dataset: { cannedId: entry.id },
      onmousedown: (event) => { event.preventDefault(); state.active = i; insert(); },
    }, el("strong", {}, pick(entry.title)), el("span", { class: "canned-preview" }, textOf(entry))));
    if (!nodes.length) nodes.push(el("li", { class: "canned-empty", role: "presentation" }, t("canned_suggest_none")));
    replaceChildren(list, nodes);
    list.hidden = false;
    box.setAttribute("aria-expanded", "true");
    if (state.items.length) box.setAttribute("aria-activedescendant", `canned-option-${state.active}`);
    else box.removeAttribute("aria-activedescendant");
  }

  function update() {
    const token = enabled() ? slashToken(box.value, box.selectionStart ?? box.value.length) : null;
    if (!token) { close(); return; }
    state.token = token;
    state.items = matchCanned(getCanned(), token.query).slice(0, MAX_SHOWN);
    state.active = Math.min(state.active, Math.max(0, state.items.length - 1));
    state.open = true;
    render();
  }

  function insert() {
    const entry = state.items[state.active];
    if (!entry || !state.token) return;
    const caret = box.selectionStart ?? box.value.length;
    const text = textOf(entry);
    box.value = box.value.slice(0, state.token.start) + text + box.value.slice(caret);
    const at = state.token.start + text.length;
    box.setSelectionRange(at, at);
    close();
    onInsert();
  }

  box.addEventListener("input", () => { state.active = 0; update(); });
  box.addEventListener("blur", () => setTimeout(close, 0));
  box.addEventListener("keydown", (event) => {
    if (!state.open) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const n = state.items.length;
      if (n) state.active = (state.active + (event.key === "ArrowDown" ? 1 : n - 1)) % n;
      render();
    } else if ((event.key === "Enter" && !event.ctrlKey && !event.metaKey) || event.key === "Tab") {
      if (!state.items.length) return;
      event.preventDefault();
      event.stopPropagation();
      insert();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close();
    }
  });
  return { close, isOpen: () => state.open };
}
