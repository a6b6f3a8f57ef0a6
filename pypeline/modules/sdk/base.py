"""``BaseModule``: the class every PYpeline module extends.

A module is a class with a handful of class attributes that describe it to
the build (ports, config schema, globals) and three coroutines the run calls:

* ``setup(ctx)``: once per attempt, before ``run`` (open connections, ...);
* ``run(inputs, ctx) -> outputs``: the work. ``inputs`` maps each input port
  to its value (a pandas frame in ``execution_mode: pandas``, ``arrow`` and
  ``stream``, a dask frame in ``execution_mode: dask``, or a plain Python value
  such as a list), and the returned dict maps each output port to a value of
  the same kinds. A module that declares ``ACCEPTS_ARROW`` receives Arrow
  tables in ``execution_mode: arrow``, one that declares ``STREAMS`` receives
  streams of record batches in ``execution_mode: stream``
  (:mod:`pypeline.modules.kinds`; docs/performance.md);
* ``teardown(ctx)``: always awaited after ``run``, even when it failed or was
  cancelled.

Each attempt (see ``retries``) gets a fresh instance, so an attempt never sees
state a failed one left behind, and the same holds on every backend.

``configs`` is the module's resolved configuration: required and optional
values merged, defaults filled in and templates already rendered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from pypeline.modules.sdk.columns import Columns, ColumnUse
    from pypeline.modules.sdk.context import RunContext

MODULE_TYPES = ("source", "mod", "sink", "solo")


class BaseModule:
    """Base class of all modules (see the module docstring for the life cycle)."""

    TYPE: ClassVar[str] = "unknown"
    """One of ``source``, ``mod`` (transform), ``sink``, ``solo`` (see docs/flow-format.md, 'Module categories')."""
    VERSION: ClassVar[str] = "1.0.0"
    DESCRIPTION: ClassVar[str] = ""
    CATEGORY: ClassVar[str] = "unknown"
    """A grouping for listings (``File Sources``, ``Transforms``, ...)."""
    INPUT_PORTS: ClassVar[list[str]] = []
    OPTIONAL_INPUTS: ClassVar[list[str]] = []
    """Input ports that may stay unconnected (the others must be connected)."""
    OUTPUT_PORTS: ClassVar[list[str]] = []
    LIST_OUTPUTS: ClassVar[list[str]] = []
    """Output ports that carry a Python list; only these can drive an ``iterate`` connection."""
    GLOBALS: ClassVar[list[str]] = []
    """Names of the globals this module sets with ``ctx.set_global``."""
    PACKAGES: ClassVar[list[str]] = []
    """Third-party packages the module needs (documentation and packaging)."""
    CONFIG_SCHEMA: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {"required": {}, "optional": {}}
    """``{"required": {name: spec}, "optional": {name: spec}}``; a spec has ``type``
    (``str``, ``int``, ``float``, ``number``, ``bool``, ``list``, ``dict``, ``any``,
    ``list[str]`` or unions like ``str|list[str]``), optional ``enum``, ``default``
    (optional params) and ``description``."""
    SUPPORTS_DASK: ClassVar[bool] = True
    """False when the module cannot work in ``execution_mode: dask`` (a build error then)."""
    ACCEPTS_ARROW: ClassVar[bool] = False
    """True when ``run`` takes frames of any kind as they come (``pyarrow.Table`` included) and
    returns them as it likes: in ``execution_mode: arrow`` its inputs then reach it without a
    conversion. False: they are converted to pandas frames first (docs/performance.md)."""
    STREAMS: ClassVar[bool] = False
    """True when ``run`` takes streams of record batches (``BatchStream``) in ``execution_mode:
    stream`` and returns streams, reading nothing itself (a sink reads). False: in stream mode
    its inputs are collected whole first, with a warning (docs/performance.md, stream mode)."""

    def __init__(self, configs: Mapping[str, Any] | None = None) -> None:
        self.configs: dict[str, Any] = dict(configs or {})

    async def setup(self, ctx: RunContext) -> None:
        """Prepare resources before ``run`` (optional)."""

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        """Do the module's work; return a dict of output port -> value."""
        raise NotImplementedError(f"{type(self).__name__} does not implement run()")

    async def teardown(self, ctx: RunContext) -> None:
        """Release resources (optional); always awaited."""

    @classmethod
    def declared_globals(cls, configs: Mapping[str, Any]) -> list[str] | None:
        """Globals an instance with these configs sets; ``None`` when it cannot be known."""
        return list(cls.GLOBALS)

    @classmethod
    def mode_limits(cls, configs: Mapping[str, Any]) -> dict[str, str]:
        """Execution modes these configs cannot run natively in -> why (read when choosing the mode).

        ``{"stream": "no dtypes declared: ..."}`` keeps ``execution_mode: auto`` from
        choosing stream mode for a flow with this module, and names the reason in the
        run's log. Empty when the class attributes say it all.
        """
        return {}

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        """Problems with resolved ``configs`` that the schema cannot express; empty when fine.

        The build calls this after the schema check (types, enums, defaults), so a
        module can reject a bad combination (``mode: upsert`` without ``keys``), an
        expression that does not parse, or a regular expression that does not
        compile, before anything runs. Values still holding ``{{templates}}`` are
        checked again at run time by the module itself; skip them here.
        """
        return []

    @classmethod
    def output_columns(
        cls, configs: Mapping[str, Any], inputs: Mapping[str, Columns | None]
    ) -> Mapping[str, Columns | None] | None:
        """The columns on each output port, given those on each input port; ``None`` when it cannot be told.

        The build checks column names with it before anything runs (``modules/sdk/columns.py``).
        The default says nothing: a module that does not override it is opaque, and the
        columns downstream of it are not checked (no false alarm).
        """
        return None

    @classmethod
    def columns_used(cls, configs: Mapping[str, Any]) -> list[ColumnUse]:
        """The input columns the configs name; the build reports those not known to reach the input."""
        return []

    @classmethod
    def data_columns(cls, configs: Mapping[str, Any]) -> Columns | None:
        """A source's columns read from its data (a file header); ``None`` when unknown.

        Only ``pype run --dry-run`` and ``pype validate --with-data`` call it; a build never reads data.
        """
        return None

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The registry entry for this class (``ModRegistry.json`` shape)."""
        return {
            "module_path": f"{cls.__module__}.{cls.__qualname__}",
            "type": cls.TYPE,
            "version": cls.VERSION,
            "description": cls.DESCRIPTION,
            "category": cls.CATEGORY,
            "input_ports": list(cls.INPUT_PORTS),
            "optional_inputs": list(cls.OPTIONAL_INPUTS),
            "output_ports": list(cls.OUTPUT_PORTS),
            "list_outputs": list(cls.LIST_OUTPUTS),
            "globals": list(cls.GLOBALS),
            "packages": list(cls.PACKAGES),
            "supports_dask": cls.SUPPORTS_DASK,
            "accepts_arrow": cls.ACCEPTS_ARROW,
            "streams": cls.STREAMS,
            "config_schema": {
                "required": dict(cls.CONFIG_SCHEMA.get("required", {})),
                "optional": dict(cls.CONFIG_SCHEMA.get("optional", {})),
            },
        }
