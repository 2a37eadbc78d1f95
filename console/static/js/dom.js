// Safe DOM building. Text (customer, bot, agent, anything from the server) only ever becomes a Text node
// or goes through textContent. This module never touches innerHTML/outerHTML/insertAdjacentHTML.

const SAFE_ATTRS = new Set([
  "id", "class", "type", "name", "value", "for", "role", "title", "href", "tabindex", "placeholder",
  "disabled", "hidden", "lang", "dir", "rows", "maxlength", "autocomplete", "datetime", "min", "max",
  "selected", "checked", "required", "viewBox", "width", "height", "x", "y", "x1", "x2", "y1", "y2",
  "cx", "cy", "r", "d", "fill", "stroke", "stroke-width", "text-anchor", "dominant-baseline", "rx",
  "points", "transform", "stroke-dasharray", "font-size", "focusable", "colspan", "scope", "method", "action", "novalidate",
  "inputmode", "spellcheck", "autofocus", "open", "style", "list",
]);

const SVG_NS = "http://www.w3.org/2000/svg";

function setAttr(node, key, value) {
  if (value === null || value === undefined || value === false) return;
  if (key === "dataset") {
    for (const [k, v] of Object.entries(value)) node.dataset[k] = String(v);
    return;
  }
  if (key === "text") { node.textContent = String(value); return; }
  if (key.startsWith("on") && typeof value === "function") {
    node.addEventListener(key.slice(2), value);
    return;
  }
  if (key === "href" && !/^(\/|#|https?:)/.test(String(value))) return; // no javascript: URLs
  if (!(SAFE_ATTRS.has(key) || key.startsWith("aria-") || key.startsWith("data-"))) {
    throw new Error(`dom.el: attribute ${key} is not allowed`);
  }
  node.setAttribute(key, value === true ? "" : String(value));
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
}

/** el("div", {class: "x"}, "text", otherNode) – strings become text nodes. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) setAttr(node, k, v);
  append(node, children);
  return node;
}

/** Same for SVG elements. */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) setAttr(node, k, v);
  append(node, children);
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function replaceChildren(node, ...children) {
  clear(node);
  append(node, children);
  return node;
}

export function $(selector, root = document) {
  const found = root.querySelector(selector);
  if (!found) throw new Error(`missing element ${selector}`);
  return found;
}
