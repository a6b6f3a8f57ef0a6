"""``pype ui``: a read-only web view of job folders and their runs (docs/ui.md).

:mod:`~pypeline.ui.server` checks the options and serves
:func:`~pypeline.ui.app.create_app` with uvicorn; the app reads job folders
(:mod:`~pypeline.ui.jobs`) and run folders (:mod:`~pypeline.ui.runs`) only
through :mod:`~pypeline.ui.paths`, which keeps every read inside
``JOBS_DIR``, and through the readers of the rest of PYpeline gathered in
:mod:`~pypeline.ui.sources`. The pages are static HTML and JavaScript under
``static/`` (the graph libraries vendored, see ``static/README.md``).
Starlette and uvicorn come with the ``ui`` extra: ``pip install 'pypeline[ui]'``.
"""
