"""Plain Python functions as modules.

A function becomes a module when it declares its ports, either with the
decorator::

    @pypeline.module(inputs=["input"], outputs=["output"])
    def double(input: pd.DataFrame, factor: int = 2) -> pd.DataFrame: ...

or, Trakt style, with attributes set on it::

    double.declared_inputs = ["input"]
    double.declared_outputs = ["output"]

:func:`function_module_class` turns such a function into a
:class:`~pypeline.modules.sdk.base.BaseModule` subclass whose dotted path is
the function's own (``package.module.double``), so ``dag.json``, the
registry, every backend's far side and ``--resume`` find it the way they find
a class module: by importing that path (:mod:`pypeline.modules.loader`).
"""

from pypeline.modules.functions.adapter import function_module_class
from pypeline.modules.functions.declare import FunctionDeclaration, declaration_of, is_function_module, module

__all__ = ["FunctionDeclaration", "declaration_of", "function_module_class", "is_function_module", "module"]
