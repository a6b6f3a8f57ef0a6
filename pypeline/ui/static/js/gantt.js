/* A Gantt view of a run: one bar per module instance (node) from its start to its end, in start order,
 * so the waves of a sub flow and what ran in parallel show at a glance. Plain SVG, no library. */
"use strict";

const pypeGantt = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const MAX_ROWS = 2000;
  const LABEL_W = 190;

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  /** A tick step (ms) giving about `count` ticks over `span` ms. */
  function step(span, count) {
    const raw = span / count;
    const units = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000, 300000,
      600000, 900000, 1800000, 3600000, 7200000];
    return units.find((u) => u >= raw) || units[units.length - 1];
  }

  function label(ms) {
    if (ms < 1000) return `${ms} ms`;
    if (ms < 60000) return `${+(ms / 1000).toFixed(2)} s`;
    return `${+(ms / 60000).toFixed(1)} min`;
  }

  /** Draw `attempts` (run page records with started/ended) into `container`; returns what was left out. */
  function draw(container, attempts, width) {
    const timed = attempts.filter((a) => a.started && a.ended && a.status !== "restored");
    const rows = timed.slice(0, MAX_ROWS);
    if (!rows.length) {
      container.replaceChildren(document.createTextNode("No module ran in this run yet."));
      return {drawn: 0, left: attempts.length};
    }
    const start = (a) => Date.parse(a.started), end = (a) => Date.parse(a.ended);
    const t0 = Math.min(...rows.map(start));
    const span = Math.max(1, Math.max(...rows.map(end)) - t0);
    const rowH = rows.length > 300 ? 9 : 18, top = 22;
    const plotW = Math.max(200, width - LABEL_W - 16);
    const x = (t) => LABEL_W + ((t - t0) / span) * plotW;
    const height = top + rows.length * rowH + 6;
    const chart = svg("svg", {width, height, class: "gantt", role: "img", "aria-label": "timeline of module attempts"});
    const every = step(span, Math.max(2, Math.floor(plotW / 110)));
    for (let t = 0; t <= span; t += every) {
      chart.append(svg("line", {x1: x(t0 + t), x2: x(t0 + t), y1: top - 4, y2: height, class: "tick"}),
        svg("text", {x: x(t0 + t) + 2, y: 12, class: "tick-label"}, label(t)));
    }
    rows.forEach((a, i) => {
      const y = top + i * rowH;
      const w = Math.max(2, x(end(a)) - x(start(a)));
      const tip = `${a.node_id} (${a.name || a.module_id}): ${a.status}, ${label(end(a) - start(a))}` +
        `, attempts ${a.attempts}, rows in ${a.rows_in ?? "—"}, rows out ${a.rows_out ?? "—"}`;
      if (rowH >= 14) chart.append(svg("text", {x: LABEL_W - 6, y: y + rowH - 5, class: "row-label"}, a.node_id));
      const bar = svg("rect", {x: x(start(a)), y: y + 2, width: w, height: rowH - 4, rx: 2,
        class: `bar bar-${a.status}`, "data-node": a.node_id}, svg("title", {}, tip));
      chart.append(bar);
      if (a.retries > 0) chart.append(svg("text", {x: x(start(a)) + w + 3, y: y + rowH - 5, class: "retry-mark"}, `↻${a.retries}`));
    });
    container.replaceChildren(chart);
    return {drawn: rows.length, left: attempts.length - rows.length};
  }

  return {draw};
})();
