"""The tokenizer of the expression language (our own: no Python tokenizer, no pandas').

Tokens: numbers, strings (``'..'`` or ``".."`` with backslash escapes),
names, backtick-quoted names (frame expressions), ``{{template}}``
placeholders and operators. A template inside a string or backticks is part
of that string (never a placeholder), and a string is one token whatever it
holds: a backtick or a quote inside a string cannot end it early, which is
the hole pandas' expression engine had.

Things that are not in the language get a message naming them here, where
the text is still at hand: f-strings, ``@variables``, ``:=``, ``lambda``,
comments, ``;``, a lone ``=``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pypeline.core.expr.errors import ExpressionSyntaxError

KEYWORDS = frozenset({"and", "or", "not", "in", "is", "if", "else", "True", "False", "None"})
REFUSED_KEYWORDS = {
    "lambda": "lambda is not allowed in an expression",
    "for": "comprehensions (for ... in ...) are not allowed in an expression",
    "async": "'async' is not allowed in an expression",
    "await": "'await' is not allowed in an expression",
    "yield": "'yield' is not allowed in an expression",
    "import": "'import' is not allowed in an expression",
    "from": "'from' is not allowed in an expression",
    "def": "'def' is not allowed in an expression",
    "class": "'class' is not allowed in an expression",
}
OPERATORS = (
    "**", "//", "==", "!=", "<=", ">=", "=",
    "+", "-", "*", "/", "%", "<", ">", "&", "|", "^", "~", "(", ")", "[", "]", ",", ".",
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", "'": "'", '"': '"', "`": "`"}


@dataclass(frozen=True, slots=True)
class Token:
    """One token: ``kind`` is ``num``, ``str``, ``name``, ``quoted``, ``param``, ``op``, ``kw`` or ``end``."""

    kind: str
    text: str
    value: object
    pos: int


def tokenize(source: str) -> list[Token]:
    """The tokens of ``source``, ending with an ``end`` token.

    Raises:
        ExpressionSyntaxError: for a character or construct that is not in the language.
    """
    tokens: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch.isspace():
            i += 1
        elif ch.isdigit() or (ch == "." and i + 1 < n and source[i + 1].isdigit()):
            i = _number(source, i, tokens)
        elif ch in "'\"":
            i = _string(source, i, tokens)
        elif ch == "`":
            end = source.find("`", i + 1)
            if end < 0:
                raise ExpressionSyntaxError("a backtick-quoted column name is not closed", i)
            name = source[i + 1 : end]
            if not name:
                raise ExpressionSyntaxError("empty column name in backticks", i)
            if "{{" in name:
                raise ExpressionSyntaxError(
                    "a template cannot name a column (a template's value is always a value, never a name)", i
                )
            tokens.append(Token("quoted", source[i : end + 1], name, i))
            i = end + 1
        elif source.startswith("{{", i):
            end = source.find("}}", i + 2)
            if end < 0:
                raise ExpressionSyntaxError("a '{{' template is not closed with '}}'", i)
            tokens.append(Token("param", source[i : end + 2], source[i + 2 : end].strip(), i))
            i = end + 2
        elif ch.isalpha() or ch == "_":
            j = i + 1
            while j < n and (source[j].isalnum() or source[j] == "_"):
                j += 1
            word = source[i:j]
            if j < n and source[j] in "'\"" and word.lower() in ("f", "r", "b", "u", "rb", "br", "fr", "rf"):
                raise ExpressionSyntaxError(f"{word}-prefixed strings (f-strings, raw or byte strings) are not "
                                            "allowed; write a plain '...' string", i)
            if word in REFUSED_KEYWORDS:
                raise ExpressionSyntaxError(REFUSED_KEYWORDS[word], i)
            tokens.append(Token("kw" if word in KEYWORDS else "name", word, word, i))
            i = j
        else:
            i = _operator(source, i, tokens)
    tokens.append(Token("end", "", None, n))
    return tokens


def _operator(source: str, i: int, tokens: list[Token]) -> int:
    if source.startswith(":=", i):
        raise ExpressionSyntaxError("assignment (:=) is not allowed in an expression", i)
    for op in OPERATORS:
        if source.startswith(op, i):
            tokens.append(Token("op", op, op, i))
            return i + len(op)
    ch = source[i]
    reasons = {
        "@": "'@variable' references are not allowed; use column names and constants",
        "#": "comments (#) are not allowed in an expression",
        ";": "';' is not allowed in an expression",
        ":": "':' is not allowed (no slices, lambdas or dicts in an expression)",
        "{": "'{' is not allowed (no sets or dicts; a template is written '{{context.NAME}}')",
        "}": "'}' is not allowed in an expression",
        "\\": "a backslash is only allowed inside a string",
        "!": "'!' is not allowed: write 'not' or '!='",
    }
    raise ExpressionSyntaxError(reasons.get(ch, f"the character {ch!r} is not allowed in an expression"), i)


def _number(source: str, i: int, tokens: list[Token]) -> int:
    j, n = i, len(source)
    while j < n and (source[j].isdigit() or source[j] == "_"):
        j += 1
    is_float = False
    if j < n and source[j] == "." and not (j + 1 < n and source[j + 1].isalpha() and source[j + 1] not in "eE"):
        is_float = True
        j += 1
        while j < n and (source[j].isdigit() or source[j] == "_"):
            j += 1
    if j < n and source[j] in "eE":
        k = j + 1
        if k < n and source[k] in "+-":
            k += 1
        if k < n and source[k].isdigit():
            is_float = True
            j = k
            while j < n and source[j].isdigit():
                j += 1
    text = source[i:j]
    if j < n and (source[j].isalpha() or source[j] == "_"):
        raise ExpressionSyntaxError(f"'{text}{source[j]}' is not a number (hex, octal and suffixes are not "
                                    "allowed)", i)
    if len(text) > 400:
        raise ExpressionSyntaxError("a number literal longer than 400 digits is not allowed", i)
    try:
        value: object = float(text) if is_float else int(text, 10)
    except ValueError:
        raise ExpressionSyntaxError(f"'{text}' is not a number", i) from None
    tokens.append(Token("num", text, value, i))
    return j


def _string(source: str, i: int, tokens: list[Token]) -> int:
    quote, j, n = source[i], i + 1, len(source)
    parts: list[str] = []
    while j < n and source[j] != quote:
        ch = source[j]
        if ch == "\n":
            break
        if ch != "\\":
            parts.append(ch)
            j += 1
            continue
        j += 1
        if j >= n:
            break
        esc = source[j]
        if esc in _ESCAPES:
            parts.append(_ESCAPES[esc])
            j += 1
        elif esc in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[esc]
            digits = source[j + 1 : j + 1 + width]
            if len(digits) != width or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise ExpressionSyntaxError(f"bad escape '\\{esc}{digits}' in a string", j - 1)
            code = int(digits, 16)
            if code > 0x10FFFF:
                raise ExpressionSyntaxError(f"bad escape '\\{esc}{digits}' in a string", j - 1)
            parts.append(chr(code))
            j += 1 + width
        else:
            raise ExpressionSyntaxError(f"unknown escape '\\{esc}' in a string (known: \\n \\t \\r \\\\ \\' "
                                        "\\\" \\xHH \\uHHHH)", j - 1)
    if j >= n or source[j] != quote:
        raise ExpressionSyntaxError("a string is not closed", i)
    text = source[i : j + 1]
    if "{{" in text:
        raise ExpressionSyntaxError(
            "a template inside quotes is not substituted; write it on its own, outside the quotes "
            "(name == {{context.x}}): its value enters as a literal of its own type", i
        )
    tokens.append(Token("str", text, "".join(parts), i))
    return j + 1
