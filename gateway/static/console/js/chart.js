// Stacked bar charts as SVG, drawn by hand: x is the day, one stack per series.

import { h } from "./api.js";

const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#2f6fde", "#1f9d55", "#d88a00", "#9b51e0", "#d23c3c", "#00a3a3", "#7a869a", "#e05297"];

function s(tag, attrs, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, value);
  for (const child of children) element.append(child);
  return element;
}

const TICKS = 4;

// A round step (1, 2 or 5 times a power of ten) with which TICKS steps reach `value`.
function niceStep(value) {
  if (value <= 0) return 1 / TICKS;
  const rough = value / TICKS;
  const power = 10 ** Math.floor(Math.log10(rough));
  for (const m of [1, 2, 5, 10]) if (rough <= m * power) return m * power;
  return 10 * power;
}

// days: ["2026-01-01", ...]; series: [{name, values: [number per day]}]; format: tick labels.
export function stackedBars(title, days, series, format = String) {
  const width = 560;
  const height = 220;
  const pad = { left: 64, right: 8, top: 12, bottom: 28 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const totals = days.map((_, i) => series.reduce((sum, one) => sum + one.values[i], 0));
  const step = niceStep(Math.max(0, ...totals));
  const top = step * TICKS;
  const y = (v) => pad.top + plotH - (v / top) * plotH;
  const slot = plotW / Math.max(days.length, 1);
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title });
  for (let t = 0; t <= TICKS; t++) {
    const value = step * t;
    svg.append(s("line", { x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value), stroke: "#eef0f4" }));
    const label = s("text", { x: pad.left - 6, y: y(value) + 4, "text-anchor": "end" });
    label.textContent = format(value);
    svg.append(label);
  }
  days.forEach((day, i) => {
    let base = 0;
    const x = pad.left + i * slot + slot * 0.15;
    series.forEach((one, n) => {
      const value = one.values[i];
      if (value > 0) {
        const bar = s("rect", {
          class: "bar",
          x,
          width: slot * 0.7,
          y: y(base + value),
          height: Math.max(1, y(base) - y(base + value)),
          fill: COLOURS[n % COLOURS.length],
          "data-series": one.name,
          "data-day": day,
          "data-value": value,
        });
        const tip = s("title", {});
        tip.textContent = `${one.name} · ${day}: ${format(value)}`;
        bar.append(tip);
        svg.append(bar);
      }
      base += value;
    });
    if (days.length <= 16 || i % Math.ceil(days.length / 16) === 0) {
      const label = s("text", { x: x + slot * 0.35, y: height - 10, "text-anchor": "middle" });
      label.textContent = day.slice(5);
      svg.append(label);
    }
  });
  const legend = h(
    "div",
    { class: "legend" },
    series.map((one, n) => h("span", {}, h("i", { style: `background:${COLOURS[n % COLOURS.length]}` }), one.name)),
  );
  return h("div", { class: "card" }, h("h3", {}, title), svg, legend);
}
