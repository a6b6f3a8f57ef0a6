/* The jobs page: every job folder under JOBS_DIR, its flow version, last run and warnings. Refreshes itself. */
"use strict";

(() => {
  const {h, getJSON, urls, crumbs, badge, when, duration, showError, poll} = pype;
  const main = document.getElementById("main");
  crumbs([["Jobs", null]]);

  function row(job) {
    const last = job.last_run;
    const lastCell = last
      ? h("td", {class: "last-run"}, badge(last.status), " ",
          h("a", {href: urls.run(job.name, last.run_id)}, when(last.started)),
          h("span", {class: "muted"}, " · ", duration(last.duration_ms)))
      : h("td", {class: "muted"}, job.valid ? "never run" : "—");
    const notes = job.valid
      ? job.warnings.map((w) => h("div", {class: "warning"}, "⚠ ", w))
      : [h("div", {class: "invalid"}, job.error)];
    return h("tr", {"data-job": job.name},
      h("td", {}, h("a", {class: "job-link", href: urls.job(job.name)}, job.name),
        job.description ? h("div", {class: "muted small"}, job.description) : null),
      h("td", {}, job.valid ? (job.version || "—") : "—"),
      h("td", {class: "num"}, job.valid ? job.modules : "—"),
      lastCell,
      h("td", {class: "num"}, job.valid ? h("a", {href: urls.runs(job.name)}, String(job.runs)) : "—"),
      h("td", {class: "notes"}, notes));
  }

  function render(jobs) {
    const title = h("h1", {}, "Jobs");
    if (!jobs.length) {
      pype.fill(main, title, h("p", {class: "empty"},
        "No job folders here yet. Build one with ", h("code", {}, "pype build <flow.yaml>"), "."));
      return;
    }
    const table = h("table", {class: "grid", id: "jobs"},
      h("thead", {}, h("tr", {}, ["Job", "Flow version", "Modules", "Last run", "Runs", "Notes"].map((t) => h("th", {}, t)))),
      h("tbody", {}, jobs.map(row)));
    pype.fill(main, title, table);
  }

  async function refresh() { render(await getJSON("/api/jobs")); }
  refresh().then(() => poll(refresh, 3000, () => true), (e) => showError(`Cannot list the jobs: ${e.message}`));
})();
