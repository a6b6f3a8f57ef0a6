"""The ASGI application of ``pype ui``: four pages, their JSON endpoints and the static files.

===========================================  =============================================
``/``                                        jobs page
``/jobs/{job}``                              job graph page
``/jobs/{job}/runs``                         runs page
``/jobs/{job}/runs/{run}``                   run page
``/api/jobs``                                every job folder with its last run and warnings
``/api/jobs/{job}``                          one job (flow, environments, settings, warnings)
``/api/jobs/{job}/graph``                    modules, sub flows, data and control connections
``/api/jobs/{job}/modules/{module}``         one module; ``?context=ENV`` renders its configs
``/api/jobs/{job}/runs``                     the job's runs, newest first (``?limit=N``)
``/api/jobs/{job}/runs/{run}``               one run: attempts, sub flows, errors, spills
``/api/jobs/{job}/runs/{run}/log``           log lines after ``?after=BYTES``, ``&module=``, ``&level=``
``/static/...``                              scripts, styles, the vendored graph libraries
===========================================  =============================================

Every endpoint reads; none writes (:mod:`pypeline.ui.security` refuses any
method but ``GET`` and ``HEAD``). A job or run that does not exist, or a
name that would lead outside ``JOBS_DIR``, is ``404``; a folder that is not
a readable job folder is ``422`` with the reader's message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from pypeline.ui.jobs import JobReader, job_folder_of, sink_ids
from pypeline.ui.pages import page
from pypeline.ui.paths import JobsRoot, NotFound
from pypeline.ui.security import Guard
from pypeline.ui.sources import JobError

STATIC_DIR = Path(__file__).parent / "static"
Handler = Callable[[Request], Awaitable[Response]]


def _int(request: Request, name: str, default: int) -> int:
    try:
        return max(0, int(request.query_params.get(name, default)))
    except ValueError:
        return default


def create_app(jobs_dir: str | Path, *, token: str | None = None, loopback_only: bool = True) -> Any:
    """The UI over ``jobs_dir`` (an existing folder), wrapped in its request guard."""
    handlers = _Handlers(JobReader(JobsRoot.at(jobs_dir)))
    routes = [
        Route("/", handlers.html("jobs")),
        Route("/jobs/{job}", handlers.html("graph")),
        Route("/jobs/{job}/runs", handlers.html("runs")),
        Route("/jobs/{job}/runs/{run}", handlers.html("run")),
        Route("/api/jobs", _api(handlers.jobs)),
        Route("/api/jobs/{job}", _api(handlers.job_summary)),
        Route("/api/jobs/{job}/graph", _api(handlers.graph)),
        Route("/api/jobs/{job}/modules/{module}", _api(handlers.module)),
        Route("/api/jobs/{job}/runs", _api(handlers.job_runs)),
        Route("/api/jobs/{job}/runs/{run}", _api(handlers.run_detail)),
        Route("/api/jobs/{job}/runs/{run}/log", _api(handlers.run_log)),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(routes=routes)
    return Guard(app, token=token, loopback_only=loopback_only)


def _api(fn: Callable[[Request], Any]) -> Handler:
    """A JSON endpoint: ``fn`` runs in a thread (it reads files); errors become 404 / 422."""

    async def endpoint(request: Request) -> Response:
        try:
            body = await asyncio.to_thread(fn, request)
        except NotFound:
            return JSONResponse({"error": "not found"}, 404)
        except JobError as exc:
            return JSONResponse({"error": exc.format_message()}, 422)
        except (KeyError, TypeError, ValueError) as exc:  # a job folder edited into something else
            return JSONResponse({"error": f"unreadable job folder: {type(exc).__name__}: {exc}"}, 422)
        return JSONResponse(body)

    return endpoint


class _Handlers:
    """What each page and JSON endpoint answers, read through one :class:`JobReader`."""

    def __init__(self, reader: JobReader) -> None:
        self.reader = reader

    def html(self, kind: str) -> Handler:
        """A page: the same HTML shell for each kind; a job or run that does not exist is a 404."""
        reader = self.reader

        async def endpoint(request: Request) -> Response:
            job = request.path_params.get("job", "")
            run = request.path_params.get("run", "")
            try:
                if job:
                    folder = reader.root.job_dir(job)
                    if run:
                        reader.root.run_dir(folder, run)
            except NotFound:
                return HTMLResponse(_not_found(), 404)
            return HTMLResponse(page(kind, job=job, run=run))

        return endpoint

    def jobs(self, request: Request) -> Any:
        return self.reader.jobs()

    def job_summary(self, request: Request) -> Any:
        folder = self.reader.root.job_dir(request.path_params["job"])
        if not any(folder.glob("*_execution_metadata.json")):  # a folder, but not a job folder
            raise NotFound(folder.name)
        return self.reader.summary(folder.name)

    def graph(self, request: Request) -> Any:
        return self.reader.graph(request.path_params["job"])

    def module(self, request: Request) -> Any:
        params = request.path_params
        return self.reader.module(params["job"], params["module"], request.query_params.get("context"))

    def job_runs(self, request: Request) -> Any:
        job = self.reader.job(request.path_params["job"])
        limit = _int(request, "limit", 200) or None
        return self.reader.runs.runs(job_folder_of(job), sink_ids(job), limit)

    def run_detail(self, request: Request) -> Any:
        job, run_dir = self.reader.run_dir(request.path_params["job"], request.path_params["run"])
        return self.reader.runs.detail(run_dir, self.reader.modules_info(job))

    def run_log(self, request: Request) -> Any:
        _job, run_dir = self.reader.run_dir(request.path_params["job"], request.path_params["run"])
        q = request.query_params
        return self.reader.runs.read_log(
            run_dir, after=_int(request, "after", 0), module=q.get("module", ""), level=q.get("level", ""),
        )


def _not_found() -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not found · PYpeline</title>'
        '<link rel="stylesheet" href="/static/css/app.css"></head><body><main id="main">'
        '<h1>Not found</h1><p>No such job or run under this jobs folder. <a href="/">All jobs</a></p>'
        "</main></body></html>"
    )
