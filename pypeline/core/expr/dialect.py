"""What one use of the grammar allows: names, functions, methods, operators.

Control conditions and frame expressions share the tokenizer, the parser and
the tree; a :class:`Dialect` says which parts of the grammar each one uses and
holds its closed list of functions and methods (with their parameters, so the
parser checks arities and keywords).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pypeline.core.expr.tree import LiteralValue


@dataclass(frozen=True, slots=True, kw_only=True)
class Signature:
    """One function or method.

    Args:
        func: the function's name in the tree (``str.upper`` for ``x.str.upper()``).
        params: parameter names after the subject of a method (keywords may name them).
        required: how many of ``params`` must be given.
        defaults: values of the optional ``params``, filled in by the parser, so a
            compiler always gets ``len(params)`` arguments (plus the subject).
        variadic: any number (at least ``required``) of positional arguments, no keywords.
        constant: the arguments must be literals (or templates, or lists of them).
        attribute: a property (``x.dt.year``), written without parentheses.
        limits: ``{param: maximum}`` for numeric arguments that size a result (padding widths).
        doc: one line for the documentation.
    """

    func: str
    params: tuple[str, ...] = ()
    required: int = 0
    defaults: tuple[LiteralValue, ...] = ()
    variadic: bool = False
    constant: bool = False
    attribute: bool = False
    limits: Mapping[str, int] = field(default_factory=dict)
    doc: str = ""

    def __post_init__(self) -> None:
        if not self.variadic and len(self.defaults) != len(self.params) - self.required:
            raise ValueError(f"{self.func}: defaults must cover the optional parameters")


@dataclass(frozen=True, slots=True, kw_only=True)
class Dialect:
    """The grammar options and closed lists of one kind of expression."""

    what: str
    """How messages call it: ``condition`` or ``expression``."""
    functions: Mapping[str, Signature]
    methods: Mapping[str, Signature] = field(default_factory=dict)
    """``"str.upper"`` -> signature; keys are the dotted paths written after the subject."""
    namespaces: frozenset[str] = frozenset()
    """Names that take one ``.field`` to form a single name (``context.env``)."""
    dotted_names: bool = False
    """Whether any other plain name takes ``.name`` parts to form one name (the module ids of an
    included flow: ``east.load__row_count``)."""
    attribute_hint: str = "attribute access is not allowed"
    """The message for any other ``.name`` when the dialect has no methods."""
    backticks: bool = False
    templates: bool = False
    logical_operators: bool = False
    """``& | ^ ~`` as logical operators at the precedence of ``and`` / ``or`` (pandas' rule)."""
    power: bool = False
    conditional: bool = False
    identity: bool = False
    tuples: bool = False
    private_names: bool = True
    """Whether plain names may start with ``_``."""
    max_length: int = 2000
    max_depth: int = 100
    max_nodes: int = 500
    max_int_bits: int = 4096
    max_string: int = 1_000_000
    _accessors: frozenset[str] = field(init=False, repr=False, compare=False, default=frozenset())

    def __post_init__(self) -> None:
        # every parse asks; a dialect is built once (a module constant), its methods never change
        found: set[str] = set()
        for path in self.methods:
            parts = path.split(".")
            found.update(".".join(parts[:i]) for i in range(1, len(parts)))
        object.__setattr__(self, "_accessors", frozenset(found))

    def accessors(self) -> frozenset[str]:
        """Prefixes of dotted method paths (``str`` of ``str.upper``)."""
        return self._accessors
