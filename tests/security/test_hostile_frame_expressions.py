"""Hostile filter / derive expressions: each is refused with one clear message, and nothing runs.

The first case is the condition that ran ``id`` as root through
``DataFrame.query`` (a backtick inside a quoted string hid the attribute
chain from the old vetting). Every variant is checked at build
(:func:`check_expression`) and, for the ones that parse, by compiling and
running them on a frame: a canary file in the working folder must never appear.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from pypeline.modules.common.frame_expressions import FrameExpressionError, check_expression, compile_expression

FRAME = pd.DataFrame({"age": [17, 30], "name": ["ana", "`"], "unit price": [1.0, 2.0]})
CANARY = "pwned"

HOSTILE = [
    # the example, and the same idea in other shapes
    ('(age > 18) | ("`" == name.str.slice(0, age.__class__.__init__.__globals__["sys"].modules["os"]'
     '.system("touch pwned")) == "`")', "'.__class__' is not allowed"),
    ('"`" + `a` + "`" == name.__class__', "'.__class__' is not allowed"),
    ("name == '`' or age.__class__", "'.__class__' is not allowed"),
    ("`name` == '`age.__class__`'", None),  # a backtick in a string is text: parses, compares, runs nothing
    ('"a`b" + name', None),
    ("age.__class__.__mro__[1].__subclasses__()", "'.__class__' is not allowed"),
    ("name.__dict__", "'.__dict__' is not allowed"),
    ("age.values", "'.values' is not allowed"),
    ("age.to_csv('pwned')", "'.to_csv' is not allowed"),
    ("name.str.__class__", "'.str.__class__' is not allowed"),
    ("age.pipe(print)", "'.pipe' is not allowed"),
    ("age.apply(lambda x: x)", "lambda is not allowed"),
    ("__import__('os').system('touch pwned')", "the function '__import__' is not allowed"),
    ("eval('1')", "the function 'eval' is not allowed"),
    ("exec('import os')", "the function 'exec' is not allowed"),
    ("getattr(age, 'x')", "the function 'getattr' is not allowed"),
    ("open('pwned', 'w')", "the function 'open' is not allowed"),
    ("print(1)", "the function 'print' is not allowed"),
    ("(lambda: 1)()", "lambda is not allowed"),
    ("[x for x in age]", "comprehensions (for ... in ...) are not allowed"),
    ("{x for x in age}", "'{' is not allowed"),
    ("{'a': 1}", "'{' is not allowed"),
    ("age[0]", "subscripts (x[...]) are not allowed"),
    ("name.str[0]", "'.str' is an accessor: a method follows it"),
    ("(x := 1)", "assignment (:=) is not allowed"),
    ("f'{age}'", "f-prefixed strings"),
    ("rb'x'", "rb-prefixed strings"),
    ("@age > 1", "'@variable' references are not allowed"),
    ("age > 1; import os", "';' is not allowed"),
    ("age > 1 # comment", "comments (#) are not allowed"),
    ("age = 1", "'=' is not allowed: compare with '=='"),
    ("age if age else 1", "'x if c else y' is not allowed"),
    ("age is None", "'is' is not allowed"),
    ("_private > 1", "the name '_private' is not allowed"),
    ("sqrt(*age)", "'*' / '**' arguments are not allowed"),
    ("age.round(**{})", "'{' is not allowed"),
    ("age.round(**kw)", "'*' / '**' arguments are not allowed"),
    ("age.round(decimals=age)", "method arguments must be constants"),
    ("age.clip(lower=__import__)", "the name '__import__' is not allowed"),
    ("age.clip(lower=age)", "method arguments must be constants"),
    ("age.round(1, 2, 3)", ".round() takes at most 1 argument(s)"),
    ("sqrt()", "sqrt() needs the argument 'x'"),
    ("age.str.upper", "'.str.upper' is a method: call it"),
    ("age.dt.year()", "'.dt.year' is a property"),
    ("0x10 > 1", "is not a number"),
    ("'\\N{BULLET}'", "unknown escape"),
    ("age > '", "a string is not closed"),
    ("`age", "a backtick-quoted column name is not closed"),
    ("name.str.contains('(a)\\\\1')", "is not a regular expression RE2 runs"),
    ("name.str.match('(?=a)')", "is not a regular expression RE2 runs"),
    ("name.str.replace('', 'x')", "the pattern is empty"),
    ("age.astype('object')", "is not one of"),
    ("age == {{vault.secret/db#password}}", "a secret cannot be used in an expression"),
    ("age > '{{context.min}}'", "a template inside quotes is not substituted"),
    ("`{{context.col}}` > 1", "a template cannot name a column"),
    # sizes
    ("age > 9**9**9", "would have about"),
    ("age > 2**64", "would have about"),
    ("age > 10**400", "would have about"),
    ("'a' * 1000000 == name", "repeating a str of length 1"),
    ("name.str.pad(1000000000) == name", "'width' of str.pad() is 1e+09, more than 10,000"),
    ("name.str.zfill(20000) == name", "more than 10,000"),
    ("-" * 1900 + "age", "nests deeper than"),
    ("(" * 200 + "age" + ")" * 200, "nests deeper than"),
    ("+".join(["age"] * 999), "has more than 500 parts"),
    ("+".join(["age"] * 150), "nests 150 levels deep, more than 100"),
    ("not " * 300 + "age", "nests deeper than"),
    ("x" * 5000, "longer than 4000 characters"),
    ("", "the expression is empty"),
]


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(("text", "message"), HOSTILE, ids=[f"{i:02d}" for i in range(len(HOSTILE))])
def test_refused_at_build_or_harmless(text: str, message: str | None, in_tmp: Path) -> None:
    if message is None:
        expression = compile_expression(text)
        expression.evaluate(FRAME)  # runs: only column and constant operations
    else:
        with pytest.raises(FrameExpressionError, match=re.escape(message)) as caught:
            check_expression(text)
        assert "\n" not in str(caught.value)
    assert not (in_tmp / CANARY).exists()


def test_a_backtick_inside_a_string_is_text() -> None:
    expression = compile_expression('name == "`"', "condition")
    assert expression.filter(FRAME)["age"].tolist() == [30]
    assert expression.columns == {"name"}


def test_run_time_limits_fail_cleanly() -> None:
    # bounds come from the input's size before any work: 300 rows of 1,000 characters * 1,000 > 256 M
    with pytest.raises(FrameExpressionError, match=re.escape("could make 300,000,000 characters")):
        compile_expression("name * 1000").evaluate(pd.DataFrame({"name": ["x" * 1000] * 300}))
    with pytest.raises(FrameExpressionError, match=re.escape("could make")):
        compile_expression("name.str.pad(10000)").evaluate(pd.DataFrame({"name": ["x"] * 30_000}))
    with pytest.raises(FrameExpressionError, match=re.escape("repeating text needs a constant count")):
        compile_expression("name * n").evaluate(pd.DataFrame({"name": ["a"], "n": [3_000_000_000]}))
    with pytest.raises(FrameExpressionError, match=re.escape("more than 1,000")):
        compile_expression("name * 5000").evaluate(FRAME)


def test_the_same_limits_hold_on_the_arrow_form() -> None:
    import pyarrow as pa

    table = pa.table({"name": ["x" * 1000] * 300})
    with pytest.raises(FrameExpressionError, match=re.escape("could make")):
        compile_expression("name * 1000").evaluate_table(table)
    with pytest.raises(FrameExpressionError, match=re.escape("repeating text needs a constant count")):
        compile_expression("name * n").arrow(pa.schema([("name", pa.string()), ("n", pa.int64())]))
