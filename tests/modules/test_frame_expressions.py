"""Frame expressions: the documented syntax works, everything else is refused with a clear message."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from pypeline.modules.common.frame_expressions import FrameExpressionError, check_expression, evaluate, query

FRAME = pd.DataFrame({"age": [17, 30, 45], "name": ["ana", "Ben", "cy"], "unit price": [1.0, 2.0, 4.0]})


class TestAllowed:
    @pytest.mark.parametrize(
        ("expression", "expected"),
        [
            ("age > 18 and name != 'cy'", ["Ben"]),
            ("age >= 18 & (name == 'cy' | age < 40)", ["Ben", "cy"]),
            ("name in ['ana', 'cy']", ["ana", "cy"]),
            ("not (age > 18)", ["ana"]),
            ("name.str.lower().str.startswith('b')", ["Ben"]),
            ("`unit price` * 2 > 3", ["Ben", "cy"]),
            ("sqrt(age) > 6", ["cy"]),
            ("age.between(20, 40)", ["Ben"]),
        ],
        ids=["and", "bitwise", "in-list", "not", "str-methods", "backticks", "math", "between"],
    )
    def test_query(self, expression: str, expected: list[str]) -> None:
        assert query(FRAME, expression)["name"].tolist() == expected

    def test_evaluate_gives_a_series_or_a_constant(self) -> None:
        assert evaluate(FRAME, "age * 2").tolist() == [34, 60, 90]
        assert evaluate(FRAME, "'EUR'") == "EUR"


class TestRejected:
    @pytest.mark.parametrize(
        ("expression", "message"),
        [
            ("age.__class__", "'.__class__' is not allowed"),
            ("age.__class__.__init__.__globals__", "'.__class__' is not allowed"),
            ("@os", "'@variable' references are not allowed"),
            ("__import__('os')", "the function '__import__' is not allowed; allowed: abs, arccos"),
            ("sqrt(_x)", "the name '_x' is not allowed (names may not start with '_'"),
            ("open('x')", "the function 'open' is not allowed"),
            ("age.values", "'.values' is not allowed"),
            ("[x for x in age]", "comprehensions (for ... in ...) are not allowed in an expression"),
            ("lambda: 1", "lambda is not allowed in an expression"),
            ("age[0]", "subscripts (x[...]) are not allowed in an expression"),
            ("name.str.replace(age, 'x')", "method arguments must be constants"),
            ("age >", "the expression ends too early, expected a value"),
            ("", "the expression is empty"),
        ],
        ids=[
            "dunder",
            "globals-chain",
            "at-variable",
            "import",
            "underscore-name",
            "builtin-call",
            "values",
            "comprehension",
            "lambda",
            "subscript",
            "non-constant-argument",
            "syntax",
            "empty",
        ],
    )
    def test_vetting(self, expression: str, message: str) -> None:
        with pytest.raises(FrameExpressionError, match=re.escape(message)):
            check_expression(expression)

    def test_unknown_column_is_named_with_the_columns(self) -> None:
        with pytest.raises(
            FrameExpressionError,
            match=re.escape(
                "condition 'agee > 1' failed: column 'agee' is not defined (columns: age, name, unit price)"
            ),
        ):
            query(FRAME, "agee > 1")

    def test_module_level_names_are_not_visible(self) -> None:
        # pandas would otherwise resolve names from the calling module (pd, re, ...)
        with pytest.raises(FrameExpressionError, match="column 'pd' is not defined"):
            evaluate(FRAME, "pd")

    def test_a_condition_must_give_booleans(self) -> None:
        with pytest.raises(
            FrameExpressionError, match=re.escape("condition 'age + 1' does not give true/false per row")
        ):
            query(FRAME, "age + 1")
