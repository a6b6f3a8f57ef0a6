/* The log of a run (log.jsonl), filterable by module and lowest level; follows a live run from a byte offset. */
"use strict";

const pypeLog = (() => {
  const {h, getJSON, urls} = pype;
  const MAX_LINES = 5000;
  const SHOWN = new Set(["timestamp", "level", "node_id", "event", "run_id", "traceback"]);

  function when(ts) {
    return ts ? String(ts).replace("T", " ").replace(/(\.\d{3})\d*Z$/, "$1") : "";
  }

  function lineRow(line) {
    const rest = Object.entries(line).filter(([k]) => !SHOWN.has(k))
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join("  ");
    return h("tr", {class: `log-${line.level}`, "data-node": line.node_id, "data-level": line.level},
      h("td", {class: "ts"}, when(line.timestamp)),
      h("td", {}, h("span", {class: `level level-${line.level}`}, line.level)),
      h("td", {}, h("code", {}, line.node_id)),
      h("td", {}, h("strong", {}, line.event)),
      h("td", {class: "fields"}, rest,
        line.traceback ? h("details", {}, h("summary", {}, "traceback"), h("pre", {}, line.traceback)) : null));
  }

  /** A log panel for run `run` of job `job`; modules: the ids offered in the filter. */
  function create(job, run, modules) {
    const state = {after: 0, module: "", level: "", busy: false, generation: 0, count: 0, skipped: 0};
    const tbody = h("tbody", {});
    const count = h("span", {class: "muted small", id: "log-count"});
    const moduleSelect = h("select", {id: "log-module", onchange: (ev) => { state.module = ev.target.value; reload(); }},
      h("option", {value: ""}, "all modules"), h("option", {value: "-"}, "run (no module)"),
      modules.map((m) => h("option", {value: m}, m)));
    const levelSelect = h("select", {id: "log-level", onchange: (ev) => { state.level = ev.target.value; reload(); }},
      [["", "every level"], ["info", "info and up"], ["warning", "warnings and errors"], ["error", "errors"]]
        .map(([v, t]) => h("option", {value: v}, t)));
    const element = h("section", {class: "log", id: "log"},
      h("h2", {}, "Log"),
      h("div", {class: "toolbar"}, h("label", {}, "module ", moduleSelect), h("label", {}, "level ", levelSelect), count),
      h("div", {class: "log-scroll"}, h("table", {class: "grid log-table"},
        h("thead", {}, h("tr", {}, ["time", "level", "node", "event", "details"].map((t) => h("th", {}, t)))), tbody)));

    async function fetchMore() {
      if (state.busy) return;
      state.busy = true;
      const generation = state.generation;
      try {
        for (;;) {
          const q = new URLSearchParams({after: state.after, module: state.module, level: state.level});
          const page = await getJSON(`${urls.api(job, "runs", run, "log")}?${q}`);
          if (generation !== state.generation) return;  // the filter changed meanwhile: that load starts over
          state.after = page.next;
          tbody.append(...page.lines.map(lineRow));
          if (api.onLines) api.onLines(page.lines);
          state.count += page.lines.length;
          state.skipped += page.skipped || 0;
          while (tbody.childElementCount > MAX_LINES) tbody.firstElementChild.remove();
          count.textContent = `${state.count} line${state.count === 1 ? "" : "s"}` +
            (state.count > MAX_LINES ? ` (the last ${MAX_LINES} shown)` : "") +
            (state.skipped ? `; ${state.skipped} line${state.skipped === 1 ? "" : "s"} over 1 MiB not shown` : "");
          if (!page.more) break;
        }
      } finally {
        state.busy = false;
      }
    }

    function reload() {
      state.generation += 1;
      state.after = 0;
      state.count = 0;
      state.skipped = 0;
      state.busy = false;
      tbody.replaceChildren();
      return fetchMore();
    }

    const api = {element, fetchMore, reload, onLines: null};
    return api;
  }

  return {create};
})();
