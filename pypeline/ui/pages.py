"""The HTML of the four pages: a shell that loads the page's script, which fetches its JSON.

Pages hold no data: the scripts under ``static/js/`` fetch the JSON
endpoints and build the page with DOM calls (text nodes, never HTML from
data), so a module id or a log line cannot inject markup. The only values
written into the HTML are the job name and run id of the URL, escaped,
as ``data-`` attributes the scripts read.
"""

from __future__ import annotations

from html import escape

_TITLES = {"jobs": "Jobs", "graph": "Job graph", "runs": "Runs", "run": "Run"}
_SCRIPTS = {
    "jobs": ("js/common.js", "js/jobs.js"),
    "graph": ("vendor/cytoscape.min.js", "vendor/dagre.min.js", "js/common.js", "js/layout.js", "js/graph.js"),
    "runs": ("js/common.js", "js/runs.js"),
    "run": ("js/common.js", "js/gantt.js", "js/log.js", "js/run.js"),
}


def page(kind: str, *, job: str = "", run: str = "") -> str:
    """The HTML of page ``kind`` (``jobs``, ``graph``, ``runs`` or ``run``)."""
    title = " · ".join(t for t in (_TITLES[kind], job, run) if t) + " · PYpeline"
    scripts = "\n".join(f'<script src="/static/{escape(s)}"></script>' for s in _SCRIPTS[kind])
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/css/app.css">
</head>
<body data-page="{escape(kind)}" data-job="{escape(job)}" data-run="{escape(run)}">
<header class="top"><a class="brand" href="/">PYpeline</a><nav id="crumbs"></nav></header>
<main id="main">
<noscript>This page needs JavaScript (shipped with pype; nothing loads from elsewhere).</noscript>
</main>
{scripts}
</body>
</html>
"""
