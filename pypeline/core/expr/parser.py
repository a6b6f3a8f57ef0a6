"""The parser: tokens -> tree, by recursive descent with a nesting guard.

Precedence, loosest first (Python's, except that ``& | ^`` sit with
``and`` / ``or`` as in pandas' query language, so ``a > 1 & b < 2`` needs no
parentheses)::

    x if c else y          conditions only
    or  |
    ^
    and  &
    not
    comparisons: == != < <= > >= in, not in, is, is not (chains)
    + -
    * / // %
    unary - + ~
    **                     right-associative; -2**2 is -(2**2)
    calls, .method(), .accessor.property
    literals, names, `quoted names`, {{templates}}, ( ), [ ]

Every construct outside this grammar is an error naming it. Recursion is
bounded: the parser counts how deep parentheses, lists, calls and unary
operators nest (``Dialect.max_depth`` at most), so a 1,900-deep chain of
``-`` is a clean error, never a ``RecursionError``; long flat chains
(``a + b + ... ``) do not recurse here, and :mod:`pypeline.core.expr.limits`
bounds the depth of the tree they make.
"""

from __future__ import annotations

from collections.abc import Callable

from pypeline.core.expr.calls import bind_arguments
from pypeline.core.expr.dialect import Dialect, Signature
from pypeline.core.expr.errors import ExpressionSyntaxError
from pypeline.core.expr.tokens import Token, tokenize
from pypeline.core.expr.tree import (
    Binary,
    BoolOp,
    Call,
    Compare,
    IfElse,
    In,
    ListExpr,
    Literal,
    Name,
    Node,
    Param,
    Unary,
)

_COMPARE_OPS = ("==", "!=", "<", "<=", ">", ">=")
_MAX_NESTING = 40
"""Parentheses, brackets, calls and unary operators nested in each other (parser recursion)."""


def parse(source: str, dialect: Dialect) -> Node:
    """The tree of ``source`` under ``dialect``.

    Raises:
        ExpressionSyntaxError: for empty or too long text, or anything outside the grammar.
    """
    if not isinstance(source, str) or not source.strip():
        raise ExpressionSyntaxError(f"the {dialect.what} is empty")
    if len(source) > dialect.max_length:
        raise ExpressionSyntaxError(f"the {dialect.what} is longer than {dialect.max_length} characters")
    parser = _Parser(tokenize(source), dialect)
    node = parser.ternary()
    token = parser.peek()
    if token.kind != "end":
        raise parser.unexpected(token)
    return node


class _Parser:
    def __init__(self, tokens: list[Token], dialect: Dialect) -> None:
        self.tokens = tokens
        self.index = 0
        self.dialect = dialect
        self.nesting = 0
        self.accessors = dialect.accessors()

    # -- helpers -------------------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def at(self, kind: str, *texts: str) -> bool:
        token = self.peek()
        return token.kind == kind and (not texts or token.text in texts)

    def expect(self, text: str) -> Token:
        token = self.peek()
        if token.kind != "op" or token.text != text:
            raise self.unexpected(token, f"'{text}'")
        return self.next()

    def unexpected(self, token: Token, wanted: str = "") -> ExpressionSyntaxError:
        want = f", expected {wanted}" if wanted else ""
        if token.kind == "end":
            return ExpressionSyntaxError(f"the {self.dialect.what} ends too early{want}", token.pos)
        if token.kind == "op" and token.text == "[" and wanted != "a value":
            return ExpressionSyntaxError("subscripts (x[...]) are not allowed in an expression", token.pos)
        if token.kind == "op" and token.text == "=":
            return ExpressionSyntaxError("'=' is not allowed: compare with '=='", token.pos)
        return ExpressionSyntaxError(f"unexpected '{token.text}'{want}", token.pos)

    def enter(self, pos: int) -> None:
        self.nesting += 1
        if self.nesting > min(_MAX_NESTING, self.dialect.max_depth):
            raise ExpressionSyntaxError(
                f"the {self.dialect.what} nests deeper than {min(_MAX_NESTING, self.dialect.max_depth)} levels "
                "of parentheses, calls or signs", pos
            )

    def leave(self) -> None:
        self.nesting -= 1

    # -- grammar -------------------------------------------------------------------------------

    def ternary(self) -> Node:
        body = self.or_()
        if self.at("kw", "if"):
            token = self.next()
            if not self.dialect.conditional:
                raise ExpressionSyntaxError(f"'x if c else y' is not allowed in an {self.dialect.what}", token.pos)
            test = self.or_()
            if not self.at("kw", "else"):
                raise self.unexpected(self.peek(), "'else'")
            self.next()
            orelse = self.ternary_nested(token.pos)
            return IfElse(test=test, body=body, orelse=orelse, pos=token.pos)
        return body

    def ternary_nested(self, pos: int) -> Node:
        self.enter(pos)
        try:
            return self.ternary()
        finally:
            self.leave()

    def or_(self) -> Node:
        return self._logical(("or", "|"), self.xor)

    def xor(self) -> Node:
        return self._logical(("^",), self.and_)

    def and_(self) -> Node:
        return self._logical(("and", "&"), self.not_)

    def _logical(self, ops: tuple[str, ...], operand: Callable[[], Node]) -> Node:
        first = operand()
        values = [first]
        while self.peek().text in ops and self.peek().kind in ("kw", "op"):
            self._check_logical(self.next())
            values.append(operand())
        if len(values) == 1:
            return first
        if ops == ("^",):
            node = values[0]
            for value in values[1:]:
                node = Binary(op="^", left=node, right=value, pos=value.pos)
            return node
        return BoolOp(op="or" if "or" in ops else "and", values=tuple(values), pos=first.pos)

    def _check_logical(self, token: Token) -> None:
        if token.kind == "op" and not self.dialect.logical_operators:
            raise ExpressionSyntaxError(
                f"'{token.text}' is not allowed in a {self.dialect.what}; use and / or / not", token.pos
            )

    def not_(self) -> Node:
        if self.at("kw", "not"):
            token = self.next()
            self.enter(token.pos)
            try:
                return Unary(op="not", operand=self.not_(), pos=token.pos)
            finally:
                self.leave()
        return self.comparison()

    def comparison(self) -> Node:
        first = self.arith()
        ops: list[str] = []
        operands = [first]
        while True:
            token = self.peek()
            if token.kind == "op" and token.text in _COMPARE_OPS:
                self.next()
                ops.append(token.text)
            elif token.kind == "kw" and token.text == "is":
                if not self.dialect.identity:
                    raise ExpressionSyntaxError(
                        "'is' is not allowed in an expression; use .isna() / .notna() for missing values", token.pos
                    )
                self.next()
                negated = self.at("kw", "not")
                if negated:
                    self.next()
                ops.append("is not" if negated else "is")
            elif token.kind == "kw" and (token.text == "in" or (token.text == "not" and self.peek(1).text == "in")):
                if ops:
                    raise ExpressionSyntaxError("'in' cannot be chained with other comparisons; add parentheses",
                                                token.pos)
                negated = token.text == "not"
                self.next()
                if negated:
                    self.next()
                container = self.arith()
                node: Node = In(item=first, container=container, negated=negated, pos=token.pos)
                if (self.peek().kind == "op" and self.peek().text in _COMPARE_OPS) or self.at("kw", "in", "is"):
                    raise ExpressionSyntaxError("'in' cannot be chained with other comparisons; add parentheses",
                                                self.peek().pos)
                return node
            else:
                break
            operands.append(self.arith())
        if not ops:
            return first
        return Compare(ops=tuple(ops), operands=tuple(operands), pos=first.pos)

    def arith(self) -> Node:
        node = self.term()
        while self.at("op", "+", "-"):
            token = self.next()
            node = Binary(op=token.text, left=node, right=self.term(), pos=token.pos)
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.at("op", "*", "/", "//", "%"):
            token = self.next()
            node = Binary(op=token.text, left=node, right=self.unary(), pos=token.pos)
        return node

    def unary(self) -> Node:
        if self.at("op", "-", "+", "~"):
            token = self.next()
            if token.text == "~" and not self.dialect.logical_operators:
                raise ExpressionSyntaxError(f"'~' is not allowed in a {self.dialect.what}; use not", token.pos)
            self.enter(token.pos)
            try:
                return Unary(op=token.text, operand=self.unary(), pos=token.pos)
            finally:
                self.leave()
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        if self.at("op", "**"):
            token = self.next()
            if not self.dialect.power:
                raise ExpressionSyntaxError(f"'**' is not allowed in a {self.dialect.what}", token.pos)
            self.enter(token.pos)
            try:
                exponent = self.unary()
            finally:
                self.leave()
            return Binary(op="**", left=base, right=exponent, pos=token.pos)
        return base

    def postfix(self) -> Node:
        node = self.atom()
        while True:
            token = self.peek()
            if token.kind != "op" or token.text not in (".", "(", "["):
                return node
            if token.text == "[":
                raise ExpressionSyntaxError("subscripts (x[...]) are not allowed in an expression", token.pos)
            if token.text == "(":
                raise ExpressionSyntaxError(f"only the listed functions may be called ({self._allowed()})", token.pos)
            node = self.attribute(node)

    def _joins(self, name: str, field: Token) -> bool:
        """Whether ``name.field`` is one name: a namespace's field, or a part of a dotted module id
        (``east.load``: no ``__`` yet, and the field starts with a letter as every module id does)."""
        if name in self.dialect.namespaces:
            return True
        return (
            self.dialect.dotted_names and name.split(".")[0] not in self.dialect.namespaces and "__" not in name
            and field.kind == "name" and field.text[:1].isalpha()
        )

    def attribute(self, subject: Node) -> Node:
        dot = self.next()
        if isinstance(subject, Name) and not subject.quoted and self._joins(subject.name, self.peek()):
            field = self.next()
            if field.kind not in ("name", "kw"):
                raise self.unexpected(field, "a name after '.'")
            return Name(name=f"{subject.name}.{field.text}", pos=subject.pos)
        if not self.dialect.methods:
            raise ExpressionSyntaxError(self.dialect.attribute_hint, dot.pos)
        path = ""
        while True:
            token = self.next()
            if token.kind not in ("name", "kw"):
                raise self.unexpected(token, "a method name after '.'")
            path = f"{path}.{token.text}" if path else token.text
            if path in self.accessors and self.at("op", "."):
                self.next()
                continue
            if path in self.dialect.methods:
                return self.method(subject, path, dot.pos)
            if path in self.accessors:
                raise ExpressionSyntaxError(f"'.{path}' is an accessor: a method follows it ('.{path}.NAME')",
                                            token.pos)
            raise ExpressionSyntaxError(
                f"'.{path}' is not allowed; allowed are the .str and .dt accessors and the methods listed in "
                "docs/modules.md, 'Expressions'", token.pos
            )

    def method(self, subject: Node, path: str, pos: int) -> Node:
        signature = self.dialect.methods[path]
        if signature.attribute:
            if self.at("op", "("):
                raise ExpressionSyntaxError(f"'.{path}' is a property: write it without parentheses", pos)
            return Call(func=signature.func, args=(subject,), pos=pos)
        if not self.at("op", "("):
            raise ExpressionSyntaxError(f"'.{path}' is a method: call it, '.{path}()'", pos)
        args = self.arguments(signature, f".{path}()")
        return Call(func=signature.func, args=(subject, *args), pos=pos)

    def arguments(self, signature: Signature, shown: str) -> list[Node]:
        open_ = self.expect("(")
        self.enter(open_.pos)
        try:
            positional: list[Node] = []
            keywords: dict[str, Node] = {}
            while not self.at("op", ")"):
                token = self.peek()
                if token.kind == "op" and token.text in ("*", "**"):
                    raise ExpressionSyntaxError("'*' / '**' arguments are not allowed", token.pos)
                if token.kind == "name" and self.peek(1).kind == "op" and self.peek(1).text == "=":
                    self.next()
                    self.next()
                    if signature.variadic or token.text not in signature.params:
                        known = ", ".join(signature.params) or "none"
                        raise ExpressionSyntaxError(
                            f"{shown} has no keyword argument '{token.text}' (keywords: {known})", token.pos
                        )
                    if token.text in keywords:
                        raise ExpressionSyntaxError(f"{shown}: '{token.text}' is given twice", token.pos)
                    keywords[token.text] = self.ternary()
                else:
                    if keywords:
                        raise ExpressionSyntaxError(f"{shown}: a positional argument after a keyword", token.pos)
                    positional.append(self.ternary())
                if not self.at("op", ","):
                    break
                self.next()
            self.expect(")")
        finally:
            self.leave()
        return bind_arguments(signature, shown, positional, keywords, open_.pos)

    def atom(self) -> Node:
        token = self.next()
        if token.kind == "num":
            return Literal(value=token.value, pos=token.pos)  # type: ignore[arg-type]
        if token.kind == "str":
            return Literal(value=token.value, pos=token.pos)  # type: ignore[arg-type]
        if token.kind == "kw" and token.text in ("True", "False", "None"):
            return Literal(value={"True": True, "False": False, "None": None}[token.text], pos=token.pos)
        if token.kind == "quoted":
            if not self.dialect.backticks:
                raise ExpressionSyntaxError(f"backtick-quoted names are not allowed in a {self.dialect.what}",
                                            token.pos)
            return Name(name=str(token.value), quoted=True, pos=token.pos)
        if token.kind == "param":
            if not self.dialect.templates:
                raise ExpressionSyntaxError(
                    f"templates ({{{{...}}}}) are not used in a {self.dialect.what}: write the name without "
                    "braces (context.env, module__var)", token.pos
                )
            return Param(ref=str(token.value), pos=token.pos)
        if token.kind == "name":
            if self.at("op", "("):
                return self.call(token)
            if not self.dialect.private_names and token.text.startswith("_"):
                raise ExpressionSyntaxError(
                    f"the name '{token.text}' is not allowed (names may not start with '_'; quote a column named "
                    "so in backticks)", token.pos
                )
            return Name(name=token.text, pos=token.pos)
        if token.kind == "op" and token.text == "(":
            return self.parenthesized(token)
        if token.kind == "op" and token.text == "[":
            return self.list_(token)
        raise self.unexpected(token, "a value")

    def call(self, token: Token) -> Node:
        signature = self.dialect.functions.get(token.text)
        if signature is None:
            raise ExpressionSyntaxError(
                f"the function '{token.text}' is not allowed; allowed: {self._allowed()}", token.pos
            )
        args = self.arguments(signature, f"{token.text}()")
        return Call(func=signature.func, args=tuple(args), pos=token.pos)

    def _allowed(self) -> str:
        return ", ".join(sorted(self.dialect.functions)) or "none"

    def parenthesized(self, open_: Token) -> Node:
        self.enter(open_.pos)
        try:
            if self.at("op", ")"):
                raise ExpressionSyntaxError("empty parentheses '()' are not a value", open_.pos)
            first = self.ternary()
            if self.at("op", ","):
                if not self.dialect.tuples:
                    raise ExpressionSyntaxError("tuples are not allowed; write a list [a, b]", self.peek().pos)
                items = [first]
                while self.at("op", ","):
                    self.next()
                    if self.at("op", ")"):
                        break
                    items.append(self.ternary())
                self.expect(")")
                return ListExpr(items=tuple(items), pos=open_.pos)
            self.expect(")")
            return first
        finally:
            self.leave()

    def list_(self, open_: Token) -> Node:
        self.enter(open_.pos)
        try:
            items: list[Node] = []
            while not self.at("op", "]"):
                items.append(self.ternary())
                if not self.at("op", ","):
                    break
                self.next()
            self.expect("]")
            return ListExpr(items=tuple(items), pos=open_.pos)
        finally:
            self.leave()
