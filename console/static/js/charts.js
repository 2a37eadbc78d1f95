// Small SVG charts drawn here (no library, nothing from the network). Labels are text nodes.
import { svg } from "./dom.js";

const COLORS = ["#1f6feb", "#f04438", "#7a5af8", "#12b76a", "#f79009", "#0ba5ec", "#98a2b3"];

/** Horizontal bars: rows [{label, value, display}] (value in 0..max). */
export function hbar(rows, { max = null, width = 520, rowHeight = 26, labelWidth = 150, ariaLabel = "" } = {}) {
  const top = Math.max(max ?? 0, ...rows.map((r) => r.value || 0)) || 1;
  const height = Math.max(rowHeight * rows.length + 8, 40);
  const barSpace = width - labelWidth - 60;
  return svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": ariaLabel },
    rows.map((r, i) => {
      const y = 4 + i * rowHeight;
      const w = Math.max(0, (r.value || 0) / top) * barSpace;
      return svg("g", {},
        svg("text", { x: labelWidth - 8, y: y + rowHeight / 2, "text-anchor": "end", "dominant-baseline": "middle" }, r.label),
        svg("rect", { x: labelWidth, y: y + 4, width: barSpace, height: rowHeight - 8, rx: 4, fill: "#f2f4f7" }),
        svg("rect", { x: labelWidth, y: y + 4, width: Math.max(w, r.value ? 2 : 0), height: rowHeight - 8, rx: 4, fill: r.color || COLORS[i % COLORS.length] }),
        svg("text", { x: labelWidth + barSpace + 6, y: y + rowHeight / 2, "dominant-baseline": "middle" }, r.display ?? String(r.value)));
    }));
}

/** Vertical bars: rows [{label, value, display}]. */
export function vbar(rows, { width = 360, height = 180, color = "#1f6feb", ariaLabel = "" } = {}) {
  const top = Math.max(...rows.map((r) => r.value || 0), 1);
  const pad = { l: 28, r: 8, t: 18, b: 24 };
  const innerW = width - pad.l - pad.r;
  const innerH = height - pad.t - pad.b;
  const slot = innerW / Math.max(rows.length, 1);
  return svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": ariaLabel },
    svg("line", { class: "axis", x1: pad.l, x2: width - pad.r, y1: pad.t + innerH, y2: pad.t + innerH }),
    rows.map((r, i) => {
      const h = ((r.value || 0) / top) * innerH;
      const x = pad.l + i * slot + slot * 0.2;
      const y = pad.t + innerH - h;
      return svg("g", {},
        svg("rect", { x, y, width: slot * 0.6, height: h, rx: 3, fill: r.color || color }),
        svg("text", { x: x + slot * 0.3, y: y - 4, "text-anchor": "middle" }, r.display ?? String(r.value)),
        svg("text", { x: x + slot * 0.3, y: height - 8, "text-anchor": "middle" }, r.label));
    }));
}

/** A ring showing one rate (0..1), the number in the middle. */
export function donut(rate, { size = 130, color = "#12b76a", label = "", ariaLabel = "" } = {}) {
  const r = size / 2 - 12;
  const c = 2 * Math.PI * r;
  const value = Number.isFinite(rate) ? Math.min(Math.max(rate, 0), 1) : 0;
  return svg("svg", { class: "chart donut", viewBox: `0 0 ${size} ${size}`, width: size, height: size, role: "img", "aria-label": ariaLabel },
    svg("circle", { cx: size / 2, cy: size / 2, r, fill: "none", stroke: "#eef1f5", "stroke-width": 14 }),
    svg("circle", {
      cx: size / 2, cy: size / 2, r, fill: "none", stroke: color, "stroke-width": 14,
      "stroke-dasharray": `${c * value} ${c}`, transform: `rotate(-90 ${size / 2} ${size / 2})`,
    }),
    svg("text", { x: size / 2, y: size / 2, "text-anchor": "middle", "dominant-baseline": "middle", "font-size": 22 }, label));
}

/** One stacked bar of parts [{label, value, color}] with a legend. */
export function stacked(parts, { width = 360, height = 28, ariaLabel = "" } = {}) {
  const total = parts.reduce((s, p) => s + (p.value || 0), 0) || 1;
  let x = 0;
  return svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": ariaLabel },
    svg("rect", { x: 0, y: 0, width, height, rx: 6, fill: "#f2f4f7" }),
    parts.map((p, i) => {
      const w = ((p.value || 0) / total) * width;
      const node = svg("rect", { x, y: 0, width: w, height, fill: p.color || COLORS[i % COLORS.length] });
      x += w;
      return node;
    }));
}

/** Daily series as grouped bars (conversations, handoffs). */
export function daily(days, series, { width = 720, height = 200, ariaLabel = "" } = {}) {
  const pad = { l: 34, r: 8, t: 14, b: 26 };
  const innerW = width - pad.l - pad.r;
  const innerH = height - pad.t - pad.b;
  const top = Math.max(1, ...days.flatMap((d) => series.map((s) => d[s.key] || 0)));
  const slot = innerW / Math.max(days.length, 1);
  const barW = Math.min(22, (slot * 0.8) / series.length);
  const ticks = [0, 0.5, 1].map((f) => Math.round(top * f));
  return svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": ariaLabel },
    ticks.map((v) => {
      const y = pad.t + innerH - (v / top) * innerH;
      return svg("g", {}, svg("line", { class: "grid", x1: pad.l, x2: width - pad.r, y1: y, y2: y }),
        svg("text", { x: pad.l - 6, y, "text-anchor": "end", "dominant-baseline": "middle" }, String(v)));
    }),
    days.map((d, i) => {
      const x0 = pad.l + i * slot + (slot - barW * series.length) / 2;
      return svg("g", {},
        series.map((s, j) => {
          const h = ((d[s.key] || 0) / top) * innerH;
          return svg("rect", { x: x0 + j * barW, y: pad.t + innerH - h, width: barW - 2, height: h, rx: 2, fill: s.color });
        }),
        svg("text", { x: pad.l + i * slot + slot / 2, y: height - 8, "text-anchor": "middle" }, String(d.date || "").slice(5)));
    }));
}

export { COLORS };
