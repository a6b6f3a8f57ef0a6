/* The run page: summary, the error with its module, skipped sub flows, the Gantt timeline, per-module rows,
 * spills and the log. A live run is followed without a reload: its log is read on from the last offset, and
 * when its status changes the page is drawn again from the final manifest. */
"use strict";

(() => {
  const {h, getJSON, urls, crumbs, tabs, badge, when, duration, number, showError, pre, poll} = pype;
  const job = pype.job, run = pype.run;
  const main = document.getElementById("main");
  crumbs([["Jobs", "/"], [job, urls.job(job)], ["Runs", urls.runs(job)], [run, null]]);
  const state = {detail: null, log: null, live: new Map()};

  function fact(label, value) {
    return [h("dt", {}, label), h("dd", {}, value === null || value === undefined || value === "" ? "—" : value)];
  }

  function runLink(id) {
    return id ? h("a", {href: urls.run(job, id)}, id) : null;
  }

  function summary(d) {
    const running = d.status === "running";
    const took = running && d.started ? Math.max(0, Date.now() - Date.parse(d.started)) : d.duration_ms;
    return h("dl", {class: "facts wide", id: "summary"},
      fact("status", badge(d.status)), fact("started", when(d.started)), fact("ended", when(d.ended)),
      fact("duration", duration(took)), fact("context", d.context), fact("mode", d.execution_mode),
      fact("rows written", number(d.rows_written)), fact("resumed from", runLink(d.resumed_from)),
      fact("resumed by", runLink(d.resumed_by)));
  }

  function errors(d) {
    if (!d.errors.length && !d.failed_modules.length) return null;
    const failed = d.modules.filter((m) => m.status === "failed");
    return h("section", {class: "errors", id: "errors"}, h("h2", {}, "Error"),
      failed.map((m) => h("div", {class: "error-box", "data-node": m.node_id},
        h("div", {}, "module ", h("strong", {class: "failed-module"}, m.node_id), m.name ? ` (${m.name})` : "",
          ` failed after ${m.attempts} attempt${m.attempts === 1 ? "" : "s"}`),
        h("pre", {class: "error-text"}, m.error || ""))),
      d.errors.filter((e) => !failed.some((m) => e.includes(`'${m.node_id}'`)))
        .map((e) => h("div", {class: "error-box"}, h("pre", {class: "error-text"}, e))),
      d.resume_command ? h("p", {}, "Resume with ", h("code", {}, d.resume_command)) : null);
  }

  function skipped(d) {
    if (!d.skipped.length) return null;
    return h("section", {id: "skipped"}, h("h2", {}, "Skipped sub flows"),
      h("table", {class: "grid"}, h("thead", {}, h("tr", {}, h("th", {}, "sub flow"), h("th", {}, "status"), h("th", {}, "reason"))),
        h("tbody", {}, d.skipped.map((s) => h("tr", {}, h("td", {}, h("code", {}, s.instance)), h("td", {}, badge(s.status)),
          h("td", {}, s.reason || s.error || "—"))))));
  }

  function timeline(d) {
    const box = h("div", {class: "gantt-box", id: "gantt"});
    const section = h("section", {}, h("h2", {}, "Timeline"), box);
    requestAnimationFrame(() => {
      const result = pypeGantt.draw(box, d.modules, Math.max(600, box.clientWidth || 900));
      const restored = d.modules.filter((m) => m.status === "restored").length;
      if (restored) box.append(h("p", {class: "muted small"}, `${restored} module instances restored from an earlier run are not drawn.`));
      if (result.left > restored) box.append(h("p", {class: "muted small"}, `${result.left - restored} more not drawn.`));
    });
    return section;
  }

  function modulesTable(d) {
    if (!d.modules.length) return null;
    const cols = ["node", "module", "type", "status", "attempts", "retries", "rows in", "rows out", "duration", "spills", "error"];
    return h("section", {}, h("h2", {}, "Modules"), h("table", {class: "grid", id: "modules"},
      h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, c)))),
      h("tbody", {}, d.modules.map((m) => h("tr", {"data-node": m.node_id, "data-status": m.status},
        h("td", {}, h("code", {}, m.node_id)), h("td", {}, m.name || "—"), h("td", {}, m.type || "—"), h("td", {}, badge(m.status)),
        h("td", {class: "num"}, m.attempts), h("td", {class: "num"}, m.retries || 0),
        h("td", {class: "num"}, number(m.rows_in)), h("td", {class: "num"}, number(m.rows_out)),
        h("td", {class: "num"}, duration(m.duration_ms)), h("td", {class: "num"}, m.spills || 0),
        h("td", {class: "error-cell"}, m.error || ""))))));
  }

  function spills(d) {
    if (!d.spills.length) return null;
    return h("section", {}, h("h2", {}, "Spills"), h("table", {class: "grid"},
      h("thead", {}, h("tr", {}, ["artifact", "reason", "rows", "bytes in memory", "bytes on disk", "took"].map((c) => h("th", {}, c)))),
      h("tbody", {}, d.spills.map((s) => h("tr", {}, h("td", {}, h("code", {}, s.artifact)), h("td", {}, s.reason),
        h("td", {class: "num"}, number(s.rows)), h("td", {class: "num"}, number(s.bytes_in_memory)),
        h("td", {class: "num"}, number(s.bytes_on_disk)), h("td", {class: "num"}, duration(s.duration_ms)))))));
  }

  /** While the manifest says only "running": what the log has told so far, node by node. */
  function liveProgress() {
    const rows = [...state.live.values()];
    return h("section", {id: "live"}, h("h2", {}, "Progress ", h("span", {class: "live-dot"}, "live")),
      rows.length ? h("table", {class: "grid"}, h("thead", {}, h("tr", {}, ["node", "event", "attempt", "rows in", "rows out", "at"].map((c) => h("th", {}, c)))),
        h("tbody", {}, rows.map((r) => h("tr", {"data-node": r.node_id}, h("td", {}, h("code", {}, r.node_id)), h("td", {}, r.event),
          h("td", {class: "num"}, r.attempts ?? r.attempt ?? "—"), h("td", {class: "num"}, number(r.rows_in)),
          h("td", {class: "num"}, number(r.rows_out)), h("td", {}, when(r.timestamp))))))
        : h("p", {class: "muted"}, "Started; no module has finished yet."));
  }

  function render(d) {
    if (!state.log) {
      state.log = pypeLog.create(job, run, d.job_modules);
      state.log.onLines = trackLive;
    }
    const running = d.status === "running";
    pype.fill(main, 
      h("div", {class: "title-row"}, h("h1", {}, "Run ", h("span", {id: "run-id"}, run), " ", badge(d.status)), tabs("runs")),
      summary(d), errors(d), running ? liveProgress() : null, skipped(d),
      running ? null : timeline(d), modulesTable(d), spills(d), state.log.element);
  }

  function trackLive(lines) {
    for (const line of lines) {
      if (line.node_id && line.node_id !== "-" && String(line.event).startsWith("module_")) state.live.set(line.node_id, line);
    }
  }

  async function refresh() {
    const before = state.detail ? state.detail.status : null;
    const d = await getJSON(urls.api(job, "runs", run));
    state.detail = d;
    if (d.status !== before) {
      render(d);
    } else if (d.status === "running") {  // only what changes while it runs: the log keeps its place
      document.getElementById("summary").replaceWith(summary(d));
      document.getElementById("live").replaceWith(liveProgress());
    }
  }

  async function follow() {
    await state.log.fetchMore();
    await refresh();
  }

  getJSON(urls.api(job, "runs", run)).then(async (d) => {
    state.detail = d;
    render(d);
    await state.log.fetchMore();
    if (d.status === "running") {
      render(d);
      poll(follow, 1000, () => state.detail.status === "running");
    }
  }).catch((e) => showError(`Cannot show run ${run}: ${e.message}`));
})();
