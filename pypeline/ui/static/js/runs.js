/* The runs page: a job's runs, newest first; new runs and status changes appear without a reload. */
"use strict";

(() => {
  const {h, getJSON, urls, crumbs, tabs, badge, when, duration, number, showError, poll} = pype;
  const job = pype.job;
  const main = document.getElementById("main");
  crumbs([["Jobs", "/"], [job, urls.job(job)], ["Runs", null]]);

  function runLink(id) {
    return id ? h("a", {href: urls.run(job, id)}, id) : "—";
  }

  function row(r) {
    const running = r.status === "running";
    const took = running && r.started ? Math.max(0, Date.now() - Date.parse(r.started)) : r.duration_ms;
    return h("tr", {"data-run": r.run_id, "data-status": r.status},
      h("td", {}, h("a", {class: "run-link", href: urls.run(job, r.run_id)}, r.run_id)),
      h("td", {}, badge(r.status)),
      h("td", {}, when(r.started)),
      h("td", {class: "num"}, duration(took)),
      h("td", {class: "num"}, number(r.rows_written)),
      h("td", {}, r.context || "—"),
      h("td", {}, r.resumed_from ? ["resumes ", runLink(r.resumed_from)] : null,
        r.resumed_by ? [r.resumed_from ? "; " : "", "resumed by ", runLink(r.resumed_by)] : null,
        r.resumable && !r.resumed_by ? h("span", {class: "muted"}, r.resumed_from ? "; resumable" : "resumable") : null),
      h("td", {class: "failed"}, r.failed_modules.join(", ")));
  }

  function render(runs) {
    const head = [h("div", {class: "title-row"}, h("h1", {}, `Runs of ${job}`), tabs("runs"))];
    if (!runs.length) {
      pype.fill(main, ...head, h("p", {class: "empty", id: "no-runs"}, "No runs yet. Start one with ",
        h("code", {}, `pype run <jobs folder>/${job}`), "; it appears here as it starts."));
      return;
    }
    pype.fill(main, ...head, h("table", {class: "grid", id: "runs"},
      h("thead", {}, h("tr", {}, ["Run", "Status", "Started", "Duration", "Rows written", "Context", "Resume", "Failed modules"]
        .map((t) => h("th", {}, t)))),
      h("tbody", {}, runs.map(row))));
  }

  async function refresh() { render(await getJSON(urls.api(job, "runs"))); }

  refresh().then(() => poll(refresh, 2000, () => true), (e) => showError(`Cannot list the runs of ${job}: ${e.message}`));
})();
