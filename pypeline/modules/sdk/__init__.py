"""The module SDK: what a module author imports.

Example::

    from pypeline.modules.sdk import BaseModule, RunContext

    class Upper(BaseModule):
        TYPE = "mod"
        INPUT_PORTS = ["input"]
        OUTPUT_PORTS = ["output"]
        CONFIG_SCHEMA = {"required": {"column": {"type": "str"}}, "optional": {}}

        async def run(self, inputs, ctx):
            frame = inputs["input"].copy()
            frame[self.configs["column"]] = frame[self.configs["column"]].str.upper()
            return {"output": frame}
"""

from pypeline.modules.sdk.base import MODULE_TYPES, BaseModule
from pypeline.modules.sdk.columns import Columns, ColumnUse
from pypeline.modules.sdk.context import RunContext, ThreadRunner
from pypeline.modules.sdk.errors import DataError
from pypeline.modules.sdk.globals import GlobalStore
from pypeline.modules.sdk.lazy_outputs import atomic_output_path_async
from pypeline.modules.sdk.outputs import atomic_output_path

__all__ = [
    "MODULE_TYPES",
    "BaseModule",
    "ColumnUse",
    "Columns",
    "DataError",
    "GlobalStore",
    "RunContext",
    "ThreadRunner",
    "atomic_output_path",
    "atomic_output_path_async",
]
