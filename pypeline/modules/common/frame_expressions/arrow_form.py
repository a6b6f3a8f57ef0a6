"""The Arrow form: a tree compiled into one ``pyarrow.compute.Expression`` for a schema.

``compile_arrow(tree, schema)`` gives ``pc.field("age") > 18``-style
expressions that ``Table.filter``, ``Dataset.to_table(filter=..., columns=...)``
and Acero plans run. Kinds come from the schema at compile time
(:mod:`.kinds`), so ``+`` on two text columns becomes a concatenation and on
two numbers an addition, and a mix neither defines fails here with the same
message as the pandas form gives.

Semantics match :mod:`.pandas_form`: nulls propagate, ``and / or`` use
Kleene logic, ``/`` is float division, ``//`` and ``%`` floor (computed in
float64), ``x in [..]`` is never null.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pypeline.core.expr import (
    Binary,
    BoolOp,
    Call,
    Compare,
    ExpressionError,
    In,
    ListExpr,
    Literal,
    Name,
    Node,
    Param,
    Unary,
    constant_value,
)
from pypeline.modules.common.frame_expressions import kinds
from pypeline.modules.common.frame_expressions.catalog import DTYPES, MAX_REPEAT
from pypeline.modules.common.frame_expressions.kernels import DATETIME, TEXT, cast

Typed = tuple[pc.Expression, str]
_COMPARE: dict[str, Callable[..., Any]] = {
    "==": pc.equal, "!=": pc.not_equal, "<": pc.less, "<=": pc.less_equal, ">": pc.greater,
    ">=": pc.greater_equal,
}
_MATH: dict[str, Callable[..., Any]] = {
    "sin": pc.sin, "cos": pc.cos, "tan": pc.tan, "exp": pc.exp, "log": pc.ln, "expm1": pc.expm1,
    "log1p": pc.log1p, "sqrt": pc.sqrt, "sinh": pc.sinh, "cosh": pc.cosh, "tanh": pc.tanh, "arcsin": pc.asin,
    "arccos": pc.acos, "arctan": pc.atan, "arccosh": pc.acosh, "arcsinh": pc.asinh, "arctanh": pc.atanh,
    "floor": pc.floor, "ceil": pc.ceil,
}
_F64 = pa.float64()
_TYPES = {"int64": pa.int64(), "float64": pa.float64(), "str": pa.string(), "bool": pa.bool_()}


def compile_arrow(tree: Node, schema: pa.Schema, *, condition: bool = False) -> pc.Expression:
    """The Arrow form of ``tree`` for tables of ``schema``.

    ``condition``: a row filter's, whose null constant (``None``) is a true/false value
    that is missing, so no row matches it (a filter refuses the null type).

    Raises:
        ExpressionError: for an unknown column or a mix of kinds the language does not define.
    """
    expression, kind = _Compiler(schema).compile(tree)
    return _bool(expression, kind) if condition else expression


class _Compiler:
    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema

    def compile(self, node: Node) -> Typed:
        if isinstance(node, Literal):
            return _literal(node.value)
        if isinstance(node, Name):
            return self.column(node)
        if isinstance(node, Param):
            raise ExpressionError(f"the template {{{{{node.ref}}}}} was not resolved", node.pos)
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Unary):
            return self.unary(node)
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, BoolOp):
            result = self.compile(node.values[0])
            for value in node.values[1:]:
                result = _logical(node.op, result, self.compile(value), node.pos)
            return result
        if isinstance(node, In):
            return self.isin(self.compile(node.item), _constants(node.container), node.negated, node.pos)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, ListExpr):
            raise ExpressionError("a list is only allowed after 'in' or as a method argument", node.pos)
        raise ExpressionError(f"{type(node).__name__} is not allowed in an expression", node.pos)

    def column(self, node: Name) -> Typed:
        index = self.schema.get_field_index(node.name)
        if index < 0:
            if node.name in self.schema.names:
                raise ExpressionError(f"column '{node.name}' appears more than once", node.pos)
            raise ExpressionError(f"column '{node.name}' is not defined", node.pos)
        return pc.field(node.name), kinds.arrow_kind(self.schema.field(index).type)

    def binary(self, node: Binary) -> Typed:
        left, right = self.compile(node.left), self.compile(node.right)
        if node.op == "^":
            return _logical("^", left, right, node.pos)
        return _arithmetic(node.op, left, right, node.pos, (node.left, node.right))

    def unary(self, node: Unary) -> Typed:
        operand, kind = self.compile(node.operand)
        if node.op in ("not", "~"):
            kinds.check_logical(node.op, kind, node.pos)
            return pc.invert(_bool(operand, kind)), "bool"
        if kind not in (*kinds.NUMBERS, "duration", "null", "any"):
            raise ExpressionError(f"'{node.op}' needs a number, got {kinds.describe(kind)}", node.pos)
        return (pc.negate(operand) if node.op == "-" else operand), kind

    def compare(self, node: Compare) -> Typed:
        operands = [self.compile(o) for o in node.operands]
        result: Typed | None = None
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            link = _compare(op, left, right, node.pos)
            result = link if result is None else _logical("and", result, link, node.pos)
        assert result is not None
        return result

    def isin(self, item: Typed, values: list[Any], negated: bool, pos: int) -> Typed:
        expression, kind = item
        for value in values:
            kinds.check_comparable("in", kind, kinds.scalar_kind(value), pos)
        if kind == "float" or any(isinstance(v, float) for v in values):  # -0.0 hashes apart from 0.0
            values = [v + 0.0 if isinstance(v, float) else v for v in values]
            expression = pc.add(_float(expression), 0.0) if kind in kinds.NUMBERS else expression
            kind = "float" if kind in kinds.NUMBERS else kind
        value_set = _value_set(values, kind)
        expression = _missing_nan(expression, kind)
        found = pc.is_in(expression, value_set=value_set) if len(value_set) else pc.scalar(False)
        return (pc.invert(found) if negated else found), "bool"

    def call(self, node: Call) -> Typed:
        func = node.func
        if func in _MATH or func in ("abs", "arctan2"):
            args = [self.compile(a) for a in node.args]
            for _, kind in args:
                if kind not in (*kinds.NUMBERS, "null", "any"):
                    raise ExpressionError(f"{func}() needs numbers, got {kinds.describe(kind)}", node.pos)
            if func == "abs":
                return pc.abs(args[0][0]), args[0][1]
            if func == "arctan2":
                return pc.atan2(_float(args[0][0]), _float(args[1][0])), "float"
            return _MATH[func](_float(args[0][0])), "float"
        subject, kind = self.compile(node.args[0])
        constants = [constant_value(a) for a in node.args[1:]]
        if func in TEXT or func in DATETIME:
            kernel, result_kind = TEXT[func] if func in TEXT else DATETIME[func]
            wanted = ("str",) if func.startswith("str.") else ("time", "date")
            if kind not in (*wanted, "null", "any"):
                raise ExpressionError(f".{func}() needs {kinds.describe(wanted[0])}, got {kinds.describe(kind)}",
                                      node.pos)
            if kind == "null":
                subject = cast(subject, pa.string() if wanted[0] == "str" else pa.timestamp("ns"))
            return kernel(subject, *constants), result_kind or kind
        return self.method(func, (subject, kind), constants, node.pos)

    def method(self, func: str, subject: Typed, constants: list[Any], pos: int) -> Typed:
        expression, kind = subject
        if func in ("mod", "pow"):
            other = _literal(constants[0])
            return _arithmetic("%" if func == "mod" else "**", subject, other, pos, (None, None))
        if func == "isin":
            if not isinstance(constants[0], list):
                raise ExpressionError(".isin() needs a list: x.isin([1, 2])", pos)
            return self.isin(subject, constants[0], False, pos)
        if func == "between":
            left, right, inclusive = constants
            bounds = {"both": (">=", "<="), "neither": (">", "<"), "left": (">=", "<"), "right": (">", "<=")}
            if inclusive not in bounds:
                raise ExpressionError(f".between(): inclusive must be both, neither, left or right, not {inclusive!r}",
                                      pos)
            low, high = bounds[inclusive]
            return _logical("and", _compare(low, subject, _literal(left), pos),
                            _compare(high, subject, _literal(right), pos), pos)
        if func in ("isna", "notna"):
            missing = pc.is_null(expression, nan_is_null=True)
            return (missing if func == "isna" else pc.invert(missing)), "bool"
        if func == "fillna":
            fill, fill_kind = _literal(constants[0])
            kinds.check_comparable("fillna", kind, fill_kind, pos)
            if fill_kind == "null":
                return expression, kind
            missing = pc.is_null(expression, nan_is_null=True)
            fill_value = fill if kind in ("any", fill_kind) or fill_kind not in kinds.NUMBERS else _float(fill)
            if kind == "float":
                fill_value = _float(fill)
            return pc.if_else(missing, fill_value, expression), kind if kind != "null" else fill_kind
        if func in ("abs", "round", "clip"):
            if kind not in (*kinds.NUMBERS, "null", "any"):
                raise ExpressionError(f".{func}() needs numbers, got {kinds.describe(kind)}", pos)
            if func == "abs":
                return pc.abs(expression), kind
            if func == "round":
                return pc.round(expression, ndigits=int(constants[0]), round_mode="half_to_even"), kind
            result = _missing_nan(expression, kind)  # Arrow's min/max would take the bound over a NaN
            if constants[0] is not None:
                result = pc.max_element_wise(result, _literal(constants[0])[0], skip_nulls=False)
            if constants[1] is not None:
                result = pc.min_element_wise(result, _literal(constants[1])[0], skip_nulls=False)
            return result, kind
        if func == "astype":
            target = DTYPES.get(constants[0])
            if target is None:
                raise ExpressionError(f".astype(): {constants[0]!r} is not one of {', '.join(DTYPES)}", pos)
            return cast(expression, _TYPES[target]), {"int64": "int", "float64": "float"}.get(target, target)
        raise ExpressionError(f"{func}() is not implemented in the Arrow form", pos)


def _literal(value: Any) -> Typed:
    if value is None:
        return pc.scalar(pa.scalar(None, pa.null())), "null"
    if isinstance(value, bool):
        return pc.scalar(pa.scalar(value, pa.bool_())), "bool"
    if isinstance(value, int):
        return pc.scalar(pa.scalar(value, pa.int64())), "int"
    if isinstance(value, float):
        return pc.scalar(pa.scalar(value, _F64)), "float"
    if isinstance(value, str):
        return pc.scalar(pa.scalar(value, pa.string())), "str"
    raise ExpressionError(f"the constant {value!r} is not allowed")


def _float(expression: pc.Expression) -> pc.Expression:
    return cast(expression, _F64)


def _bool(expression: pc.Expression, kind: str) -> pc.Expression:
    return cast(expression, pa.bool_()) if kind == "null" else expression


def _arithmetic(
    op: str, left: Typed, right: Typed, pos: int, nodes: tuple[Node | None, Node | None]
) -> Typed:
    (lx, lk), (rx, rk) = left, right
    kind = kinds.arithmetic_kind(op, lk, rk, pos)
    if kind == "str" and op == "*":
        text, count_node = (lx, nodes[1]) if lk == "str" else (rx, nodes[0])
        constant = _maybe_constant(count_node)
        if constant is None or isinstance(constant, bool) or not isinstance(constant, int):
            raise ExpressionError("repeating text needs a constant count (text * 3), not a column", pos)
        if constant > MAX_REPEAT:
            raise ExpressionError(f"repeating text {constant:,} times is more than {MAX_REPEAT:,}", pos)
        return pc.binary_repeat(text, max(constant, 0)), "str"
    if kind == "str":
        text = pa.large_string()
        empty = pc.scalar(pa.scalar("", text))
        return pc.binary_join_element_wise(cast(lx, text), cast(rx, text), empty), "str"
    if "null" in (lk, rk) and kind == "null":
        return cast(pc.scalar(pa.scalar(None, pa.null())), _F64), "float"
    if op == "+":
        return pc.add(lx, rx), kind
    if op == "-":
        return pc.subtract(lx, rx), kind
    if op == "*":
        return pc.multiply(lx, rx), kind
    if op == "/":
        return pc.divide(_float(lx), _float(rx)), "float"
    if op == "%":  # Arrow's modulo floors like Python and numpy, to the last bit (a - b * floor(a / b) rounds)
        return pc.modulo(_float(lx), _float(rx)), "float"
    if op == "//":
        return _floor_divide(_float(lx), _float(rx)), "float"
    if op == "**":
        return pc.power(_missing_nan(lx, lk), _missing_nan(rx, rk)), kind
    raise ExpressionError(f"operator {op} is not allowed", pos)


def _floor_divide(lf: pc.Expression, rf: pc.Expression) -> pc.Expression:
    """``lf // rf`` for floats as numpy computes it: ``(lf - lf % rf) / rf``, which is whole up to rounding.

    ``floor(lf / rf)`` is not: ``3 // 0.1`` is 29 (the double nearest 0.1 is a little more than 0.1, so
    ``3 % 0.1`` is almost 0.1), but ``3 / 0.1`` rounds to 30.
    """
    remainder, ratio = pc.modulo(lf, rf), pc.divide(lf, rf)
    whole = pc.round(pc.divide(pc.subtract(lf, remainder), rf))
    zero = pc.multiply(ratio, 0.0)  # +-0.0: the sign of lf / rf, as numpy gives a zero quotient
    whole = pc.if_else(pc.equal(whole, 0.0), zero, whole)
    naive = pc.floor(ratio)  # x // 0 is +-inf (nan for 0 // 0), as a division
    quotient = pc.if_else(pc.and_kleene(pc.not_equal(rf, 0.0), pc.is_finite(remainder)), whole, naive)
    # a finite x over an infinite divisor, as in Python and numpy: x // inf is 0 or -1
    by_infinity = pc.and_kleene(pc.is_inf(rf), pc.is_finite(lf))
    same_sign = pc.or_kleene(pc.equal(lf, 0.0), pc.equal(pc.sign(lf), pc.sign(rf)))
    result = pc.if_else(by_infinity, pc.if_else(same_sign, zero, -1.0), quotient)
    # inf // x is nan, not +-inf (but inf // 0 is +-inf)
    return pc.if_else(pc.and_kleene(pc.is_inf(lf), pc.not_equal(rf, 0.0)), float("nan"), result)


def _maybe_constant(node: Node | None) -> Any:
    if node is None:
        return None
    try:
        return constant_value(node)
    except ExpressionError:
        return None


def _missing_nan(expression: pc.Expression, kind: str) -> pc.Expression:
    """A float with NaN made null: NaN is a missing value here, as in pandas."""
    if kind != "float":
        return expression
    return pc.if_else(pc.is_nan(expression), pc.scalar(pa.scalar(None, _F64)), expression)


def _compare(op: str, left: Typed, right: Typed, pos: int) -> Typed:
    (lx, lk), (rx, rk) = left, right
    kinds.check_comparable(op, lk, rk, pos)
    lx, rx = _missing_nan(lx, lk), _missing_nan(rx, rk)
    if lk in ("time", "date") and rk == "str":
        rx = cast(rx, pa.timestamp("ns") if lk == "time" else pa.date32())
    elif rk in ("time", "date") and lk == "str":
        lx = cast(lx, pa.timestamp("ns") if rk == "time" else pa.date32())
    if "null" in (lk, rk):
        return cast(pc.scalar(pa.scalar(None, pa.null())), pa.bool_()), "bool"
    return _COMPARE[op](lx, rx), "bool"


def _logical(op: str, left: Typed, right: Typed, pos: int) -> Typed:
    (lx, lk), (rx, rk) = left, right
    kinds.check_logical(op, lk, pos)
    kinds.check_logical(op, rk, pos)
    lx, rx = _bool(lx, lk), _bool(rx, rk)
    if op == "and":
        return pc.and_kleene(lx, rx), "bool"
    if op == "or":
        return pc.or_kleene(lx, rx), "bool"
    return pc.xor(lx, rx), "bool"


def _value_set(values: list[Any], kind: str) -> pa.Array:
    target = {"int": pa.int64(), "float": _F64, "str": pa.string(), "bool": pa.bool_()}.get(kind)
    if kind == "int" and any(isinstance(v, float) for v in values):
        target = _F64
    try:
        return pa.array(values, type=target)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        raise ExpressionError(f"the list {values!r} does not fit the column: {exc}") from None


def _constants(node: Node) -> list[Any]:
    if isinstance(node, ListExpr):
        return [constant_value(item) for item in node.items]
    raise ExpressionError("'in' needs a list: x in [1, 2]", node.pos)
