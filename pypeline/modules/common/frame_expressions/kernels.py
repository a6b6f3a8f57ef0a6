"""Text and date-time functions as Arrow compute calls, shared by both compiled forms.

``pyarrow.compute`` functions accept an Arrow array *or* a
``pyarrow.compute.Expression``, so one table serves the Arrow form (which
passes field expressions) and the pandas form (which passes the column as an
Arrow array and turns the result back into a Series). Both forms thus agree
on every text function, and regular expressions always run on Arrow's RE2
kernels: linear time, no backreferences or lookaround, never Python's
backtracking ``re``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pypeline.core.expr import ExpressionError
from pypeline.modules.common.frame_expressions.catalog import FREQUENCIES

Kernel = Callable[..., Any]
"""``kernel(x, *constant_args)`` -> Arrow array or expression."""

REGEX_ARGUMENT = {"str.contains": "regex", "str.match": None, "str.fullmatch": None, "str.count": None,
                  "str.replace": "regex"}
"""Functions whose ``pat`` is a regular expression (always, or when the named flag is true)."""


def cast(x: Any, target: pa.DataType) -> Any:
    """``x`` cast to ``target``: an array through ``pc.cast``, an expression through ``Expression.cast``."""
    if isinstance(x, pc.Expression):
        return x.cast(target)
    return pc.cast(x, target)


def _strip(kind: str) -> Kernel:
    def kernel(x: Any, chars: str | None) -> Any:
        if chars is None:
            return getattr(pc, f"utf8_{kind}_whitespace")(x)
        return getattr(pc, f"utf8_{kind}")(x, characters=chars)

    return kernel


def _contains(x: Any, pat: str, case: bool, regex: bool) -> Any:
    if regex:
        return pc.match_substring_regex(x, pattern=pat, ignore_case=not case)
    return pc.match_substring(x, pattern=pat, ignore_case=not case)


def _replace(x: Any, pat: str, repl: str, n: int, regex: bool) -> Any:
    limit = None if n is None or n < 0 else n
    if regex:
        return pc.replace_substring_regex(x, pattern=pat, replacement=repl, max_replacements=limit)
    return pc.replace_substring(x, pattern=pat, replacement=repl, max_replacements=limit)


def _slice(x: Any, start: int | None, stop: int | None, step: int | None) -> Any:
    step = 1 if step is None else step
    if step == 0:
        raise ExpressionError(".str.slice(): step cannot be 0")
    if start is None:
        start = 0 if step > 0 else -1
    if stop is None:
        stop = 2**62 if step > 0 else -(2**62)
    return pc.utf8_slice_codeunits(x, start=start, stop=stop, step=step)


def _pad(x: Any, width: int, side: str, fillchar: str) -> Any:
    kernels = {"left": pc.utf8_lpad, "right": pc.utf8_rpad, "both": pc.utf8_center}
    if side not in kernels:
        raise ExpressionError(f".str.pad(): side must be left, right or both, not {side!r}")
    if not isinstance(fillchar, str) or len(fillchar) != 1:
        raise ExpressionError(".str.pad(): fillchar must be one character")
    return kernels[side](x, width=width, padding=fillchar)


def _fill(kernel: Kernel) -> Kernel:
    def padded(x: Any, width: int, fillchar: str) -> Any:
        if not isinstance(fillchar, str) or len(fillchar) != 1:
            raise ExpressionError("fillchar must be one character")
        return kernel(x, width=width, padding=fillchar)

    return padded


def _remove_prefix(x: Any, prefix: str) -> Any:
    return pc.if_else(pc.starts_with(x, pattern=prefix), pc.utf8_slice_codeunits(x, start=len(prefix)), x)


def _remove_suffix(x: Any, suffix: str) -> Any:
    if not suffix:
        return x
    cut = pc.utf8_slice_codeunits(x, start=0, stop=-len(suffix))
    return pc.if_else(pc.ends_with(x, pattern=suffix), cut, x)


def _days_in_month(x: Any) -> Any:
    month = pc.month(x)
    short = pc.is_in(month, value_set=pa.array([4, 6, 9, 11], pa.int64()))
    february = pc.add(cast(pc.is_leap_year(x), pa.int64()), 28)
    return pc.if_else(pc.equal(month, 2), february, pc.if_else(short, 30, 31))


def _temporal(kernel: Kernel) -> Kernel:
    def rounded(x: Any, freq: str) -> Any:
        unit = FREQUENCIES.get(freq)
        if unit is None:
            raise ExpressionError(f"unknown frequency {freq!r} (expected one of: {', '.join(FREQUENCIES)})")
        return kernel(x, unit=unit)

    return rounded


def _strftime(x: Any, fmt: str) -> Any:
    if len(fmt) > 100:
        raise ExpressionError(".dt.strftime(): the format is longer than 100 characters")
    return pc.strftime(x, format=fmt)


TEXT: dict[str, tuple[Kernel, str | None]] = {
    "str.upper": (pc.utf8_upper, "str"),
    "str.lower": (pc.utf8_lower, "str"),
    "str.title": (pc.utf8_title, "str"),
    "str.capitalize": (pc.utf8_capitalize, "str"),
    "str.swapcase": (pc.utf8_swapcase, "str"),
    "str.isdigit": (pc.utf8_is_digit, "bool"),
    "str.isnumeric": (pc.utf8_is_numeric, "bool"),
    "str.isalpha": (pc.utf8_is_alpha, "bool"),
    "str.isalnum": (pc.utf8_is_alnum, "bool"),
    "str.isspace": (pc.utf8_is_space, "bool"),
    "str.len": (lambda x: cast(pc.utf8_length(x), pa.int64()), "int"),
    "str.strip": (_strip("trim"), "str"),
    "str.lstrip": (_strip("ltrim"), "str"),
    "str.rstrip": (_strip("rtrim"), "str"),
    "str.contains": (_contains, "bool"),
    "str.startswith": (lambda x, pat: pc.starts_with(x, pattern=pat), "bool"),
    "str.endswith": (lambda x, pat: pc.ends_with(x, pattern=pat), "bool"),
    "str.match": (lambda x, pat, case: pc.match_substring_regex(x, pattern=f"^(?:{pat})", ignore_case=not case),
                  "bool"),
    "str.fullmatch": (lambda x, pat, case: pc.match_substring_regex(x, pattern=f"^(?:{pat})$",
                                                                    ignore_case=not case), "bool"),
    "str.count": (lambda x, pat: cast(pc.count_substring_regex(x, pattern=pat), pa.int64()), "int"),
    "str.replace": (_replace, "str"),
    "str.slice": (_slice, "str"),
    "str.removeprefix": (_remove_prefix, "str"),
    "str.removesuffix": (_remove_suffix, "str"),
    "str.zfill": (lambda x, width: pc.utf8_zero_fill(x, width=width), "str"),
    "str.pad": (_pad, "str"),
    "str.center": (_fill(pc.utf8_center), "str"),
    "str.ljust": (_fill(pc.utf8_rpad), "str"),
    "str.rjust": (_fill(pc.utf8_lpad), "str"),
}
"""Text functions: kernel and result kind (``str``, ``bool``, ``int``)."""

DATETIME: dict[str, tuple[Kernel, str | None]] = {
    "dt.year": (pc.year, "int"),
    "dt.month": (pc.month, "int"),
    "dt.day": (pc.day, "int"),
    "dt.hour": (pc.hour, "int"),
    "dt.minute": (pc.minute, "int"),
    "dt.second": (pc.second, "int"),
    "dt.microsecond": (lambda x: pc.add(pc.multiply(pc.millisecond(x), 1000), pc.microsecond(x)), "int"),
    "dt.quarter": (pc.quarter, "int"),
    "dt.weekday": (pc.day_of_week, "int"),
    "dt.day_of_year": (pc.day_of_year, "int"),
    "dt.is_month_start": (lambda x: pc.equal(pc.day(x), 1), "bool"),
    "dt.is_month_end": (lambda x: pc.equal(pc.day(x), _days_in_month(x)), "bool"),
    "dt.days_in_month": (_days_in_month, "int"),
    "dt.date": (lambda x: cast(x, pa.date32()), "date"),
    "dt.normalize": (lambda x: pc.floor_temporal(x, unit="day"), "time"),
    "dt.floor": (_temporal(pc.floor_temporal), "time"),
    "dt.ceil": (_temporal(pc.ceil_temporal), "time"),
    "dt.strftime": (_strftime, "str"),
}
"""Date-time functions: kernel and result kind."""


def check_regex(pattern: object, func: str) -> None:
    """Refuse a pattern RE2 cannot run (backreferences, lookaround, bad syntax).

    Raises:
        ExpressionError: naming the function and RE2's reason.
    """
    if not isinstance(pattern, str):
        raise ExpressionError(f".{func}(): the pattern must be text, got {type(pattern).__name__}")
    try:
        pc.match_substring_regex(pa.array([""], pa.string()), pattern=pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        reason = str(exc).split(": ", 1)[-1]
        raise ExpressionError(
            f".{func}(): {pattern!r} is not a regular expression RE2 runs ({reason}); RE2 has no backreferences "
            "or lookaround (docs/modules.md, 'Expressions')"
        ) from None
