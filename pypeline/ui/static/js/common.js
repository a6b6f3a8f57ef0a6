/* PYpeline UI: helpers every page uses. No framework; pages build the DOM with h(), never from HTML text. */
"use strict";

const pype = (() => {
  const body = document.body;
  const job = body.dataset.job || "";
  const run = body.dataset.run || "";

  /** h("div", {class: "x", onclick: fn}, child, "text", ...) -> element (strings become text nodes). */
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "class") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** parent's children replaced by children (nulls and falses skipped, arrays flattened). */
  function fill(parent, ...children) {
    parent.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
    return parent;
  }

  async function getJSON(url) {
    const response = await fetch(url, {headers: {accept: "application/json"}, credentials: "same-origin"});
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const error = new Error((data && data.error) || `${response.status} ${response.statusText}`);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  const enc = encodeURIComponent;
  const urls = {
    job: (name) => `/jobs/${enc(name)}`,
    runs: (name) => `/jobs/${enc(name)}/runs`,
    run: (name, id) => `/jobs/${enc(name)}/runs/${enc(id)}`,
    api: (...parts) => "/api/jobs" + parts.map((p) => "/" + enc(p)).join(""),
  };

  function crumbs(items) {
    const nav = document.getElementById("crumbs");
    fill(nav, ...items.map(([label, href], i) => [
      i ? h("span", {class: "sep"}, "›") : null,
      href ? h("a", {href}, label) : h("span", {class: "here"}, label),
    ]));
  }

  function tabs(active) {
    if (!job) return null;
    return h("nav", {class: "tabs"},
      h("a", {href: urls.job(job), class: active === "graph" ? "active" : null}, "Graph"),
      h("a", {href: urls.runs(job), class: active === "runs" ? "active" : null}, "Runs"));
  }

  function badge(status) {
    return h("span", {class: `badge status-${status || "unknown"}`, "data-status": status || "unknown"}, status || "—");
  }

  function duration(ms) {
    if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
    if (ms < 1000) return `${Math.round(ms)} ms`;
    const s = ms / 1000;
    if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
    return `${Math.floor(m / 60)} h ${m % 60} min`;
  }

  /** "2026-11-23T11:22:33.456Z" -> local "2026-11-23 12:22:33". */
  function when(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function number(n) {
    return n === null || n === undefined ? "—" : Number(n).toLocaleString("en-US");
  }

  function showError(message) {
    const main = document.getElementById("main");
    const box = h("div", {class: "error-banner", role: "alert"}, message);
    main.prepend(box);
  }

  /** JSON-ish value as a <pre> (configs, globals): plain text, nothing interpreted. */
  function pre(value) {
    return h("pre", {class: "json"}, JSON.stringify(value, null, 2));
  }

  /** Call fn every ms while keep() is true; stops when the page is hidden less often. */
  function poll(fn, ms, keep) {
    let timer = null;
    const tick = async () => {
      timer = null;
      if (!keep()) return;
      try { await fn(); } catch (e) { console.warn("poll failed:", e.message); }
      if (keep()) timer = setTimeout(tick, document.hidden ? ms * 4 : ms);
    };
    timer = setTimeout(tick, ms);
    return () => { if (timer) clearTimeout(timer); };
  }

  return {h, fill, getJSON, urls, crumbs, tabs, badge, duration, when, number, showError, pre, poll, job, run};
})();
