"""Control-connection conditions: limits at build and run, and secrets that stay secret.

Each hostile condition of the attack report is a clean error: exit 2 at build
for what the text alone shows, a failed condition (exit 1) for what only the
values show, never a ``RecursionError`` or gigabytes of memory.
"""

from __future__ import annotations

import re
import resource
from typing import Any

import pytest

from pypeline.core.expressions import ExpressionError, evaluate, parse_expression
from pypeline.core.references import Reference
from pypeline.core.secret import SecretStr, is_secret

SECRET = SecretStr("hunter2-very-secret", "secret/app#pw")
VALUES: dict[str, Any] = {
    "creds__pw": SECRET,
    "read__row_count": 3,
    "read__name": "orders",
    "context.env": "prod",
    "context.big": 10**300,
    "iter.item": "a.csv",
}


def lookup(ref: Reference) -> Any:
    return VALUES[str(ref)]


def run(text: str) -> Any:
    return evaluate(parse_expression(text), lookup)


BUILD_ERRORS = [
    ("len('a' * 3000000000) > 0", "repeating a str of length 1 3,000,000,000 times"),
    ("'%2000000000d' % 1 == ''", "'%' is arithmetic (modulo) only"),
    ("+".join(["1"] * 999), "has more than 500 parts"),
    ("+".join(["1"] * 200) + " > 0", "nests 201 levels deep, more than 100"),
    ("-" * 1900 + "1 > 0", "nests deeper than"),
    ("not " * 450 + "True", "nests deeper than"),
    ("(" * 500 + "1" + ")" * 500, "nests deeper than"),
    ("9 ** 9 ** 9 > 1", "'**' is not allowed in a condition"),
    ("read__row_count.__class__", "attribute access is only allowed as context.NAME"),
    ("__import__('os').system('id')", "the function '__import__' is not allowed"),
    ("(lambda: 1)()", "lambda is not allowed"),
    ("[x for x in read__name]", "comprehensions"),
    ("read__name[0]", "subscripts (x[...]) are not allowed"),
    ("(y := 1)", "assignment (:=) is not allowed"),
    ("f'{read__name}'", "f-prefixed strings"),
    ("vault.secret == 1", "secrets cannot be used in conditions"),
    ("{{context.env}} == 'x'", "templates ({{...}}) are not used in a condition"),
    ("read__row_count & 1", "'&' is not allowed in a condition"),
    ("getattr(read__name, 'x')", "the function 'getattr' is not allowed"),
    ("len()", "len() needs the argument 'value'"),
    ("x" * 2001, "longer than 2000 characters"),
]


@pytest.mark.parametrize(("text", "message"), BUILD_ERRORS, ids=[f"{i:02d}" for i in range(len(BUILD_ERRORS))])
def test_refused_at_build(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)):
        parse_expression(text)


RUN_ERRORS = [
    ("read__name * read__row_count * 1000000 == ''", "more than 1,000,000"),
    ("context.big * context.big * context.big * context.big * context.big > 0", "bits is more than 4,096"),
    ("len(str(context.big) * 10000) > 0", "more than 1,000,000"),
    ("read__name % 3 == 0", "'%' is arithmetic (modulo) only"),
    ("int(read__name) > 1", "int() failed on str: ValueError: invalid literal"),
    ("read__row_count > 'x'", "cannot compare int 3 with str 'x' using '>'"),
    ("read__row_count / 0 > 1", "'/' failed on int, int: ZeroDivisionError"),
]


@pytest.mark.parametrize(("text", "message"), RUN_ERRORS, ids=[f"{i:02d}" for i in range(len(RUN_ERRORS))])
def test_refused_at_run_before_the_work(text: str, message: str) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ExpressionError, match=re.escape(message)):
        run(text)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 200_000  # no gigabyte string or integer was built


class TestTaint:
    @pytest.mark.parametrize(
        "text",
        ["creds__pw + ''", "str(creds__pw)", "'x' + creds__pw + 'y'", "creds__pw * 2",
         "creds__pw if True else ''", "max(creds__pw, 'a')", "str(len(creds__pw)) + creds__pw"],
    )
    def test_text_derived_from_a_secret_stays_secret(self, text: str) -> None:
        value = run(text)
        assert is_secret(value)
        assert repr(value) == "'***'"

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("int(creds__pw) > 1", "int() failed on a value derived from the secret in 'creds__pw': ValueError"),
            ("float(creds__pw + '') > 1", "float() failed on a value derived from the secret in 'creds__pw'"),
            ("creds__pw + '' > 1", "cannot compare str (derived from the secret in 'creds__pw') with int 1"),
            ("creds__pw > 1", "cannot compare str (derived from the secret in 'creds__pw') with int 1"),
            ("creds__pw - 1", "'-' failed on a value derived from the secret in 'creds__pw': TypeError"),
            ("creds__pw % 2", "'%' on a value derived from the secret in 'creds__pw' passes a limit"),
            ("-creds__pw", "'-' failed on a value derived from the secret in 'creds__pw'"),
            ("creds__pw * 100000000", "'*' on a value derived from the secret in 'creds__pw' passes a limit"),
            ("abs(creds__pw)", "abs() failed on a value derived from the secret in 'creds__pw': TypeError"),
        ],
    )
    def test_errors_name_the_reference_never_the_value(self, text: str, message: str) -> None:
        with pytest.raises(ExpressionError) as caught:
            run(text)
        shown = str(caught.value)
        assert message in shown
        for piece in ("hunter2", "very-secret", "secret/app#pw"):
            assert piece not in shown

    def test_comparisons_still_work_on_secrets(self) -> None:
        assert run("creds__pw == 'hunter2-very-secret'") is True
        assert run("len(creds__pw) == 19") is True
