"""The frame-expression dialect: its closed list of functions and methods.

Every entry is a :class:`~pypeline.core.expr.Signature` (parameters,
defaults, constant arguments, size limits) the parser checks, plus one line
of documentation (``docs/modules.md``, 'Expressions', lists them). The
compilers (:mod:`.pandas_form`, :mod:`.arrow_form`) implement exactly these
``func`` names; ``tests/security/test_frame_grammar.py`` checks that they do.
"""

from __future__ import annotations

from pypeline.core.expr import Dialect, Signature

MAX_WIDTH = 10_000
"""Largest padding width (``.str.pad``, ``.str.zfill``, ...)."""
MAX_REPEAT = 1_000
"""Largest count of a text repetition (``name * 3``)."""

_MATH = {
    "sin": "sine", "cos": "cosine", "tan": "tangent", "exp": "e to the power x", "log": "natural logarithm",
    "expm1": "exp(x) - 1", "log1p": "log(1 + x)", "sqrt": "square root", "sinh": "hyperbolic sine",
    "cosh": "hyperbolic cosine", "tanh": "hyperbolic tangent", "arcsin": "inverse sine", "arccos": "inverse cosine",
    "arctan": "inverse tangent", "arccosh": "inverse hyperbolic cosine", "arcsinh": "inverse hyperbolic sine",
    "arctanh": "inverse hyperbolic tangent", "abs": "absolute value", "floor": "round down", "ceil": "round up",
}
FUNCTIONS: dict[str, Signature] = {
    **{name: Signature(func=name, params=("x",), required=1, doc=doc) for name, doc in _MATH.items()},
    "arctan2": Signature(func="arctan2", params=("y", "x"), required=2, doc="angle of the point (x, y)"),
}

_TEXT_SAME = {
    "upper": "upper case", "lower": "lower case", "title": "title case", "capitalize": "first letter upper case",
    "swapcase": "swap the case",
}
_TEXT_TESTS = {
    "isdigit": "only digits", "isnumeric": "only numeric characters", "isalpha": "only letters",
    "isalnum": "only letters and digits", "isspace": "only white space",
}
_DT_FIELDS = {
    "year": "year", "month": "month 1-12", "day": "day of the month", "hour": "hour", "minute": "minute",
    "second": "second", "microsecond": "microsecond within the second", "quarter": "quarter 1-4",
    "dayofweek": "day of the week, Monday=0", "day_of_week": "day of the week, Monday=0",
    "weekday": "day of the week, Monday=0", "dayofyear": "day of the year", "day_of_year": "day of the year",
    "is_month_start": "first day of its month", "is_month_end": "last day of its month",
    "days_in_month": "number of days of its month", "date": "the date part",
}
_WIDTH = {"width": MAX_WIDTH}


def _m(func: str, params: tuple[str, ...] = (), required: int = 0, defaults: tuple[object, ...] = (),
       doc: str = "", **kw: object) -> Signature:
    return Signature(func=func, params=params, required=required, defaults=defaults,  # type: ignore[arg-type]
                     constant=True, doc=doc, **kw)  # type: ignore[arg-type]


METHODS: dict[str, Signature] = {
    "abs": _m("abs", doc="absolute value"),
    "round": _m("round", ("decimals",), 0, (0,), doc="round half to even to `decimals` places"),
    "fillna": _m("fillna", ("value",), 1, doc="`value` where missing"),
    "isna": _m("isna", doc="true where missing"),
    "isnull": _m("isna", doc="true where missing"),
    "notna": _m("notna", doc="true where not missing"),
    "notnull": _m("notna", doc="true where not missing"),
    "clip": _m("clip", ("lower", "upper"), 0, (None, None), doc="bounded to [lower, upper]"),
    "between": _m("between", ("left", "right", "inclusive"), 2, ("both",),
                  doc="left <= x <= right (`inclusive`: both, neither, left, right)"),
    "isin": _m("isin", ("values",), 1, doc="true where the value is in the list"),
    "astype": _m("astype", ("dtype",), 1, doc="convert to int, float, str or bool"),
    "mod": _m("mod", ("other",), 1, doc="x % other"),
    "pow": _m("pow", ("other",), 1, doc="x ** other"),
    **{f"str.{name}": _m(f"str.{name}", doc=doc) for name, doc in _TEXT_SAME.items()},
    **{f"str.{name}": _m(f"str.{name}", doc=f"true where the text has {doc}") for name, doc in _TEXT_TESTS.items()},
    "str.len": _m("str.len", doc="number of characters"),
    "str.strip": _m("str.strip", ("to_strip",), 0, (None,), doc="without leading and trailing white space "
                    "(or the characters of `to_strip`)"),
    "str.lstrip": _m("str.lstrip", ("to_strip",), 0, (None,), doc="without leading white space"),
    "str.rstrip": _m("str.rstrip", ("to_strip",), 0, (None,), doc="without trailing white space"),
    "str.contains": _m("str.contains", ("pat", "case", "regex"), 1, (True, True),
                       doc="true where `pat` occurs (RE2 regular expression unless regex=False)"),
    "str.startswith": _m("str.startswith", ("pat",), 1, doc="true where the text starts with `pat`"),
    "str.endswith": _m("str.endswith", ("pat",), 1, doc="true where the text ends with `pat`"),
    "str.match": _m("str.match", ("pat", "case"), 1, (True,), doc="true where RE2 `pat` matches at the start"),
    "str.fullmatch": _m("str.fullmatch", ("pat", "case"), 1, (True,), doc="true where RE2 `pat` matches it all"),
    "str.count": _m("str.count", ("pat",), 1, doc="number of matches of RE2 `pat`"),
    "str.replace": _m("str.replace", ("pat", "repl", "n", "regex"), 2, (-1, False),
                      doc="`pat` replaced by `repl` (at most `n` times; RE2 when regex=True)"),
    "str.slice": _m("str.slice", ("start", "stop", "step"), 0, (None, None, None),
                    doc="characters start:stop:step"),
    "str.removeprefix": _m("str.removeprefix", ("prefix",), 1, doc="without a leading `prefix`"),
    "str.removesuffix": _m("str.removesuffix", ("suffix",), 1, doc="without a trailing `suffix`"),
    "str.zfill": _m("str.zfill", ("width",), 1, limits=_WIDTH, doc="zeros on the left up to `width` (sign kept)"),
    "str.pad": _m("str.pad", ("width", "side", "fillchar"), 1, ("left", " "), limits=_WIDTH,
                  doc="padded to `width` on `side` (left, right, both)"),
    "str.center": _m("str.center", ("width", "fillchar"), 1, (" ",), limits=_WIDTH, doc="centred in `width`"),
    "str.ljust": _m("str.ljust", ("width", "fillchar"), 1, (" ",), limits=_WIDTH, doc="padded on the right"),
    "str.rjust": _m("str.rjust", ("width", "fillchar"), 1, (" ",), limits=_WIDTH, doc="padded on the left"),
    **{f"dt.{name}": _m(f"dt.{name}", attribute=True, doc=doc) for name, doc in _DT_FIELDS.items()},
    "dt.normalize": _m("dt.normalize", doc="midnight of the same day"),
    "dt.floor": _m("dt.floor", ("freq",), 1, doc="rounded down to `freq` (D, h, min, s, ms, us)"),
    "dt.ceil": _m("dt.ceil", ("freq",), 1, doc="rounded up to `freq` (D, h, min, s, ms, us)"),
    "dt.strftime": _m("dt.strftime", ("date_format",), 1, doc="as text in `date_format` (%Y-%m-%d ...)"),
}
# several spellings share one function: the tree names the function, not the spelling
for _alias, _target in (("dt.dayofweek", "dt.weekday"), ("dt.day_of_week", "dt.weekday"),
                        ("dt.dayofyear", "dt.day_of_year")):
    METHODS[_alias] = Signature(func=_target, attribute=True, constant=True, doc=METHODS[_alias].doc)

FRAME_DIALECT = Dialect(
    what="expression",
    functions=FUNCTIONS,
    methods=METHODS,
    backticks=True,
    templates=True,
    logical_operators=True,
    power=True,
    private_names=False,
    max_length=4000,
    max_depth=100,
    max_nodes=500,
    max_int_bits=63,
    max_string=100_000,
)
"""Frame expressions: columns, constants, operators, the lists above. Integers are 64-bit."""

FREQUENCIES = {"D": "day", "h": "hour", "H": "hour", "min": "minute", "T": "minute", "s": "second",
               "S": "second", "ms": "millisecond", "L": "millisecond", "us": "microsecond", "U": "microsecond"}
DTYPES = {"int": "int64", "int64": "int64", "float": "float64", "float64": "float64", "str": "str",
          "string": "str", "bool": "bool", "boolean": "bool"}


def implemented_functions() -> frozenset[str]:
    """Every ``func`` name a compiler must implement."""
    return frozenset({s.func for s in FUNCTIONS.values()} | {s.func for s in METHODS.values()})
